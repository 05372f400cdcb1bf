//! The objects the driver's install script applies (kubernetes-sigs/azurelustre-csi-driver,
//! `deploy/`): the `CSIDriver`, the node DaemonSet and the controller Deployment, with the
//! upstream names, images, probes, tolerations and host paths. Service accounts and RBAC
//! are left out: the sandbox serves neither.

use serde_json::{Value, json};

use super::{
    CLIENT_SHA_SUFFIX, CONTROLLER_DEPLOYMENT, DRIVER, LUSTRE_VERSION, NAMESPACE, NODE_DAEMONSET,
    PLUGIN_CONTAINER, REGISTRATION_PATH,
};

const DRIVER_IMAGE: &str = "mcr.microsoft.com/oss/v2/kubernetes-csi/azurelustre-csi:v0.3.0";

pub fn csi_driver() -> Value {
    json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSIDriver",
        "metadata": {"name": DRIVER, "labels": {
            "app.kubernetes.io/name": "azurelustre-csi-driver",
            "app.kubernetes.io/part-of": "azurelustre-csi-driver",
        }},
        "spec": {"fsGroupPolicy": "File", "attachRequired": false, "podInfoOnMount": true},
    })
}

fn resources(cpu: &str, memory: &str) -> Value {
    json!({"limits": {"cpu": cpu, "memory": memory}, "requests": {"cpu": "10m", "memory": "20Mi"}})
}

fn host_path(name: &str, path: &str, kind: &str) -> Value {
    json!({"name": name, "hostPath": {"path": path, "type": kind}})
}

pub fn node_daemonset() -> Value {
    let readiness = json!({"exec": {"command": ["/app/readinessProbe.sh"]}});
    let mut startup = readiness.clone();
    for (k, v) in [
        ("initialDelaySeconds", 10),
        ("periodSeconds", 5),
        ("timeoutSeconds", 5),
        ("failureThreshold", 120),
    ] {
        startup[k] = json!(v);
    }
    let mut ready = readiness;
    for (k, v) in [
        ("initialDelaySeconds", 10),
        ("periodSeconds", 30),
        ("timeoutSeconds", 10),
        ("failureThreshold", 5),
    ] {
        ready[k] = json!(v);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": NODE_DAEMONSET, "namespace": NAMESPACE},
        "spec": {
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": {"app": NODE_DAEMONSET}},
            "template": {
                "metadata": {"labels": {"app": NODE_DAEMONSET}},
                "spec": {
                    "hostNetwork": true,
                    "dnsPolicy": "Default",
                    "serviceAccountName": "csi-azurelustre-node-sa",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [
                            {"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}
                        ]}]
                    }}},
                    "priorityClassName": "system-node-critical",
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "liveness-probe",
                            "image": "mcr.microsoft.com/oss/kubernetes-csi/livenessprobe:v2.14.0",
                            "args": ["--csi-address=/csi/csi.sock", "--probe-timeout=120s", "--health-port=29763", "--v=2"],
                            "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"}],
                            "resources": resources("100m", "100Mi"),
                        },
                        {
                            "name": "node-driver-registrar",
                            "image": "mcr.microsoft.com/oss/kubernetes-csi/csi-node-driver-registrar:v2.12.0",
                            "args": ["--csi-address=$(ADDRESS)", "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)", "--v=2"],
                            "livenessProbe": {
                                "exec": {"command": ["/csi-node-driver-registrar", "--kubelet-registration-path=$(DRIVER_REG_SOCK_PATH)", "--mode=kubelet-registration-probe"]},
                                "initialDelaySeconds": 30,
                                "timeoutSeconds": 15,
                            },
                            "env": [
                                {"name": "ADDRESS", "value": "/csi/csi.sock"},
                                {"name": "DRIVER_REG_SOCK_PATH", "value": REGISTRATION_PATH},
                            ],
                            "volumeMounts": [
                                {"name": "socket-dir", "mountPath": "/csi"},
                                {"name": "registration-dir", "mountPath": "/registration"},
                            ],
                            "resources": resources("100m", "100Mi"),
                        },
                        {
                            "name": PLUGIN_CONTAINER,
                            "image": DRIVER_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["-v=5", "--endpoint=$(CSI_ENDPOINT)", "--nodeid=$(KUBE_NODE_NAME)"],
                            "ports": [{"containerPort": 29763, "name": "healthz", "protocol": "TCP"}],
                            "startupProbe": startup,
                            "readinessProbe": ready,
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": "healthz"},
                                "initialDelaySeconds": 60,
                                "timeoutSeconds": 10,
                                "periodSeconds": 30,
                                "failureThreshold": 5,
                            },
                            "env": [
                                {"name": "CSI_ENDPOINT", "value": "unix:///csi/csi.sock"},
                                {"name": "AZURELUSTRE_CSI_INSTALL_LUSTRE_CLIENT", "value": "yes"},
                                {"name": "LUSTRE_VERSION", "value": LUSTRE_VERSION},
                                {"name": "CLIENT_SHA_SUFFIX", "value": CLIENT_SHA_SUFFIX},
                                {"name": "KUBE_NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                            ],
                            "securityContext": {"privileged": true},
                            "volumeMounts": [
                                {"name": "socket-dir", "mountPath": "/csi"},
                                {"name": "mountpoint-dir", "mountPath": "/var/lib/kubelet/", "mountPropagation": "Bidirectional"},
                                {"name": "azure-cred", "mountPath": "/etc/kubernetes/"},
                                {"name": "host-dev", "mountPath": "/dev"},
                            ],
                            "resources": resources("1", "200Mi"),
                        },
                    ],
                    "volumes": [
                        host_path("socket-dir", "/var/lib/kubelet/plugins/azurelustre.csi.azure.com", "DirectoryOrCreate"),
                        host_path("registration-dir", "/var/lib/kubelet/plugins_registry/", "Directory"),
                        host_path("mountpoint-dir", "/var/lib/kubelet/", "Directory"),
                        host_path("azure-cred", "/etc/kubernetes/", "DirectoryOrCreate"),
                        host_path("host-dev", "/dev", "Directory"),
                    ],
                },
            },
        },
    })
}

pub fn controller_deployment() -> Value {
    let control_plane =
        |key: &str| json!({"key": key, "operator": "Exists", "effect": "NoSchedule"});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": CONTROLLER_DEPLOYMENT, "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": CONTROLLER_DEPLOYMENT}},
            "template": {
                "metadata": {"labels": {"app": CONTROLLER_DEPLOYMENT}},
                "spec": {
                    "hostNetwork": true,
                    "serviceAccountName": "csi-azurelustre-controller-sa",
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "priorityClassName": "system-cluster-critical",
                    "tolerations": [
                        control_plane("node-role.kubernetes.io/master"),
                        control_plane("node-role.kubernetes.io/controlplane"),
                        control_plane("node-role.kubernetes.io/control-plane"),
                    ],
                    "containers": [
                        {
                            "name": "csi-provisioner",
                            "image": "mcr.microsoft.com/oss/kubernetes-csi/csi-provisioner:v5.1.0",
                            "args": ["-v=2", "--csi-address=$(ADDRESS)", "--leader-election", "--timeout=15m", "--extra-create-metadata=true"],
                            "env": [{"name": "ADDRESS", "value": "/csi/csi.sock"}],
                            "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"}],
                            "resources": resources("100m", "300Mi"),
                        },
                        {
                            "name": "liveness-probe",
                            "image": "mcr.microsoft.com/oss/kubernetes-csi/livenessprobe:v2.14.0",
                            "args": ["--csi-address=/csi/csi.sock", "--probe-timeout=120s", "--health-port=29762"],
                            "volumeMounts": [{"name": "socket-dir", "mountPath": "/csi"}],
                            "resources": resources("100m", "100Mi"),
                        },
                        {
                            "name": PLUGIN_CONTAINER,
                            "image": DRIVER_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["-v=5", "--endpoint=$(CSI_ENDPOINT)"],
                            "ports": [{"containerPort": 29762, "name": "healthz", "protocol": "TCP"}],
                            "env": [
                                {"name": "CSI_ENDPOINT", "value": "unix:///csi/csi.sock"},
                                {"name": "AZURELUSTRE_CSI_INSTALL_LUSTRE_CLIENT", "value": "no"},
                            ],
                            "securityContext": {"privileged": true},
                            "volumeMounts": [
                                {"name": "socket-dir", "mountPath": "/csi"},
                                {"name": "azure-cred", "mountPath": "/etc/kubernetes/"},
                            ],
                            "resources": resources("1", "200Mi"),
                        },
                    ],
                    "volumes": [
                        {"name": "socket-dir", "emptyDir": {}},
                        host_path("azure-cred", "/etc/kubernetes/", "DirectoryOrCreate"),
                    ],
                },
            },
        },
    })
}
