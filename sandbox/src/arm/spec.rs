//! The official REST specifications, embedded, as JSON Schema validators.
//!
//! The sandbox checks request bodies against the operation's body schema (and tests check
//! the sandbox's responses against the response schemas), so a client that passes here
//! sends what real ARM accepts. Swagger 2.0 schemas become draft-4 JSON Schema: `$ref`s
//! are resolved across files into one `definitions` map, `x-nullable` allows `null`,
//! extensible enums (`x-ms-enum.modelAsString`) accept any string, and for requests
//! `readOnly` properties are never required. A `$ref` to a file not copied into the repo
//! accepts anything.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// Spec files by path under `specs/specification/`.
static FILES: &[(&str, &str)] = &[
    (
        "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json",
        include_str!(
            "../../../specs/specification/authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json"
        ),
    ),
    (
        "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json",
        include_str!(
            "../../../specs/specification/authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/authorization-RoleDefinitionsCalls.json"
        ),
    ),
    (
        "authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/common-types.json",
        include_str!(
            "../../../specs/specification/authorization/resource-manager/Microsoft.Authorization/Authorization/stable/2022-04-01/common-types.json"
        ),
    ),
    (
        "authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/common-types.json",
        include_str!(
            "../../../specs/specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/common-types.json"
        ),
    ),
    (
        "common-types/resource-management/v1/types.json",
        include_str!("../../../specs/specification/common-types/resource-management/v1/types.json"),
    ),
    (
        "common-types/resource-management/v2/types.json",
        include_str!("../../../specs/specification/common-types/resource-management/v2/types.json"),
    ),
    (
        "common-types/resource-management/v3/types.json",
        include_str!("../../../specs/specification/common-types/resource-management/v3/types.json"),
    ),
    (
        "containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-08-01/managedClusters.EXCERPT.json",
        include_str!(
            "../../../specs/specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2026-08-01/managedClusters.EXCERPT.json"
        ),
    ),
    (
        "network/resource-manager/Microsoft.Network/stable/2024-07-01/network.json",
        include_str!(
            "../../../specs/specification/network/resource-manager/Microsoft.Network/stable/2024-07-01/network.json"
        ),
    ),
    (
        "network/resource-manager/Microsoft.Network/stable/2024-07-01/virtualNetwork.json",
        include_str!(
            "../../../specs/specification/network/resource-manager/Microsoft.Network/stable/2024-07-01/virtualNetwork.json"
        ),
    ),
    (
        "privatedns/resource-manager/Microsoft.Network/PrivateDns/stable/2024-06-01/privatedns.json",
        include_str!(
            "../../../specs/specification/privatedns/resource-manager/Microsoft.Network/PrivateDns/stable/2024-06-01/privatedns.json"
        ),
    ),
    (
        "resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json",
        include_str!(
            "../../../specs/specification/resources/resource-manager/Microsoft.Resources/resources/stable/2025-04-01/resources.json"
        ),
    ),
    (
        "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/blob.json",
        include_str!(
            "../../../specs/specification/storage/resource-manager/Microsoft.Storage/stable/2025-01-01/blob.json"
        ),
    ),
    (
        "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/common.json",
        include_str!(
            "../../../specs/specification/storage/resource-manager/Microsoft.Storage/stable/2025-01-01/common.json"
        ),
    ),
    (
        "storage/resource-manager/Microsoft.Storage/stable/2025-01-01/storage.json",
        include_str!(
            "../../../specs/specification/storage/resource-manager/Microsoft.Storage/stable/2025-01-01/storage.json"
        ),
    ),
    (
        "storagecache/resource-manager/Microsoft.StorageCache/StorageCache/stable/2026-01-01/openapi.json",
        include_str!(
            "../../../specs/specification/storagecache/resource-manager/Microsoft.StorageCache/StorageCache/stable/2026-01-01/openapi.json"
        ),
    ),
    (
        "storagecache/resource-manager/Microsoft.StorageCache/stable/2024-03-01/amlfilesystem.json",
        include_str!(
            "../../../specs/specification/storagecache/resource-manager/Microsoft.StorageCache/stable/2024-03-01/amlfilesystem.json"
        ),
    ),
    (
        "storagecache/resource-manager/Microsoft.StorageCache/stable/2024-03-01/storagecache.json",
        include_str!(
            "../../../specs/specification/storagecache/resource-manager/Microsoft.StorageCache/stable/2024-03-01/storagecache.json"
        ),
    ),
];

/// Whether a schema is used for a request (readOnly never required) or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Request,
    Response,
}

/// One operation of one spec file.
#[derive(Debug, Clone)]
pub struct OperationSpec {
    pub file: &'static str,
    pub api_version: String,
    pub method: String,
    pub path: String,
    pub operation_id: String,
    pub long_running: bool,
    pub final_state_via: Option<String>,
    /// Converted request body schema (refs point into the request definitions).
    pub body: Option<Value>,
    /// Converted response schemas by status code (`"200"`, `"default"`...).
    pub responses: BTreeMap<String, Option<Value>>,
    /// The body parameter's schema as written in the spec (for the strict check).
    raw_body: Option<Value>,
    segments: Vec<String>,
}

pub struct SpecIndex {
    docs: HashMap<&'static str, Value>,
    defs: HashMap<Direction, Map<String, Value>>,
    pub operations: Vec<OperationSpec>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The index, built once on first use (the files are embedded in the binary).
pub fn index() -> &'static SpecIndex {
    static INDEX: OnceLock<SpecIndex> = OnceLock::new();
    INDEX.get_or_init(SpecIndex::build)
}

/// A schema violation, with the JSON path of the offending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
    pub missing_required: bool,
}

impl SpecIndex {
    fn build() -> Self {
        let mut docs = HashMap::new();
        for (path, text) in FILES {
            // The embedded files are checked-in JSON; one that does not parse is skipped
            // (its operations are then simply not validated).
            if let Ok(v) = serde_json::from_str::<Value>(text) {
                docs.insert(*path, v);
            }
        }
        let mut idx = SpecIndex {
            docs,
            defs: HashMap::new(),
            operations: Vec::new(),
            validators: Mutex::new(HashMap::new()),
        };
        idx.defs.insert(Direction::Request, Map::new());
        idx.defs.insert(Direction::Response, Map::new());
        let files: Vec<&'static str> = FILES.iter().map(|(p, _)| *p).collect();
        for file in files {
            let Some(doc) = idx.docs.get(file).cloned() else {
                continue;
            };
            let version = doc["info"]["version"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let Some(paths) = doc["paths"].as_object() else {
                continue;
            };
            for (path, ops) in paths {
                let Some(ops) = ops.as_object() else { continue };
                let common: Vec<Value> = ops
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (method, op) in ops {
                    if method == "parameters" {
                        continue;
                    }
                    let mut params = common.clone();
                    params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
                    let mut body = None;
                    let mut raw_body = None;
                    for p in &params {
                        let p = idx.resolve_parameter(file, p);
                        if p["in"] == "body" {
                            body = Some(idx.convert(file, &p["schema"], Direction::Request));
                            raw_body = Some(p["schema"].clone());
                        }
                    }
                    let mut responses = BTreeMap::new();
                    if let Some(rs) = op["responses"].as_object() {
                        for (code, r) in rs {
                            let schema = r
                                .get("schema")
                                .map(|s| idx.convert(file, s, Direction::Response));
                            responses.insert(code.clone(), schema);
                        }
                    }
                    idx.operations.push(OperationSpec {
                        file,
                        api_version: version.clone(),
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                        operation_id: op["operationId"].as_str().unwrap_or_default().to_string(),
                        long_running: op["x-ms-long-running-operation"] == true,
                        final_state_via:
                            op["x-ms-long-running-operation-options"]["final-state-via"]
                                .as_str()
                                .map(str::to_string),
                        body,
                        responses,
                        raw_body,
                        segments: path
                            .split('/')
                            .filter(|s| !s.is_empty())
                            .map(str::to_ascii_lowercase)
                            .collect(),
                    });
                }
            }
        }
        idx
    }

    fn resolve_parameter(&self, file: &'static str, p: &Value) -> Value {
        match p.get("$ref").and_then(Value::as_str) {
            Some(r) => match self.lookup(file, r) {
                Some((_, v)) => v,
                None => Value::Null,
            },
            None => p.clone(),
        }
    }

    /// Finds the target of a `$ref` written in `file`: (its file, the value).
    fn lookup(&self, file: &'static str, reference: &str) -> Option<(&'static str, Value)> {
        let (rel, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let target = if rel.is_empty() {
            file.to_string()
        } else {
            join(file, rel)
        };
        let (path, doc) = self.docs.get_key_value(target.as_str())?;
        let v = if pointer.is_empty() {
            doc.clone()
        } else {
            doc.pointer(pointer)?.clone()
        };
        Some((*path, v))
    }

    /// Converts a swagger schema written in `file` into JSON Schema, registering every
    /// referenced definition in the `dir` definitions map.
    fn convert(&mut self, file: &'static str, schema: &Value, dir: Direction) -> Value {
        match schema {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    return self.convert_ref(file, r, dir);
                }
                let mut out = Map::new();
                let read_only: Vec<String> = o
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|ps| {
                        ps.iter()
                            .filter(|(_, p)| p.get("readOnly") == Some(&Value::Bool(true)))
                            .map(|(k, _)| k.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                for (k, v) in o {
                    match k.as_str() {
                        "properties" => {
                            let mut ps = Map::new();
                            for (name, p) in v.as_object().into_iter().flatten() {
                                ps.insert(name.clone(), self.convert(file, p, dir));
                            }
                            out.insert(k.clone(), Value::Object(ps));
                        }
                        "items" | "additionalProperties" | "not" if v.is_object() => {
                            out.insert(k.clone(), self.convert(file, v, dir));
                        }
                        "allOf" | "anyOf" | "oneOf" => {
                            let list = v
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|s| self.convert(file, s, dir))
                                .collect();
                            out.insert(k.clone(), Value::Array(list));
                        }
                        "required" => {
                            let req: Vec<Value> = v
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter(|n| {
                                    dir == Direction::Response
                                        || !read_only.iter().any(|r| Some(r.as_str()) == n.as_str())
                                })
                                .cloned()
                                .collect();
                            if !req.is_empty() {
                                out.insert(k.clone(), Value::Array(req));
                            }
                        }
                        "enum" => {
                            let extensible = o["x-ms-enum"]["modelAsString"] == true;
                            if !extensible {
                                out.insert(k.clone(), v.clone());
                            }
                        }
                        "type" | "minimum" | "maximum" | "exclusiveMinimum"
                        | "exclusiveMaximum" | "minLength" | "maxLength" | "pattern"
                        | "minItems" | "maxItems" | "uniqueItems" | "format" => {
                            if k == "type" && v == "file" {
                                continue;
                            }
                            out.insert(k.clone(), v.clone());
                        }
                        _ => {}
                    }
                }
                if o.get("x-nullable") == Some(&Value::Bool(true))
                    && let Some(t) = out.get("type").and_then(Value::as_str).map(str::to_string)
                {
                    out.insert("type".into(), json!([t, "null"]));
                    if let Some(Value::Array(e)) = out.get_mut("enum") {
                        e.push(Value::Null);
                    }
                }
                // Formats Azure invents (arm-id, duration, password...) are not checked;
                // jsonschema ignores unknown ones, and `int32`/`int64` are not formats there.
                Value::Object(out)
            }
            _ => json!({}),
        }
    }

    fn convert_ref(&mut self, file: &'static str, reference: &str, dir: Direction) -> Value {
        let (rel, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let target = if rel.is_empty() {
            file.to_string()
        } else {
            join(file, rel)
        };
        // Only the key is needed: cloning the document here, once per $ref, made building
        // the index take seconds.
        let Some(tfile) = self.docs.get_key_value(target.as_str()).map(|(k, _)| *k) else {
            return json!({});
        };
        let name = format!("{tfile}#{pointer}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>();
        let exists = self.defs.get(&dir).is_some_and(|d| d.contains_key(&name));
        if !exists {
            // Placeholder first, so recursive definitions terminate.
            if let Some(d) = self.defs.get_mut(&dir) {
                d.insert(name.clone(), json!({}));
            }
            let target_schema = self
                .docs
                .get(tfile)
                .and_then(|d| d.pointer(pointer))
                .cloned();
            let converted = match target_schema {
                Some(s) => self.convert(tfile, &s, dir),
                None => json!({}),
            };
            if let Some(d) = self.defs.get_mut(&dir) {
                d.insert(name.clone(), converted);
            }
        }
        json!({"$ref": format!("#/definitions/{name}")})
    }

    /// The operation serving `method path` at `api_version` (the file of that version when
    /// there is one, else the newest file having the path).
    pub fn find(&self, method: &str, path: &str, api_version: &str) -> Option<&OperationSpec> {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let mut best: Option<(&OperationSpec, (bool, usize, String))> = None;
        for op in &self.operations {
            if !op.method.eq_ignore_ascii_case(method) {
                continue;
            }
            let Some(literals) = match_template(&op.segments, &segs) else {
                continue;
            };
            let score = (
                op.api_version == api_version,
                literals,
                op.api_version.clone(),
            );
            if best.as_ref().is_none_or(|(_, s)| score > *s) {
                best = Some((op, score));
            }
        }
        best.map(|(op, _)| op)
    }

    /// Finds an operation by its id (newest version first unless `api_version` matches).
    pub fn by_operation_id(&self, operation_id: &str, api_version: &str) -> Option<&OperationSpec> {
        self.operations
            .iter()
            .filter(|o| o.operation_id.eq_ignore_ascii_case(operation_id))
            .max_by_key(|o| (o.api_version == api_version, o.api_version.clone()))
    }

    fn validator(
        &self,
        cache_key: String,
        dir: Direction,
        schema: &Value,
    ) -> Option<Arc<jsonschema::Validator>> {
        if let Ok(cache) = self.validators.lock()
            && let Some(v) = cache.get(&cache_key)
        {
            return Some(v.clone());
        }
        let full = json!({
            "definitions": Value::Object(self.defs.get(&dir).cloned().unwrap_or_default()),
            "allOf": [schema],
        });
        let v = Arc::new(
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft4)
                .should_validate_formats(false)
                .build(&full)
                .ok()?,
        );
        if let Ok(mut cache) = self.validators.lock() {
            cache.insert(cache_key, v.clone());
        }
        Some(v)
    }

    /// Checks a request body against the operation's body schema.
    pub fn validate_request(&self, op: &OperationSpec, body: &Value) -> Result<(), Vec<Violation>> {
        let Some(schema) = &op.body else {
            return Ok(());
        };
        let key = format!("req {} {} {}", op.file, op.method, op.path);
        self.run(key, Direction::Request, schema, body)
    }

    /// Checks a response body against the schema of `status` (or `default`).
    pub fn validate_response(
        &self,
        op: &OperationSpec,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<Violation>> {
        let code = status.to_string();
        let schema = match op.responses.get(&code) {
            Some(s) => s.clone(),
            None => {
                return Err(vec![Violation {
                    path: String::new(),
                    message: format!("status {status} is not a response of {}", op.operation_id),
                    missing_required: false,
                }]);
            }
        };
        let Some(schema) = schema else {
            return Ok(());
        };
        let key = format!("resp {code} {} {} {}", op.file, op.method, op.path);
        self.run(key, Direction::Response, &schema, body)
    }

    fn run(
        &self,
        key: String,
        dir: Direction,
        schema: &Value,
        body: &Value,
    ) -> Result<(), Vec<Violation>> {
        let Some(v) = self.validator(key, dir, schema) else {
            return Ok(());
        };
        let errs: Vec<Violation> = v
            .iter_errors(body)
            .map(|e| {
                let message = e.to_string();
                Violation {
                    path: e.instance_path().to_string(),
                    missing_required: message.contains("is a required property"),
                    message,
                }
            })
            .collect();
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    /// The strict check of a request body: a property the schema does not declare, or one it
    /// marks `readOnly`, is refused (JSON Schema draft 4 cannot say "no other properties"
    /// across `allOf`, so this walks the spec's own schema). Null values count as absent.
    pub fn check_strict(&self, op: &OperationSpec, body: &Value) -> Result<(), Vec<Violation>> {
        let Some(schema) = &op.raw_body else {
            return Ok(());
        };
        let mut out = Vec::new();
        self.walk_strict(op.file, schema, body, "", &mut out);
        if out.is_empty() { Ok(()) } else { Err(out) }
    }

    /// Follows `$ref`s to the schema itself, with the file it is written in; `None` when a
    /// reference points to a file not copied into the repo.
    fn deref(&self, file: &'static str, schema: &Value) -> Option<(&'static str, Value)> {
        let mut cur = (file, schema.clone());
        for _ in 0..16 {
            match cur.1.get("$ref").and_then(Value::as_str) {
                Some(r) => cur = self.lookup(cur.0, r)?,
                None => return Some(cur),
            }
        }
        None
    }

    /// Declared properties of an object schema, its `allOf` parents' included:
    /// name → (file, property schema). `None` when the schema declares no properties
    /// (a free-form object). Also the `additionalProperties` schema, if any.
    fn members(
        &self,
        file: &'static str,
        schema: &Value,
        props: &mut BTreeMap<String, (&'static str, Value)>,
        additional: &mut Option<(&'static str, Value)>,
        depth: usize,
    ) {
        // A parent the repo does not hold could declare anything: accept any member.
        let Some((file, schema)) = self.deref(file, schema).filter(|_| depth <= 16) else {
            *additional = Some((file, json!({})));
            return;
        };
        for (name, p) in schema["properties"].as_object().into_iter().flatten() {
            props.insert(name.clone(), (file, p.clone()));
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(true)) => *additional = Some((file, json!({}))),
            Some(v @ Value::Object(_)) => *additional = Some((file, v.clone())),
            _ => {}
        }
        for parent in schema["allOf"].as_array().into_iter().flatten() {
            self.members(file, parent, props, additional, depth + 1);
        }
    }

    fn walk_strict(
        &self,
        file: &'static str,
        schema: &Value,
        value: &Value,
        path: &str,
        out: &mut Vec<Violation>,
    ) {
        let Some((file, resolved)) = self.deref(file, schema) else {
            return;
        };
        match value {
            Value::Object(o) => {
                let mut props = BTreeMap::new();
                let mut additional = None;
                self.members(file, &resolved, &mut props, &mut additional, 0);
                if props.is_empty() && additional.is_none() {
                    return;
                }
                for (k, v) in o {
                    if v.is_null() {
                        continue;
                    }
                    let at = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    if let Some((pf, p)) = props.get(k) {
                        let read_only = p["readOnly"] == true
                            || self
                                .deref(pf, p)
                                .is_some_and(|(_, t)| t["readOnly"] == true);
                        if read_only {
                            out.push(Violation {
                                path: at.clone(),
                                message: format!("The property '{at}' is read-only and cannot be set in a request."),
                                missing_required: false,
                            });
                        } else {
                            self.walk_strict(pf, p, v, &at, out);
                        }
                    } else if let Some((af, a)) = &additional {
                        self.walk_strict(af, a, v, &at, out);
                    } else {
                        out.push(Violation {
                            path: at.clone(),
                            message: format!(
                                "Could not find member '{k}' on the object at '{}'. Path '{at}'.",
                                if path.is_empty() { "$" } else { path }
                            ),
                            missing_required: false,
                        });
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = resolved.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.walk_strict(file, item, v, &format!("{path}[{i}]"), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// The parsed spec document at `path` (under `specification/`).
    pub fn document(&self, path: &str) -> Option<&Value> {
        self.docs.get(path)
    }
}

/// Matches path template segments against request segments. `{scope}`-like parameters
/// (`scope`, `roleAssignmentId`, `resourceId`) span one or more segments. Returns the
/// number of literal segments matched.
fn match_template(template: &[String], segs: &[String]) -> Option<usize> {
    fn go(t: &[String], s: &[String]) -> Option<usize> {
        match t.split_first() {
            None => s.is_empty().then_some(0),
            Some((head, rest)) => {
                let multi = matches!(
                    head.as_str(),
                    "{scope}" | "{roleassignmentid}" | "{resourceid}"
                );
                if multi {
                    // Longest-first is fine: later literals decide.
                    (1..=s.len()).rev().find_map(|n| go(rest, &s[n..]))
                } else {
                    let (first, srest) = s.split_first()?;
                    if head.starts_with('{') {
                        go(rest, srest)
                    } else if head == first {
                        go(rest, srest).map(|n| n + 1)
                    } else {
                        None
                    }
                }
            }
        }
    }
    go(template, segs)
}

/// Resolves `rel` against the directory of `file` (both under `specification/`).
fn join(file: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for p in rel.split('/') {
        match p {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    parts.join("/")
}

/// Renders violations as ARM does: `InvalidRequestContent` for shape errors,
/// `InvalidParameter` naming a missing required property.
pub fn to_arm_error(violations: &[Violation]) -> super::errors::ArmError {
    let first = &violations[0];
    if let Some(missing) = violations.iter().find(|v| v.missing_required) {
        let what = missing
            .message
            .trim_end_matches(" is a required property")
            .trim_matches('"');
        let at = if missing.path.is_empty() {
            "the request body".to_string()
        } else {
            format!("'{}'", missing.path)
        };
        return super::errors::ArmError::bad_request(
            "InvalidParameter",
            format!("Required property '{what}' not found in {at}."),
        );
    }
    super::errors::ArmError::bad_request(
        "InvalidRequestContent",
        format!(
            "The request content was invalid and could not be deserialized: '{}' at path '{}'.",
            first.message,
            if first.path.is_empty() {
                "$"
            } else {
                &first.path
            }
        ),
    )
}

/// Operations whose bodies get the strict check ([`SpecIndex::check_strict`]): Azure
/// Managed Lustre's, whose resource provider refuses what its models do not declare. The
/// older providers' operations keep the lenient check their clients were written against.
pub fn is_strict(op: &OperationSpec) -> bool {
    let p = op.path.to_ascii_lowercase();
    p.contains("/providers/microsoft.storagecache/amlfilesystems")
        || p.ends_with("/checkamlfssubnets")
        || p.ends_with("/getrequiredamlfssubnetssize")
}

/// The strict check's violations as ARM answers them (`InvalidRequestContent`).
pub fn strict_error(violations: &[Violation]) -> super::errors::ArmError {
    super::errors::ArmError::bad_request(
        "InvalidRequestContent",
        format!(
            "The request content was invalid and could not be deserialized: '{}'",
            violations
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_operations_by_path() {
        let i = index();
        let op = i
            .find(
                "PUT",
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.StorageCache/caches/c",
                "2024-03-01",
            )
            .expect("caches put");
        assert_eq!(op.operation_id, "Caches_CreateOrUpdate");
        assert_eq!(op.api_version, "2024-03-01");
        let op = i
            .find(
                "PUT",
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/providers/Microsoft.Authorization/roleAssignments/x",
                "2022-04-01",
            )
            .expect("role assignment put");
        assert_eq!(op.operation_id, "RoleAssignments_Create");
        let op = i
            .find("GET", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/privateDnsZones/z/ALL", "2024-06-01")
            .expect("record sets");
        assert_eq!(op.operation_id, "RecordSets_List");
    }

    #[test]
    fn the_strict_check_refuses_read_only_and_undeclared_members_only() {
        let i = index();
        let op = i
            .by_operation_id("amlFilesystems_CreateOrUpdate", "2024-03-01")
            .expect("op");
        assert!(is_strict(op));
        let ok = json!({"location": "eastus", "tags": {"a": "b"}, "zones": ["1"],
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/x/y": {}}},
            "properties": {"storageCapacityTiB": 8, "filesystemSubnet": "/s", "clientInfo": null,
                "hsm": {"settings": {"container": "/c", "loggingContainer": "/l"}}}});
        assert_eq!(i.check_strict(op, &ok), Ok(()));
        let bad = json!({"location": "eastus", "id": "/x",
            "properties": {"health": {"state": "Available"}, "hsm": {"archiveStatus": []}, "sizeGB": 1}});
        let v = i.check_strict(op, &bad).expect_err("refused");
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "id",
                "properties.health",
                "properties.hsm.archiveStatus",
                "properties.sizeGB"
            ]
        );
        let cache = i
            .by_operation_id("Caches_CreateOrUpdate", "2024-03-01")
            .expect("op");
        assert!(!is_strict(cache));
    }

    #[test]
    fn request_validation_catches_wrong_types() {
        let i = index();
        let op = i
            .by_operation_id("Caches_CreateOrUpdate", "2024-03-01")
            .expect("op");
        assert!(
            i.validate_request(
                op,
                &json!({"location": "eastus", "properties": {"cacheSizeGB": 3072}})
            )
            .is_ok()
        );
        assert!(
            i.validate_request(
                op,
                &json!({"location": "eastus", "properties": {"cacheSizeGB": "big"}})
            )
            .is_err()
        );
    }
}
