//! Holds responses to the OpenAPI document: a small JSON Schema checker for the subset the
//! document uses (`$ref`, `type`, `enum`, `required`, `properties`, `additionalProperties`,
//! `unevaluatedProperties: false` over `allOf`, `items`, `allOf`, `oneOf`, `anyOf`, `not`,
//! `const`, `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`, and `pattern` for the patterns the
//! document names), and the response headers the document declares.

use std::sync::OnceLock;

use lambda_http::http::HeaderMap;
use serde_json::Value;

pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(local_gateway::openapi::document)
}

/// The schema the document gives for `status` of `method path-template`, or why there is none.
pub fn response_schema(
    method: &str,
    path: &str,
    status: u16,
) -> Result<Option<&'static Value>, String> {
    let operation = &document()["paths"][path][method.to_lowercase()];
    if operation.is_null() {
        return Err(format!("{method} {path} is not in the OpenAPI document"));
    }
    let response = &operation["responses"][status.to_string()];
    if response.is_null() {
        return Err(format!("{method} {path} does not document status {status}"));
    }
    Ok(response["content"]["application/json"].get("schema"))
}

/// `text/csv` when the answer is CSV (whose body is text, not JSON).
pub fn csv_media(headers: &HeaderMap) -> Option<&'static str> {
    headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(';').next().unwrap_or("").trim() == "text/csv")
        .then_some("text/csv")
}

/// The headers this API sets on its own answers (CORS and the like are the gateway's): each
/// one a response carries must be declared for its status.
const API_HEADERS: &[&str] = &[
    "etag",
    "location",
    "idempotent-replayed",
    "retry-after",
    "link",
];

/// Every way a response of `method path-template` breaks the document: an undocumented
/// status, a body off the status's schema (for an error: a code the operation does not list
/// for that status), a declared required header missing, an undeclared header of this API.
pub fn response_problems(
    method: &str,
    path: &str,
    status: u16,
    headers: &HeaderMap,
    body: &Value,
) -> Vec<String> {
    let schema = match (csv_media(headers), response_schema(method, path, status)) {
        (_, Err(undocumented)) => return vec![undocumented],
        // A CSV answer: the status must document it; its body is text.
        (Some(media), Ok(_)) => match document()["paths"][path][method.to_lowercase()]["responses"]
            [status.to_string()]["content"]
            .get(media)
        {
            Some(content) => content.get("schema"),
            None => {
                return vec![format!(
                    "{method} {path} does not document {media} for {status}"
                )];
            }
        },
        (None, Ok(schema)) => schema,
    };
    let mut problems = match schema {
        Some(schema) => violations(body, schema),
        None if body.is_null() => Vec::new(),
        None => vec![format!("status {status} documents no body")],
    };
    let declared = &document()["paths"][path][method.to_lowercase()]["responses"]
        [status.to_string()]["headers"];
    let declared: Vec<(String, &Value)> = declared
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, header)| (name.to_lowercase(), resolve(header)))
        .collect();
    for (name, header) in &declared {
        match headers.get(name.as_str()).map(|v| v.to_str().unwrap_or("")) {
            Some(value) => problems.extend(
                violations(&Value::from(value), &header["schema"])
                    .into_iter()
                    .map(|p| format!("header {name}: {p}")),
            ),
            None if header["required"] == true => {
                problems.push(format!("missing header {name}, declared required"))
            }
            None => {}
        }
    }
    for name in API_HEADERS {
        if headers.contains_key(*name) && !declared.iter().any(|(d, _)| d == name) {
            problems.push(format!("header {name} is not declared for status {status}"));
        }
    }
    problems
}

/// Every way `value` breaks `schema`, with JSON paths.
pub fn violations(value: &Value, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(value, schema, "$", &mut out);
    out
}

/// A `$ref` to a component (schema or header) as the component; anything else as itself.
fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let mut target = document();
            for segment in reference.trim_start_matches("#/").split('/') {
                target = &target[segment];
            }
            assert!(!target.is_null(), "dangling $ref {reference}");
            resolve(target)
        }
        None => schema,
    }
}

/// The properties `schema` itself evaluates: its own and, through `allOf`, its parts'
/// (what `unevaluatedProperties` counts, for the document's use of it).
fn evaluated_properties(schema: &Value) -> Vec<&str> {
    let schema = resolve(schema);
    let mut names: Vec<&str> = schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.keys().map(String::as_str))
        .collect();
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        names.extend(evaluated_properties(part));
    }
    names
}

fn type_matches(value: &Value, kind: &str) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn is_ulid(text: &str) -> bool {
    text.len() == 26
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

fn matches_pattern(text: &str, pattern: &str) -> bool {
    match pattern {
        "^[0-9A-HJKMNP-TV-Z]{26}$" => is_ulid(text),
        local_gateway::openapi::ITEM_ID => text
            .split_once('-')
            .is_some_and(|(master, own)| is_ulid(master) && is_ulid(own)),
        "^[A-Za-z0-9_-]{1,64}$" => {
            (1..=64).contains(&text.len())
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        local_gateway::openapi::TEXT_PATTERN => {
            !text.trim().is_empty() && !text.chars().any(|c| c.is_control() && c != '\n')
        }
        local_gateway::openapi::CURSOR => {
            !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        local_gateway::openapi::ETAG => text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .is_some_and(|v| (1..=19).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())),
        "^[0-9]+$" => !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
        local_gateway::openapi::IF_MATCH | "^[!-~]+$" => true, // request headers only
        other => panic!("the schema checker does not know pattern {other}"),
    }
}

/// A string's or an array's length against the schema's `[min, max]` keywords.
fn check_length(
    schema: &Value,
    [min, max]: [&str; 2],
    length: usize,
    path: &str,
    out: &mut Vec<String>,
) {
    let length = length as u64;
    if schema
        .get(min)
        .and_then(Value::as_u64)
        .is_some_and(|m| length < m)
    {
        out.push(format!("{path}: length {length} under {min}"));
    }
    if schema
        .get(max)
        .and_then(Value::as_u64)
        .is_some_and(|m| length > m)
    {
        out.push(format!("{path}: length {length} over {max}"));
    }
}

fn check(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let schema = resolve(schema);
    if let Some(negated) = schema.get("not")
        && violations(value, negated).is_empty()
    {
        out.push(format!("{path}: matches a schema it must not"));
    }
    for part in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(value, part, path, out);
    }
    if schema.get("unevaluatedProperties") == Some(&Value::Bool(false))
        && let Some(object) = value.as_object()
    {
        let evaluated = evaluated_properties(schema);
        for name in object
            .keys()
            .filter(|name| !evaluated.contains(&name.as_str()))
        {
            out.push(format!("{path}: undocumented property {name}"));
        }
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array)
        && options
            .iter()
            .all(|option| !violations(value, option).is_empty())
    {
        out.push(format!("{path}: matches none of anyOf"));
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        out.push(format!("{path}: {value} is not {constant}"));
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|option| violations(value, option).is_empty())
            .count();
        if matching != 1 {
            let why: Vec<Vec<String>> = options.iter().map(|o| violations(value, o)).collect();
            out.push(format!("{path}: matches {matching} of oneOf: {why:?}"));
        }
        return;
    }
    if let Some(kind) = schema.get("type") {
        let kinds: Vec<&str> = match kind {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !kinds.iter().any(|k| type_matches(value, k)) {
            out.push(format!("{path}: {value} is not of type {kind}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    if let Some(number) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && number < min
        {
            out.push(format!("{path}: {number} < {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && number > max
        {
            out.push(format!("{path}: {number} > {max}"));
        }
    }
    if let Some(text) = value.as_str() {
        let length = text.chars().count();
        check_length(schema, ["minLength", "maxLength"], length, path, out);
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && !matches_pattern(text, pattern)
        {
            out.push(format!("{path}: {text:?} does not match {pattern}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = name.as_str()
                && !object.contains_key(name)
            {
                out.push(format!("{path}: missing required {name}"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(field_schema) => check(field, field_schema, &format!("{path}.{name}"), out),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(format!("{path}: undocumented property {name}"))
                }
                None => {}
            }
        }
    }
    if let Some(items) = value.as_array() {
        check_length(schema, ["minItems", "maxItems"], items.len(), path, out);
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item, item_schema, &format!("{path}[{i}]"), out);
        }
    }
}
