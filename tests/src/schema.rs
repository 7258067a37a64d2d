//! Holds responses to the OpenAPI document: a small JSON Schema checker for the subset the
//! document uses (`$ref`, `type`, `enum`, `required`, `properties`, `additionalProperties`,
//! `items`, `oneOf`, `anyOf`, `not`, `const`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! and `pattern` for the patterns the document names).

use std::sync::OnceLock;

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

/// Every way `value` breaks `schema`, with JSON paths.
pub fn violations(value: &Value, schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(value, schema, "$", &mut out);
    out
}

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(&document()["components"]["schemas"][name])
        }
        None => schema,
    }
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
        r#"^(W/)?"?[0-9]{1,19}"?$"# | "^[!-~]+$" => true, // request headers only
        other => panic!("the schema checker does not know pattern {other}"),
    }
}

fn check(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let schema = resolve(schema);
    if let Some(negated) = schema.get("not")
        && violations(value, negated).is_empty()
    {
        out.push(format!("{path}: matches a schema it must not"));
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
            out.push(format!("{path}: matches {matching} of oneOf"));
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
        let length = text.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|min| length < min)
        {
            out.push(format!("{path}: shorter than minLength"));
        }
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|max| length > max)
        {
            out.push(format!("{path}: longer than maxLength"));
        }
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
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(item, item_schema, &format!("{path}[{i}]"), out);
        }
    }
}
