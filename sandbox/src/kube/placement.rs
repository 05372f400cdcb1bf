//! Whether a pod may run on a node, as the scheduler's filters and the daemon set controller
//! decide it: the node's taints against the pod's tolerations, the node selector and the
//! required node affinity.

use serde_json::{Value, json};

use super::meta;

/// The taint the node lifecycle controller puts on a node that is not Ready.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint a cordoned node (`spec.unschedulable`) is treated as having.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// core/v1 `Toleration.ToleratesTaint`: an empty effect matches every effect, an empty key
/// (with `Exists`) every key; `Equal` (or no operator) compares the values.
pub fn tolerates(toleration: &Value, taint: &Value) -> bool {
    let field = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let effect = field(toleration, "effect");
    if !effect.is_empty() && effect != field(taint, "effect") {
        return false;
    }
    let key = field(toleration, "key");
    if !key.is_empty() && key != field(taint, "key") {
        return false;
    }
    match field(toleration, "operator").as_str() {
        "" | "Equal" => field(toleration, "value") == field(taint, "value"),
        "Exists" => true,
        _ => false,
    }
}

/// The tolerations of a pod spec.
pub fn tolerations(pod_spec: &Value) -> Vec<Value> {
    pod_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The node's taints that keep pods off it (`NoSchedule` and `NoExecute`; the scheduler
/// only prefers to avoid `PreferNoSchedule`), with the not-ready taint of a node that is not
/// Ready.
fn blocking_taints(node: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = meta::at(node, "/spec/taints")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| {
            matches!(
                t.get("effect").and_then(Value::as_str),
                Some("NoSchedule" | "NoExecute")
            )
        })
        .cloned()
        .collect();
    if !meta::condition_true(node, "Ready")
        && !out
            .iter()
            .any(|t| t.get("key").and_then(Value::as_str) == Some(NOT_READY))
    {
        out.push(json!({"key": NOT_READY, "effect": "NoSchedule"}));
    }
    out
}

/// The first taint of `node` that none of `tolerations` tolerates.
pub fn untolerated_taint(node: &Value, tolerations: &[Value]) -> Option<Value> {
    blocking_taints(node)
        .into_iter()
        .find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
}

/// A taint as the scheduler names it in its messages: `{key: value}`.
pub fn taint_text(taint: &Value) -> String {
    let field = |k: &str| taint.get(k).and_then(Value::as_str).unwrap_or("");
    format!("{{{}: {}}}", field("key"), field("value"))
}

/// Whether a cordoned node keeps this pod off (unless it tolerates the unschedulable taint).
pub fn cordoned_for(node: &Value, tolerations: &[Value]) -> bool {
    let cordoned = meta::at(node, "/spec/unschedulable") == Some(&json!(true));
    let taint = json!({"key": UNSCHEDULABLE, "effect": "NoSchedule"});
    cordoned && !tolerations.iter().any(|t| tolerates(t, &taint))
}

/// `spec.nodeSelector` and `requiredDuringSchedulingIgnoredDuringExecution` node affinity.
pub fn selects_node(pod_spec: &Value, node: &Value) -> bool {
    let selector_ok = pod_spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_none_or(|sel| sel.iter().all(|(k, v)| meta::label(node, k) == v.as_str()));
    let terms = pod_spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array);
    // Terms are ORed; an empty list matches nothing, as the API defines it.
    let affinity_ok = terms.is_none_or(|terms| terms.iter().any(|t| term_matches(t, node)));
    selector_ok && affinity_ok
}

fn term_matches(term: &Value, node: &Value) -> bool {
    let exprs = |k: &str| {
        term.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (labels, fields) = (exprs("matchExpressions"), exprs("matchFields"));
    if labels.is_empty() && fields.is_empty() {
        return false;
    }
    labels
        .iter()
        .all(|e| requirement_matches(e, |k| meta::label(node, k)))
        && fields
            .iter()
            .all(|e| requirement_matches(e, |k| (k == "metadata.name").then(|| meta::name(node))))
}

fn requirement_matches<'a>(e: &Value, get: impl Fn(&str) -> Option<&'a str>) -> bool {
    let key = e.get("key").and_then(Value::as_str).unwrap_or("");
    let values: Vec<&str> = e
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let have = get(key);
    let number = |s: &str| s.parse::<i64>().ok();
    match e.get("operator").and_then(Value::as_str).unwrap_or("") {
        "In" => have.is_some_and(|h| values.contains(&h)),
        "NotIn" => have.is_none_or(|h| !values.contains(&h)),
        "Exists" => have.is_some(),
        "DoesNotExist" => have.is_none(),
        "Gt" | "Lt" => {
            let (Some(h), Some(v)) = (
                have.and_then(number),
                values.first().and_then(|v| number(v)),
            ) else {
                return false;
            };
            if e.get("operator").and_then(Value::as_str) == Some("Gt") {
                h > v
            } else {
                h < v
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Value {
        json!({"key": key, "value": value, "effect": effect})
    }

    #[test]
    fn tolerations_match_like_the_api_defines() {
        let t = taint(
            "azurelustre.csi.azure.com/agent-not-ready",
            "",
            "NoSchedule",
        );
        // Exists with the key, any effect.
        assert!(tolerates(
            &json!({"key": "azurelustre.csi.azure.com/agent-not-ready", "operator": "Exists"}),
            &t
        ));
        // Empty key with Exists tolerates everything.
        assert!(tolerates(&json!({"operator": "Exists"}), &t));
        // The effect must match when given.
        assert!(!tolerates(
            &json!({"key": "azurelustre.csi.azure.com/agent-not-ready", "operator": "Exists", "effect": "NoExecute"}),
            &t
        ));
        // Equal (or no operator) compares values.
        let gpu = taint("sku", "gpu", "NoSchedule");
        assert!(tolerates(&json!({"key": "sku", "value": "gpu"}), &gpu));
        assert!(tolerates(
            &json!({"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}),
            &gpu
        ));
        assert!(!tolerates(
            &json!({"key": "sku", "operator": "Equal", "value": "cpu"}),
            &gpu
        ));
        assert!(!tolerates(
            &json!({"key": "other", "operator": "Exists"}),
            &gpu
        ));
        assert!(!tolerates(
            &json!({"key": "sku", "operator": "Bogus"}),
            &gpu
        ));
    }

    #[test]
    fn prefer_no_schedule_does_not_block_and_not_ready_nodes_do() {
        let node = json!({"metadata": {"name": "n"},
            "spec": {"taints": [taint("soft", "", "PreferNoSchedule")]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(untolerated_taint(&node, &[]), None);
        let down = json!({"metadata": {"name": "n"},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        let t = untolerated_taint(&down, &[]).expect("not-ready taint");
        assert_eq!(taint_text(&t), "{node.kubernetes.io/not-ready: }");
    }

    #[test]
    fn node_affinity_terms_are_ored_and_expressions_anded() {
        let node = json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux", "cores": "4"}}});
        let spec = |terms: Value| json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}});
        let not_virtual = spec(
            json!([{"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}]}]),
        );
        assert!(selects_node(&not_virtual, &node));
        let windows = spec(
            json!([{"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]}]),
        );
        assert!(!selects_node(&windows, &node));
        let either = spec(json!([
            {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
        ]));
        assert!(selects_node(&either, &node));
        let more_cores = spec(
            json!([{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]}]),
        );
        assert!(!selects_node(&more_cores, &node));
        assert!(selects_node(
            &json!({"nodeSelector": {"kubernetes.io/os": "linux"}}),
            &node
        ));
        assert!(!selects_node(
            &json!({"nodeSelector": {"kubernetes.io/os": "windows"}}),
            &node
        ));
    }
}
