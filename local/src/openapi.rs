//! The OpenAPI 3.1 document of the API, built from the route table and the code's own enums
//! and limits, served locally at `/openapi.json`. A test holds every handler's real responses
//! to the schemas here, and every route of [`ROUTES`] to an operation.

use serde_json::{Map, Value, json};
use shared::audit::EventType;
use shared::catalog::{ItemStatus, MAX_AMOUNT_MINOR};
use shared::http::MAX_BODY_BYTES;
use shared::pagination::MAX_LIMIT;
use shared::routes::{ROUTES, Route};
use shared::supervisor_request::{
    Decision, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS, Priority, RequestStatusCode, RequestType,
};

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn string_enum(values: impl IntoIterator<Item = &'static str>) -> Value {
    json!({ "type": "string", "enum": values.into_iter().collect::<Vec<_>>() })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// Free text as `Text` accepts it: not blank, no control character but the newline.
pub const TEXT_PATTERN: &str = r"^(?=[\s\S]*\S)[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$";

fn text(max: usize) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": TEXT_PATTERN })
}

/// An edit body must set at least one of `fields`. Said with `minProperties` and in words,
/// not an `anyOf` of `required` lists: client generators (openapi-python-client among them)
/// type the former and give up on the latter (an untyped `Any`).
fn edit(fields: &[&str], properties: Value) -> Value {
    let mut schema = object(&[], properties);
    schema["minProperties"] = json!(1);
    schema["description"] = json!(format!(
        "Set at least one of: {} (`version` alone changes nothing and is refused)",
        fields.join(", ")
    ));
    schema
}

const ULID: &str = "^[0-9A-HJKMNP-TV-Z]{26}$";
/// `{masterItemId}-{ulid}` (`shared::ids::ItemId`).
pub const ITEM_ID: &str = "^[0-9A-HJKMNP-TV-Z]{26}-[0-9A-HJKMNP-TV-Z]{26}$";
const STORE_ID: &str = "^[A-Za-z0-9_-]{1,64}$";

fn page(item: &str) -> Value {
    object(
        &["items", "nextCursor"],
        json!({
            "items": { "type": "array", "items": schema_ref(item) },
            "nextCursor": {
                "type": ["string", "null"],
                "description": "Opaque; pass as `cursor` for the next page. Valid 24 h, for the same store, filters and caller only."
            }
        }),
    )
}

/// An example of every request body, checked against its schema by a test.
pub fn body_examples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "NewSupervisorRequest",
            json!({"requestType": "PRICE_OVERRIDE", "priority": "HIGH", "details": "Shelf tag says 2.49, till rings 2.99", "timeoutSeconds": 900}),
        ),
        (
            "SupervisorRequestEdit",
            json!({"priority": "URGENT", "details": "Shelf tag says 2.49, till rings 2.99 (aisle 4)"}),
        ),
        (
            "SupervisorResponse",
            json!({"decision": "APPROVED", "note": "Tag price honoured"}),
        ),
        (
            "NewMasterItem",
            json!({"name": "Whole milk 1 l", "description": "Semi-skimmed, 1 litre", "currency": "USD"}),
        ),
        ("MasterItemEdit", json!({"name": "Whole milk, 1 l"})),
        (
            "NewItem",
            json!({"vendor": "Valley Dairy", "price": {"amount": 129, "currency": "USD"}, "status": "ACTIVE"}),
        ),
        ("ItemEdit", json!({"status": "OUT_OF_STOCK"})),
        (
            "PinRequest",
            json!({"itemId": "01KAQ3Z9V8M4N6P2R5T7W9Y1B3-01KAQ4A2C4E6G8J0K2M4N6P8R0"}),
        ),
        (
            "ScoringWeights",
            json!({"priceWeight": 70, "statusWeight": 30, "activeScore": 100, "outOfStockScore": 25}),
        ),
    ]
}

fn schemas() -> Value {
    let mut schemas = schemas_without_examples();
    for (name, example) in body_examples() {
        schemas[name]["examples"] = json!([example]);
        if let Some(description) = body_description(name)
            && schemas[name]["description"].is_null()
        {
            schemas[name]["description"] = json!(description);
        }
    }
    schemas
}

fn body_description(name: &str) -> Option<&'static str> {
    Some(match name {
        "NewSupervisorRequest" => {
            "A request for a supervisor; `priority` defaults to NORMAL, `timeoutSeconds` to the deployment's (600)"
        }
        "SupervisorResponse" => {
            "A supervisor's answer to someone else's pending request, before its deadline"
        }
        "NewMasterItem" => "A product of the catalogue; its currency is fixed for its life",
        "NewItem" => {
            "A vendor's offering of the master item, in its currency; `status` defaults to ACTIVE"
        }
        "PinRequest" => "The item to prefer by hand: an eligible item of this master item",
        "ScoringWeights" => "The whole set; the defaults are 70, 30, 100, 25",
        _ => return None,
    })
}

fn schemas_without_examples() -> Value {
    let gateway_error = json!({
        "type": "object",
        "required": ["message"],
        "properties": { "message": { "type": "string" } },
        "additionalProperties": false,
        "description": "Answered by API Gateway itself, before any function runs"
    });
    let date_time = json!({ "type": "string", "format": "date-time" });
    let score = json!({ "type": "number", "minimum": 0, "maximum": 100 });
    let version = json!({ "type": "integer", "minimum": 1 });
    // What a client expects: any number; one the resource is not at is a 412.
    let expected_version = json!({ "type": "integer", "minimum": 0 });
    json!({
        "GatewayError": gateway_error,
        "Error": object(&["error"], json!({
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": false,
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "requestId": { "type": "string", "description": "API Gateway's id of the request: quote it when reporting a problem" },
                    "fields": { "type": "array", "items": object(&["field", "message"], json!({
                        "field": { "type": "string" }, "message": { "type": "string" }
                    })) }
                }
            }
        })),
        "Priority": string_enum(Priority::ALL.map(Priority::as_str)),
        "RequestType": string_enum(RequestType::ALL.map(RequestType::as_str)),
        "RequestStatusCode": string_enum(RequestStatusCode::ALL.map(RequestStatusCode::as_str)),
        "Decision": string_enum(Decision::ALL.map(Decision::as_str)),
        "SupervisorRequest": object(
            &["storeId", "requestId", "requestType", "priority", "details", "status", "statusCode", "requestedBy", "createdAt", "deadline", "updatedAt", "version"],
            json!({
                "storeId": { "type": "string", "pattern": STORE_ID },
                "requestId": { "type": "string", "pattern": ULID },
                "requestType": schema_ref("RequestType"),
                "priority": schema_ref("Priority"),
                "details": text(1000),
                "status": string_enum(["PENDING", "NOT_PENDING"]),
                "statusCode": schema_ref("RequestStatusCode"),
                "requestedBy": { "type": "string" },
                "createdAt": date_time, "deadline": date_time, "updatedAt": date_time,
                "version": version,
                "response": object(&["decision", "respondedBy", "respondedAt"], json!({
                    "decision": schema_ref("Decision"),
                    "respondedBy": { "type": "string" },
                    "respondedAt": date_time,
                    "note": text(500)
                }))
            }),
        ),
        "NewSupervisorRequest": object(&["requestType", "details"], json!({
            "requestType": schema_ref("RequestType"),
            "priority": schema_ref("Priority"),
            "details": text(1000),
            "timeoutSeconds": { "type": "integer", "minimum": MIN_TIMEOUT_SECONDS, "maximum": MAX_TIMEOUT_SECONDS }
        })),
        "SupervisorRequestEdit": edit(&["priority", "details"], json!({
            "priority": schema_ref("Priority"),
            "details": text(1000),
            "version": expected_version
        })),
        "SupervisorResponse": object(&["decision"], json!({
            "decision": schema_ref("Decision"),
            "note": text(500)
        })),
        "SupervisorRequestPage": page("SupervisorRequest"),
        "RequestEvent": object(
            &["storeId", "requestId", "version", "type", "at", "actor", "changes"],
            json!({
                "storeId": { "type": "string", "pattern": STORE_ID },
                "requestId": { "type": "string", "pattern": ULID },
                "version": { "type": "integer", "minimum": 1, "description": "The request's version after the change (for a withdrawal or discard: one past its last)" },
                "type": string_enum(EventType::ALL.map(EventType::as_str)),
                "at": date_time,
                "actor": object(&["subject", "role"], json!({
                    "subject": { "type": "string" },
                    "role": string_enum(["associate", "supervisor", "admin", "system"])
                })),
                "changes": { "type": "array", "items": object(&["field"], json!({
                    "field": { "type": "string" },
                    "from": { "type": ["string", "null"] },
                    "to": { "type": ["string", "null"] }
                })) },
                "decision": schema_ref("Decision"),
                "note": text(500)
            }),
        ),
        "RequestEventPage": page("RequestEvent"),
        "Currency": {
            "type": "string",
            "enum": shared::catalog::Currency::codes().collect::<Vec<_>>(),
            "description": "ISO 4217 code"
        },
        "Money": object(&["amount", "currency"], json!({
            "amount": { "type": "integer", "minimum": 0, "maximum": MAX_AMOUNT_MINOR, "description": "Minor units (cents)" },
            "currency": schema_ref("Currency")
        })),
        "ItemStatus": string_enum(ItemStatus::ALL.map(ItemStatus::as_str)),
        "Pin": object(&["itemId", "pinnedBy", "pinnedAt"], json!({
            "itemId": { "type": "string", "pattern": ITEM_ID },
            "pinnedBy": { "type": "string" },
            "pinnedAt": date_time
        })),
        "MasterItem": object(
            &["storeId", "masterItemId", "name", "currency", "pin", "itemCount", "version", "createdAt", "updatedAt"],
            json!({
                "storeId": { "type": "string", "pattern": STORE_ID },
                "masterItemId": { "type": "string", "pattern": ULID },
                "name": text(200),
                "description": text(1000),
                "currency": schema_ref("Currency"),
                "pin": { "oneOf": [schema_ref("Pin"), { "type": "null" }] },
                "itemCount": { "type": "integer", "minimum": 0 },
                "version": version,
                "createdAt": date_time, "updatedAt": date_time
            }),
        ),
        "NewMasterItem": object(&["name", "currency"], json!({
            "name": text(200), "description": text(1000), "currency": schema_ref("Currency")
        })),
        "MasterItemEdit": edit(&["name", "description"], json!({
            "name": text(200), "description": text(1000), "version": expected_version
        })),
        "MasterItemPage": page("MasterItem"),
        "Item": object(
            &["storeId", "itemId", "masterItemId", "vendor", "price", "status", "version", "createdAt", "updatedAt"],
            json!({
                "storeId": { "type": "string", "pattern": STORE_ID },
                "itemId": {
                    "type": "string",
                    "pattern": ITEM_ID,
                    "description": "`{masterItemId}-{ulid}`: an item's id names its master item"
                },
                "masterItemId": { "type": "string", "pattern": ULID },
                "vendor": text(200),
                "price": schema_ref("Money"),
                "status": schema_ref("ItemStatus"),
                "version": version,
                "createdAt": date_time, "updatedAt": date_time
            }),
        ),
        "NewItem": object(&["vendor", "price"], json!({
            "vendor": text(200), "price": schema_ref("Money"), "status": schema_ref("ItemStatus")
        })),
        "ItemEdit": edit(&["vendor", "price", "status"], json!({
            "vendor": text(200), "price": schema_ref("Money"), "status": schema_ref("ItemStatus"), "version": expected_version
        })),
        "ItemPage": page("Item"),
        "PinRequest": object(&["itemId"], json!({ "itemId": { "type": "string", "pattern": ITEM_ID } })),
        "ScoringWeights": {
            "type": "object",
            "required": ["priceWeight", "statusWeight", "activeScore", "outOfStockScore"],
            "additionalProperties": false,
            "properties": {
                "priceWeight": { "type": "integer", "minimum": 0, "maximum": 100 },
                "statusWeight": { "type": "integer", "minimum": 0, "maximum": 100 },
                "activeScore": { "type": "integer", "minimum": 0, "maximum": 100 },
                "outOfStockScore": { "type": "integer", "minimum": 0, "maximum": 100, "description": "At most activeScore" }
            },
            "not": {
                "description": "priceWeight and statusWeight are not both 0",
                "properties": { "priceWeight": { "const": 0 }, "statusWeight": { "const": 0 } },
                "required": ["priceWeight", "statusWeight"]
            }
        },
        "ScoreBreakdown": object(&["priceFactor", "statusFactor", "priceContribution", "statusContribution"], json!({
            "priceFactor": score, "statusFactor": score, "priceContribution": score, "statusContribution": score
        })),
        "RankedCandidate": object(&["rank", "itemId", "vendor", "price", "status", "score", "breakdown"], json!({
            "rank": { "type": "integer", "minimum": 1 },
            "itemId": { "type": "string", "pattern": ITEM_ID },
            "vendor": text(200),
            "price": schema_ref("Money"),
            "status": schema_ref("ItemStatus"),
            "score": score,
            "breakdown": schema_ref("ScoreBreakdown")
        })),
        "IneligibleCandidate": object(&["itemId", "vendor", "price", "status", "reason"], json!({
            "itemId": { "type": "string", "pattern": ITEM_ID },
            "vendor": text(200),
            "price": schema_ref("Money"),
            "status": schema_ref("ItemStatus"),
            "reason": {
                "type": "object",
                "required": ["code"],
                "properties": {
                    "code": string_enum(["STATUS_NOT_ELIGIBLE", "CURRENCY_MISMATCH"]),
                    "status": schema_ref("ItemStatus"),
                    "currency": schema_ref("Currency")
                },
                "additionalProperties": false
            }
        })),
        "PreferredItem": object(
            &["masterItemId", "currency", "selection", "preferred", "pin", "weights", "tieBreak", "candidates", "ineligible"],
            json!({
                "masterItemId": { "type": "string", "pattern": ULID },
                "currency": schema_ref("Currency"),
                "selection": string_enum(["PINNED", "SCORED"]),
                "preferred": schema_ref("RankedCandidate"),
                "pin": { "oneOf": [{ "type": "null" }, {
                    "type": "object",
                    "required": ["itemId", "pinnedBy", "pinnedAt", "honoured"],
                    "additionalProperties": false,
                    "properties": {
                        "itemId": { "type": "string", "pattern": ITEM_ID },
                        "pinnedBy": { "type": "string" },
                        "pinnedAt": date_time,
                        "honoured": { "type": "boolean" },
                        "ignoredBecause": string_enum(["ITEM_DELETED", "ITEM_NOT_ELIGIBLE"])
                    }
                }] },
                "weights": schema_ref("ScoringWeights"),
                "tieBreak": { "type": "string" },
                "candidates": { "type": "array", "items": schema_ref("RankedCandidate") },
                "ineligible": { "type": "array", "items": schema_ref("IneligibleCandidate") }
            }),
        ),
    })
}

/// What the document says of one route beyond its method and path.
struct Operation {
    summary: &'static str,
    tag: &'static str,
    request: Option<&'static str>,
    success: u16,
    response: Option<&'static str>,
    headers: &'static [&'static str],
}

/// The operation of each function; `None` for a function the document does not know, which
/// the tests refuse.
fn operation(function: &str) -> Option<Operation> {
    const REQ: &str = "Supervisor requests";
    const CAT: &str = "Preferred items";
    let op = |summary, tag, request, success, response, headers| Operation {
        summary,
        tag,
        request,
        success,
        response,
        headers,
    };
    Some(match function {
        "create-request" => op(
            "Raise a supervisor request",
            REQ,
            Some("NewSupervisorRequest"),
            201,
            Some("SupervisorRequest"),
            &["Idempotency-Key"],
        ),
        "list-requests" => op(
            "List the queue or the history",
            REQ,
            None,
            200,
            Some("SupervisorRequestPage"),
            &[],
        ),
        "get-request" => op(
            "Read one request",
            REQ,
            None,
            200,
            Some("SupervisorRequest"),
            &[],
        ),
        "update-request" => op(
            "Edit a pending request",
            REQ,
            Some("SupervisorRequestEdit"),
            200,
            Some("SupervisorRequest"),
            &["If-Match"],
        ),
        "delete-request" => op(
            "Withdraw (its creator) or discard (a supervisor) a pending request",
            REQ,
            None,
            204,
            None,
            &["If-Match"],
        ),
        "list-request-events" => op(
            "A request's audit trail, in order",
            REQ,
            None,
            200,
            Some("RequestEventPage"),
            &[],
        ),
        "list-store-events" => op(
            "The store's audit trail, newest first (admins)",
            REQ,
            None,
            200,
            Some("RequestEventPage"),
            &[],
        ),
        "respond-to-request" => op(
            "Approve or deny a pending request",
            REQ,
            Some("SupervisorResponse"),
            200,
            Some("SupervisorRequest"),
            &[],
        ),
        "create-master-item" => op(
            "Add a master item",
            CAT,
            Some("NewMasterItem"),
            201,
            Some("MasterItem"),
            &["Idempotency-Key"],
        ),
        "list-master-items" => op(
            "List master items",
            CAT,
            None,
            200,
            Some("MasterItemPage"),
            &[],
        ),
        "get-master-item" => op(
            "Read a master item",
            CAT,
            None,
            200,
            Some("MasterItem"),
            &[],
        ),
        "update-master-item" => op(
            "Edit a master item",
            CAT,
            Some("MasterItemEdit"),
            200,
            Some("MasterItem"),
            &["If-Match"],
        ),
        "delete-master-item" => op(
            "Delete a master item without items",
            CAT,
            None,
            204,
            None,
            &["If-Match"],
        ),
        "create-item" => op(
            "Add a vendor item to a master item",
            CAT,
            Some("NewItem"),
            201,
            Some("Item"),
            &["Idempotency-Key"],
        ),
        "list-items" => op(
            "List a master item's items",
            CAT,
            None,
            200,
            Some("ItemPage"),
            &[],
        ),
        "get-item" => op("Read an item", CAT, None, 200, Some("Item"), &[]),
        "update-item" => op(
            "Edit an item",
            CAT,
            Some("ItemEdit"),
            200,
            Some("Item"),
            &["If-Match"],
        ),
        "delete-item" => op("Delete an item", CAT, None, 204, None, &["If-Match"]),
        "get-preferred-item" => op(
            "The preferred item, explained",
            CAT,
            None,
            200,
            Some("PreferredItem"),
            &[],
        ),
        "pin-preferred-item" => op(
            "Pin a preferred item by hand",
            CAT,
            Some("PinRequest"),
            200,
            Some("Pin"),
            &[],
        ),
        "unpin-preferred-item" => op("Remove the pin", CAT, None, 204, None, &[]),
        "get-scoring-weights" => op(
            "Read the scoring weights",
            CAT,
            None,
            200,
            Some("ScoringWeights"),
            &[],
        ),
        "put-scoring-weights" => op(
            "Replace the scoring weights",
            CAT,
            Some("ScoringWeights"),
            200,
            Some("ScoringWeights"),
            &["If-Match"],
        ),
        _ => return None,
    })
}

fn query_parameter(route: &Route, name: &str) -> Value {
    let schema = match name {
        "status" if route.function == "list-items" => schema_ref("ItemStatus"),
        "status" => {
            json!({ "type": "string", "enum": ["PENDING", "NOT_PENDING"], "default": "PENDING" })
        }
        "priority" => schema_ref("Priority"),
        "requestedBy" => json!({ "type": "string", "enum": ["me"] }),
        "decision" => schema_ref("Decision"),
        "order" => json!({ "type": "string", "enum": ["queue", "newest"], "default": "queue" }),
        "since" | "until" => json!({ "type": "string", "format": "date-time" }),
        "limit" => json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 25 }),
        _ => json!({ "type": "string" }),
    };
    let description = match name {
        "since" => "Creation time, inclusive (RFC 3339)",
        "until" => "Creation time, exclusive (RFC 3339)",
        "cursor" => "`nextCursor` of the previous page",
        "status" if route.function == "list-items" => "Only items of this status",
        "priority" => "Only requests of this priority (a key condition)",
        "requestedBy" => "`me`: only the caller's own requests (an index, not a filter)",
        "decision" => "History only (`status=NOT_PENDING`): answered with this decision",
        "order" => {
            "`queue` (default: most urgent, then oldest first) or, for history, `newest` (most recently closed first; with it only `decision`, `limit` and `cursor` apply, `since`, `until`, `priority` and `requestedBy` are a 400)"
        }
        "status" => "`PENDING` (the queue, default) or `NOT_PENDING` (history)",
        _ => "",
    };
    let example = match name {
        "status" if route.function == "list-items" => json!("ACTIVE"),
        "status" => json!("PENDING"),
        "priority" => json!("URGENT"),
        "requestedBy" => json!("me"),
        "since" => json!("2026-11-23T09:30:00Z"),
        "until" => json!("2026-11-24T00:00:00Z"),
        "decision" => json!("APPROVED"),
        "order" => json!("newest"),
        "limit" => json!(25),
        _ => json!("the nextCursor of the previous page"),
    };
    json!({ "name": name, "in": "query", "required": false, "schema": schema, "description": description, "example": example })
}

fn header_parameter(name: &str) -> Value {
    let (description, schema, example) = match name {
        "If-Match" => (
            "The ETag of the version being changed, as this API sent it; `*` for whatever version is current",
            json!({ "type": "string", "pattern": "^((W/)?\"?[0-9]{1,19}\"?|\\*)$" }),
            "\"3\"",
        ),
        _ => (
            "Makes retries of this create safe for 24 h; a key belongs to its caller",
            json!({ "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$" }),
            "till-4-2026-12-02-0001",
        ),
    };
    json!({ "name": name, "in": "header", "required": false, "schema": schema, "description": description, "example": example })
}

fn path_parameters(route: &Route) -> Vec<Value> {
    route
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (pattern, example) = match name {
                "storeId" => (STORE_ID, "store-1"),
                "itemId" => (
                    ITEM_ID,
                    "01KAQ3Z9V8M4N6P2R5T7W9Y1B3-01KAQ4A2C4E6G8J0K2M4N6P8R0",
                ),
                _ => (ULID, "01KAQ3Z9V8M4N6P2R5T7W9Y1B3"),
            };
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "pattern": pattern }, "example": example })
        })
        .collect()
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema_ref("Error") } } })
}

/// The error answers an operation can give, and only those.
fn error_statuses(route: &Route, op: &Operation) -> Vec<(&'static str, &'static str)> {
    let has_body = op.request.is_some();
    let names_a_resource = route.path.contains("Id}");
    let conditional = op.headers.contains(&"If-Match");
    let can_conflict = matches!(
        route.function,
        // Idempotency-Key in flight; request moves; a master with items; pins; no candidate.
        "create-request"
            | "create-master-item"
            | "create-item"
            | "update-request"
            | "respond-to-request"
            | "delete-request"
            | "delete-master-item"
            | "pin-preferred-item"
            | "get-preferred-item"
    );
    let mut statuses = vec![(
        "400",
        "Malformed request: syntax, path ids, query parameters (unknown ones named), cursor",
    )];
    if names_a_resource {
        statuses.push(("404", "No such resource in this store"));
    }
    if can_conflict {
        statuses.push((
            "409",
            "Not in a state that allows this (the code says which)",
        ));
    }
    if conditional {
        statuses.push(("412", "If-Match / version is stale"));
    }
    if has_body {
        statuses.push(("413", "Body too large"));
        statuses.push(("415", "Body is not application/json"));
        statuses.push((
            "422",
            "Well-formed but invalid: every field at fault is named",
        ));
    }
    if route.method == "PATCH" {
        statuses.push(("428", "If-Match or version required"));
    }
    statuses.push((
        "503",
        "Store busy or unreachable; retry after Retry-After seconds",
    ));
    statuses
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let Some(op) = operation(route.function) else {
            continue;
        };
        let mut parameters = path_parameters(route);
        // The query parameters come from the route table, which the handlers enforce.
        parameters.extend(route.query.iter().map(|q| query_parameter(route, q)));
        parameters.extend(op.headers.iter().map(|h| header_parameter(h)));
        let mut responses = Map::new();
        let success = match op.response {
            Some(schema) => json!({
                "description": "Success",
                "content": { "application/json": { "schema": schema_ref(schema) } }
            }),
            None => json!({ "description": "Done, no body" }),
        };
        responses.insert(op.success.to_string(), success);
        responses.insert(
            "401".into(),
            json!({
                "description": "No token (answered by API Gateway)",
                "content": { "application/json": { "schema": schema_ref("GatewayError") } }
            }),
        );
        responses.insert(
            "403".into(),
            json!({
                "description": "Token denied (API Gateway), or not allowed for this store or role",
                "content": { "application/json": { "schema": {
                    "oneOf": [schema_ref("Error"), schema_ref("GatewayError")]
                } } }
            }),
        );
        for (status, description) in error_statuses(route, &op) {
            responses.insert(status.into(), error_response(description));
        }
        let mut operation = json!({
            "operationId": route.function,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(schema) = op.request {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema_ref(schema) } }
            });
        }
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[route.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Store Services",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("Supervisor requests and preferred items for retail stores. Every route needs a Bearer JWT whose claims carry the caller's role and stores. Errors are `{{\"error\":{{\"code\",\"message\"}}}}`. Request bodies are at most {MAX_BODY_BYTES} bytes.")
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearerAuth": [] }],
        "tags": [{ "name": "Supervisor requests" }, { "name": "Preferred items" }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } }
        }
    })
}

/// Whether the document describes `function`.
pub fn documents(function: &str) -> bool {
    operation(function).is_some()
}
