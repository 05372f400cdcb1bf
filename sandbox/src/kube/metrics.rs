//! `GET /metrics`: the API server's request counter, `apiserver_request_total`, in the
//! Prometheus text format a real kube-apiserver serves (`kubectl get --raw /metrics`).
//! Benchmarks read it before and after a command to report what the command cost on the
//! wire; the labels follow the real server's (an apply patch counts as verb `APPLY`, a
//! collection GET as `LIST`, a watch as `WATCH`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// The labels of one counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestLabels {
    pub verb: &'static str,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    /// `cluster`, `namespace` or `resource` (one named object).
    pub scope: &'static str,
    pub code: u16,
}

/// Request counts since the server started.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestLabels, u64>>,
}

impl Metrics {
    pub fn count(&self, labels: RequestLabels) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(labels).or_insert(0) += 1;
    }

    /// The exposition text, sorted by labels so two scrapes diff cleanly.
    pub fn render(&self) -> String {
        let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::from(
            "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n\
             # TYPE apiserver_request_total counter\n",
        );
        for (l, n) in m.iter() {
            let _ = writeln!(
                out,
                "apiserver_request_total{{code=\"{}\",component=\"apiserver\",dry_run=\"\",group=\"{}\",resource=\"{}\",scope=\"{}\",subresource=\"{}\",verb=\"{}\",version=\"{}\"}} {n}",
                l.code, l.group, l.resource, l.scope, l.subresource, l.verb, l.version
            );
        }
        out
    }
}

/// The metric verb of a request: what the real server's `CleanVerb` reports.
pub fn verb(method: &str, named: bool, watch: bool, apply: bool) -> &'static str {
    match method {
        "GET" if watch => "WATCH",
        "GET" if named => "GET",
        "GET" => "LIST",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" if apply => "APPLY",
        "PATCH" => "PATCH",
        "DELETE" if named => "DELETE",
        "DELETE" => "DELETECOLLECTION",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(verb: &'static str, code: u16) -> RequestLabels {
        RequestLabels {
            verb,
            group: String::new(),
            version: "v1".into(),
            resource: "persistentvolumes".into(),
            subresource: String::new(),
            scope: "resource",
            code,
        }
    }

    #[test]
    fn counts_per_label_set_and_renders_prometheus_text() {
        let m = Metrics::default();
        m.count(labels("APPLY", 201));
        m.count(labels("APPLY", 201));
        m.count(labels("GET", 404));
        let text = m.render();
        assert!(text.starts_with("# HELP apiserver_request_total"));
        assert!(text.contains(
            "apiserver_request_total{code=\"201\",component=\"apiserver\",dry_run=\"\",group=\"\",resource=\"persistentvolumes\",scope=\"resource\",subresource=\"\",verb=\"APPLY\",version=\"v1\"} 2\n"
        ));
        assert!(text.contains("verb=\"GET\",version=\"v1\"} 1\n"));
    }

    #[test]
    fn verbs_follow_the_api_server() {
        assert_eq!(verb("GET", false, false, false), "LIST");
        assert_eq!(verb("GET", false, true, false), "WATCH");
        assert_eq!(verb("GET", true, false, false), "GET");
        assert_eq!(verb("PATCH", true, false, true), "APPLY");
        assert_eq!(verb("PATCH", true, false, false), "PATCH");
        assert_eq!(verb("DELETE", false, false, false), "DELETECOLLECTION");
    }
}
