//! HTTP routing: authentication, path parsing (`/api/v1/namespaces/{ns}/{resource}/{name}/{sub}`
//! and `/apis/{group}/{version}/...`), query options, content negotiation, and the verbs.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::metrics::{self, Metrics, RequestLabels};
use super::patch::{self, PatchType};
use super::resources::{self, Resource};
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{self, ApiError};
use super::store::{DeleteOpts, Shared};
use super::table::{self, Include};
use super::{ClusterInfo, apply, discovery, meta, watch};

/// What every handler needs.
pub struct Ctx {
    pub store: Shared,
    pub info: ClusterInfo,
    pub token: String,
    pub stop: tokio::sync::watch::Receiver<bool>,
    pub metrics: Metrics,
}

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new().fallback(handle).with_state(ctx)
}

/// The parsed query string.
#[derive(Debug, Default)]
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(uri: &Uri) -> Self {
        Query(
            url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str())
    }

    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1" | "True"))
    }

    fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}; supported values: All"
            ))),
        }
    }
}

/// The object(s) a resource URL names.
#[derive(Debug)]
struct Target {
    res: &'static Resource,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

enum Route {
    Json(Value),
    Text(&'static str),
    Resource(Target),
}

fn parse_path(path: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segs.as_slice() {
        ["openapi", "v3"] => return Ok(Route::Json(super::openapi::root())),
        ["openapi", "v3", rest @ ..] => {
            return super::openapi::group_version(&rest.join("/"))
                .map(Route::Json)
                .ok_or_else(ApiError::no_route);
        }
        ["healthz" | "livez" | "readyz", ..] => return Ok(Route::Text("ok")),
        ["api"] => return Ok(Route::Json(discovery::core_versions())),
        ["apis"] => return Ok(Route::Json(discovery::groups())),
        ["apis", g] => {
            return discovery::group(g)
                .map(Route::Json)
                .ok_or_else(ApiError::no_route);
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::no_route()),
    };
    if rest.is_empty() {
        return discovery::resource_list(group, version)
            .map(Route::Json)
            .ok_or_else(ApiError::no_route);
    }
    let find =
        |plural: &str| resources::find(group, version, plural).ok_or_else(ApiError::no_route);
    let t = |res, ns: Option<&str>, name: Option<&str>, sub: Option<&str>| {
        Ok(Route::Resource(Target {
            res,
            ns: ns.map(String::from),
            name: name.map(String::from),
            sub: sub.map(String::from),
        }))
    };
    match rest {
        ["namespaces", ns, plural, tail @ ..]
            if resources::find(group, version, plural).is_some_and(|r| r.namespaced) =>
        {
            let res = find(plural)?;
            match tail {
                [] => t(res, Some(ns), None, None),
                [name] => t(res, Some(ns), Some(name), None),
                [name, sub] if res.subresources.contains(sub) => {
                    t(res, Some(ns), Some(name), Some(sub))
                }
                _ => Err(ApiError::no_route()),
            }
        }
        [plural] => t(find(plural)?, None, None, None),
        [plural, name] => {
            let res = find(plural)?;
            if res.namespaced {
                return Err(ApiError::no_route());
            }
            t(res, None, Some(name), None)
        }
        [plural, name, sub] => {
            let res = find(plural)?;
            if res.namespaced || !res.subresources.contains(sub) {
                return Err(ApiError::no_route());
            }
            t(res, None, Some(name), Some(sub))
        }
        _ => Err(ApiError::no_route()),
    }
}

fn json_response(code: StatusCode, v: &impl serde::Serialize, content_type: &str) -> Response {
    // `to_vec` writes straight into the buffer; `Value::to_string` goes through
    // `fmt::Write`, which costs a list of a thousand objects noticeably more.
    let body = serde_json::to_vec(v).unwrap_or_default();
    (
        code,
        [(header::CONTENT_TYPE, content_type.to_string())],
        body,
    )
        .into_response()
}

fn ok(v: &impl serde::Serialize) -> Response {
    json_response(StatusCode::OK, v, "application/json")
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Whether the client asked for server-side printing (`as=Table`).
fn wants_table(h: &HeaderMap) -> bool {
    header_str(h, header::ACCEPT)
        .split(',')
        .any(|t| t.contains("as=Table") && t.contains("g=meta.k8s.io"))
}

const TABLE_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// The field manager of a write: the `fieldManager` parameter, else the user agent's
/// first word, as the API server derives it (`kubectl-client-side-apply/v1.33.0 ...`).
fn manager(q: &Query, h: &HeaderMap) -> String {
    if let Some(m) = q.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let ua = header_str(h, header::USER_AGENT);
    let first = ua.split('/').next().unwrap_or("").trim();
    if first.is_empty() {
        "unknown".into()
    } else {
        first.chars().take(128).collect()
    }
}

/// The URL prefix that carries the token for clients that send no credentials over plain
/// HTTP (client-go, hence kubectl, sends a bearer token over TLS only).
pub const TOKEN_PREFIX: &str = "/sandbox-token/";

/// Splits `/sandbox-token/<token>/api/v1/...` into `/api/v1/...` and the token.
fn split_token(path: &str) -> (String, Option<String>) {
    let Some(rest) = path.strip_prefix(TOKEN_PREFIX) else {
        return (path.to_string(), None);
    };
    let (token, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let token = url::form_urlencoded::parse(format!("t={token}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned());
    (format!("/{tail}"), token)
}

async fn handle(
    State(ctx): State<Arc<Ctx>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (path, path_token) = split_token(uri.path());
    let bearer = header_str(&headers, header::AUTHORIZATION).strip_prefix("Bearer ");
    if bearer != Some(ctx.token.as_str()) && path_token.as_deref() != Some(ctx.token.as_str()) {
        return ApiError::unauthorized().into_response();
    }
    let path = path.as_str();
    match path.trim_matches('/') {
        "version" => return ok(&discovery::version(&ctx.info)),
        "metrics" if method == Method::GET => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                ctx.metrics.render(),
            )
                .into_response();
        }
        _ => {}
    }
    let route = match parse_path(path) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match route {
        Route::Text(t) => (StatusCode::OK, t).into_response(),
        Route::Json(v) if method == Method::GET => ok(&v),
        Route::Json(_) => ApiError::method_not_allowed().into_response(),
        Route::Resource(t) => {
            let q = Query::parse(&uri);
            let labels = request_labels(&method, &t, &q, &headers);
            let response = match resource(&ctx, &method, t, &q, &headers, &body) {
                Ok(r) => r,
                Err(e) => e.into_response(),
            };
            ctx.metrics.count(RequestLabels {
                code: response.status().as_u16(),
                ..labels
            });
            response
        }
    }
}

/// The counter labels of a resource request (the code is filled in once answered).
fn request_labels(method: &Method, t: &Target, q: &Query, h: &HeaderMap) -> RequestLabels {
    let apply = header_str(h, header::CONTENT_TYPE).starts_with("application/apply-patch");
    RequestLabels {
        verb: metrics::verb(method.as_str(), t.name.is_some(), q.flag("watch"), apply),
        group: t.res.group.to_string(),
        version: t.res.version.to_string(),
        resource: t.res.plural.to_string(),
        subresource: t.sub.clone().unwrap_or_default(),
        scope: match (&t.name, &t.ns) {
            (Some(_), _) => "resource",
            (None, Some(_)) => "namespace",
            (None, None) => "cluster",
        },
        code: 0,
    }
}

fn resource(
    ctx: &Ctx,
    method: &Method,
    t: Target,
    q: &Query,
    h: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let ct = header_str(h, header::CONTENT_TYPE);
    if ct.starts_with("application/vnd.kubernetes.protobuf") || ct.starts_with("application/cbor") {
        // Only JSON and YAML bodies are understood; typed clients retry as JSON on 415.
        return Err(ApiError::unsupported_media_type(ct));
    }
    let res = t.res;
    let ns = t.ns.as_deref();
    match (method.as_str(), t.name.as_deref(), t.sub.as_deref()) {
        ("GET", None, None) if q.flag("watch") => watch(ctx, res, ns, q, h),
        ("GET", None, None) => list(ctx, res, ns, q, h),
        ("GET", Some(name), Some("log")) => logs(ctx, ns, name, q),
        ("GET", Some(name), _) => {
            let obj = ctx
                .store
                .lock()
                .get(res, ns, name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(res, name))?;
            if wants_table(h) {
                let rv = meta::resource_version(&obj).unwrap_or("").to_string();
                let include = Include::parse(q.get("includeObject"));
                return Ok(json_response(
                    StatusCode::OK,
                    &table::table(res, [&obj], include, &rv),
                    TABLE_TYPE,
                ));
            }
            Ok(ok(&obj))
        }
        // Bodies are read before the store is locked and answers written after: only the
        // change itself waits for the lock, so requests overlap on every core.
        ("POST", None, None) => {
            let obj = apply::parse_body(body)?;
            let dry_run = q.dry_run()?;
            let created = ctx
                .store
                .lock()
                .create(res, ns, obj, dry_run, &manager(q, h))?;
            Ok(json_response(
                StatusCode::CREATED,
                &created,
                "application/json",
            ))
        }
        ("PUT", Some(name), sub) if sub != Some("log") => {
            let obj = apply::parse_body(body)?;
            let status_only = if sub == Some("status") {
                Some("status")
            } else {
                None
            };
            let mgr = manager(q, h);
            let dry_run = q.dry_run()?;
            let updated = {
                let mut store = ctx.store.lock();
                let obj = if sub == Some("finalize") {
                    finalize_body(&store, res, name, obj)?
                } else {
                    obj
                };
                store.update(res, ns, name, obj, status_only, dry_run, Some(&mgr))?
            };
            Ok(ok(&updated))
        }
        ("PATCH", Some(name), sub) if sub != Some("log") && sub != Some("finalize") => {
            let kind = PatchType::from_content_type(header_str(h, header::CONTENT_TYPE))?;
            let dry_run = q.dry_run()?;
            if kind == PatchType::Apply {
                let config = apply::parse_body(body);
                let (obj, created) = apply::server_side_apply(
                    &mut ctx.store.lock(),
                    res,
                    ns,
                    name,
                    config,
                    q.get("fieldManager"),
                    q.flag("force"),
                    dry_run,
                    sub,
                )?;
                let code = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                return Ok(json_response(code, &obj, "application/json"));
            }
            if q.get("force").is_some() {
                return Err(
                    ApiError::bad_request("force is only allowed for apply patches")
                        .with_code(422, "Invalid"),
                );
            }
            let mgr = manager(q, h);
            let updated = {
                let mut store = ctx.store.lock();
                let live = store
                    .get(res, ns, name)
                    .cloned()
                    .ok_or_else(|| ApiError::not_found(res, name))?;
                let patched = patch::apply_patch(kind, &live, body)?;
                store.update(res, ns, name, patched, sub, dry_run, Some(&mgr))?
            };
            Ok(ok(&updated))
        }
        ("DELETE", Some(name), None) => {
            let opts = delete_opts(q, body)?;
            let mut store = ctx.store.lock();
            let existed_uid = store.get(res, ns, name).map(|o| meta::uid(o).to_string());
            let obj = store.delete(res, ns, name, &opts)?;
            let still_there = store.get(res, ns, name).is_some();
            if still_there || res.kind == "Pod" || opts.dry_run {
                Ok(ok(&obj))
            } else {
                Ok(ok(&status::success(
                    res,
                    name,
                    &existed_uid.unwrap_or_default(),
                )))
            }
        }
        ("DELETE", None, None) => {
            let opts = delete_opts(q, body)?;
            let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
            let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))?;
            let mut store = ctx.store.lock();
            let names: Vec<(Option<String>, String)> = store
                .list(res, ns)
                .into_iter()
                .filter(|o| labels.matches(o) && fields.matches(o))
                .map(|o| {
                    (
                        meta::namespace(o).map(String::from),
                        meta::name(o).to_string(),
                    )
                })
                .collect();
            let mut items = Vec::new();
            for (ons, name) in names {
                items.push(store.delete(res, ons.as_deref(), &name, &opts)?);
            }
            let rv = store.current_rv().to_string();
            Ok(ok(
                &json!({"kind": res.list_kind(), "apiVersion": res.api_version(),
                          "metadata": {"resourceVersion": rv}, "items": items}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `PUT /api/v1/namespaces/{name}/finalize`: only `spec.finalizers` changes.
fn finalize_body(
    store: &super::store::Store,
    res: &'static Resource,
    name: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let mut live = store
        .get(res, None, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(res, name))?;
    live["spec"]["finalizers"] = body
        .pointer("/spec/finalizers")
        .cloned()
        .unwrap_or(json!([]));
    Ok(live)
}

fn delete_opts(q: &Query, body: &[u8]) -> Result<DeleteOpts, ApiError> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let dry_body = b
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "All"));
    Ok(DeleteOpts {
        dry_run: q.dry_run()? || dry_body,
        grace_period: q
            .get("gracePeriodSeconds")
            .and_then(|g| g.parse().ok())
            .or_else(|| b.get("gracePeriodSeconds").and_then(Value::as_i64)),
        propagation: q.get("propagationPolicy").map(String::from).or_else(|| {
            b.get("propagationPolicy")
                .and_then(Value::as_str)
                .map(String::from)
        }),
        precondition_uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(String::from),
        precondition_rv: b
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

fn list(
    ctx: &Ctx,
    res: &'static Resource,
    ns: Option<&str>,
    q: &Query,
    h: &HeaderMap,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))?;
    // Written out while the lock is held, straight from the stored objects: copying
    // thousands of them first, to write them after, cost twice as much.
    let store = ctx.store.lock();
    let items: Vec<&Value> = store
        .list(res, ns)
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    let rv = store.current_rv().to_string();
    if wants_table(h) {
        let include = Include::parse(q.get("includeObject"));
        return Ok(json_response(
            StatusCode::OK,
            &table::table(res, items, include, &rv),
            TABLE_TYPE,
        ));
    }
    Ok(ok(&ObjectList {
        kind: res.list_kind(),
        api_version: res.api_version(),
        metadata: ListMeta {
            resource_version: rv,
        },
        items,
    }))
}

/// A list response, in the field order of the real server's.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectList<'a> {
    kind: String,
    api_version: String,
    metadata: ListMeta,
    items: Vec<&'a Value>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    resource_version: String,
}

fn watch(
    ctx: &Ctx,
    res: &'static Resource,
    ns: Option<&str>,
    q: &Query,
    h: &HeaderMap,
) -> Result<Response, ApiError> {
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))?;
    let send_initial = q.flag("sendInitialEvents");
    let from = match q.get("resourceVersion") {
        _ if send_initial => None,
        None | Some("") | Some("0") => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("invalid resource version: {rv}"))
                .with_code(410, "Expired")
        })?),
    };
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let store = ctx.store.lock();
    let (initial, rx) = store.watch(res, ns, from)?;
    let current = store.current_rv();
    drop(store);
    let table = wants_table(h).then(|| Include::parse(q.get("includeObject")));
    let spec = watch::WatchSpec {
        resource: res,
        namespace: ns.map(String::from),
        labels,
        fields,
        bookmarks: q.flag("allowWatchBookmarks"),
        initial_events_end: send_initial,
        timeout,
        table,
    };
    let from_rv = from.unwrap_or(current);
    let stream = watch::stream(spec, initial, rx, ctx.stop.clone(), from_rv);
    let content_type = if table.is_some() {
        TABLE_TYPE
    } else {
        "application/json"
    };
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| ApiError::internal("watch response").into_response()))
}

fn logs(ctx: &Ctx, ns: Option<&str>, name: &str, q: &Query) -> Result<Response, ApiError> {
    let res = &resources::PODS;
    let store = ctx.store.lock();
    let pod = store
        .get(res, ns, name)
        .ok_or_else(|| ApiError::not_found(res, name))?;
    let containers: Vec<String> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(String::from))
        .collect();
    let container = match q.get("container") {
        Some(c) if containers.iter().any(|x| x == c) => c.to_string(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            )));
        }
    };
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container.as_str()));
    // A container waiting to restart shows the logs of the run that ended, as the kubelet
    // does (`kubectl logs` of a crash-looping pod).
    let ended = status
        .and_then(|c| c.pointer("/lastState/terminated/containerID"))
        .and_then(Value::as_str)
        .is_some_and(|id| !id.is_empty());
    let waiting = status
        .and_then(|c| c.pointer("/state/waiting/reason"))
        .and_then(Value::as_str)
        .filter(|_| !ended)
        .map(String::from)
        .or_else(|| {
            // No status yet: the container has not been created.
            pod.pointer("/status/containerStatuses")
                .is_none()
                .then(|| "ContainerCreating".to_string())
        });
    if let Some(reason) = waiting {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    // A container's own log, else the pod's (pods with one container that prints).
    let uid = meta::uid(pod);
    let mut text = store
        .state
        .logs
        .get(&format!("{uid}/{container}"))
        .or_else(|| store.state.logs.get(uid))
        .cloned()
        .unwrap_or_default();
    if let Some(n) = q.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(n);
        text = lines[start..].iter().map(|l| format!("{l}\n")).collect();
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}
