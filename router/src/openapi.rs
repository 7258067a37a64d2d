//! The OpenAPI 3.1 document of the API, built from the route table and the code's own enums
//! and limits, served locally at `/openapi.json` (printed by the `openapi` binary). A test
//! holds every handler's real responses to the schemas here, and every route of [`ROUTES`] to
//! an operation.
//!
//! Each operation's error responses come from its route's kinds of failure
//! ([`shared::edge::routes::Route::failures`]): the status and `code` of each error are those of
//! `ApiError` itself ([`Failure::errors`]), so a status or code listed here is one the error
//! mapping gives, and the tests fail on any error they see that is not listed for its route.
//! Statuses API Gateway answers itself are listed with its `{"message"}` body.

use serde_json::{Map, Value, json};
use shared::domain::audit::EventType;
use shared::domain::catalog::{ItemStatus, MAX_AMOUNT_MINOR};
use shared::domain::report::{COUNT_NAMES, GroupBy, WEEKDAYS};
use shared::domain::supervisor_request::{
    Decision, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS, Priority, RequestStatus, RequestStatusCode,
    RequestType,
};
use shared::edge::error::{ApiError, Failure};
use shared::edge::http::MAX_BODY_BYTES;
use shared::edge::pagination::MAX_LIMIT;
use shared::edge::routes::{ROUTES, Route};

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
/// `{masterItemId}-{ulid}` (`shared::domain::ids::ItemId`).
pub const ITEM_ID: &str = "^[0-9A-HJKMNP-TV-Z]{26}-[0-9A-HJKMNP-TV-Z]{26}$";
const STORE_ID: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A sealed cursor: base64url without padding (`shared::store::cursor`).
pub const CURSOR: &str = "^[A-Za-z0-9_-]+$";
const CURSOR_EXAMPLE: &str = "AZPq3u0TgU6pN4ZrXo9fW2kVb1cJmE7sLdQyHa8tRn5wKxG0vCzB-i_j";

fn page(item: &str) -> Value {
    object(
        &["items", "nextCursor"],
        json!({
            "items": { "type": "array", "items": schema_ref(item) },
            "nextCursor": {
                "oneOf": [schema_ref("Cursor"), { "type": "null" }],
                "description": "`null` on the last page"
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
            "NewAnswer",
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
        "NewAnswer" => {
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
        "FieldError": object(&["field", "message"], json!({
            "field": { "type": "string", "description": "A JSON path into the body (`price.amount`), or a query parameter's name" },
            "message": { "type": "string" }
        })),
        "Cursor": {
            "type": "string",
            "pattern": CURSOR,
            "description": "Opaque (encrypted and authenticated): pass a page's `nextCursor` as `cursor` for the next page. Valid 24 h, for the same store, filters and caller only.",
            "examples": [CURSOR_EXAMPLE]
        },
        "Priority": string_enum(Priority::ALL.map(Priority::as_str)),
        "RequestType": string_enum(RequestType::ALL.map(RequestType::as_str)),
        "RequestStatusCode": string_enum(RequestStatusCode::ALL.map(RequestStatusCode::as_str)),
        "Decision": string_enum(Decision::ALL.map(Decision::as_str)),
        "RequestStatus": {
            "type": "string",
            "enum": [RequestStatus::Pending.as_str(), RequestStatus::NotPending.as_str()],
            "description": "`PENDING`: the queue; `NOT_PENDING`: history (answered or timed out)"
        },
        "Answer": object(&["decision", "respondedBy", "respondedAt"], json!({
            "decision": schema_ref("Decision"),
            "respondedBy": { "type": "string" },
            "respondedAt": date_time,
            "note": text(500)
        })),
        "SupervisorRequest": object(
            &["storeId", "requestId", "requestType", "priority", "details", "status", "statusCode", "requestedBy", "createdAt", "deadline", "updatedAt", "version"],
            json!({
                "storeId": { "type": "string", "pattern": STORE_ID },
                "requestId": { "type": "string", "pattern": ULID },
                "requestType": schema_ref("RequestType"),
                "priority": schema_ref("Priority"),
                "details": text(1000),
                "status": schema_ref("RequestStatus"),
                "statusCode": schema_ref("RequestStatusCode"),
                "requestedBy": { "type": "string" },
                "createdAt": date_time, "deadline": date_time, "updatedAt": date_time,
                "version": version,
                "response": {
                    "$ref": "#/components/schemas/Answer",
                    "description": "Once answered (`RESPONSE_RECEIVED`)"
                }
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
        "NewAnswer": object(&["decision"], json!({
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
                "changes": { "type": "array", "items": schema_ref("FieldChange") },
                "decision": schema_ref("Decision"),
                "note": text(500)
            }),
        ),
        "FieldChange": object(&["field", "from", "to"], json!({
            "field": { "type": "string" },
            "from": { "type": ["string", "null"], "description": "`null`: the field was absent before" },
            "to": { "type": ["string", "null"], "description": "`null`: the field is absent after" }
        })),
        "RequestEventPage": page("RequestEvent"),
        "ReportCounts": object(&counts_names(), counts_properties()),
        "ReportTally": report_tally(&[], json!({})),
        "ReportBucket": report_tally(&["start", "end"], json!({
            "start": { "type": "string", "format": "date-time", "description": "Local time with its offset, e.g. 2026-11-01T00:00:00-06:00" },
            "end": { "type": "string", "format": "date-time", "description": "Exclusive; the next bucket's start" }
        })),
        "SupervisorRequestReport": object(
            &["storeId", "from", "to", "tz", "groupBy", "totals", "buckets", "supervisors", "busyHours"],
            json!({
                "storeId": { "type": "string", "pattern": STORE_ID },
                "from": { "type": "string", "format": "date" },
                "to": { "type": "string", "format": "date" },
                "tz": { "type": "string", "description": "IANA time zone the buckets are in" },
                "groupBy": string_enum(GroupBy::ALL.map(GroupBy::as_str)),
                "totals": schema_ref("ReportTally"),
                "buckets": {
                    "type": "array",
                    "items": schema_ref("ReportBucket"),
                    "description": "Every day or hour of the range, in order, zeros included; an hourly daylight-saving day has 23 or 25"
                },
                "supervisors": {
                    "type": "array",
                    "description": "Who answered, most answers first (then by subject)",
                    "items": object(&["subject", "answers", "approved", "denied", "medianTimeToAnswerMs"], json!({
                        "subject": { "type": "string" },
                        "answers": count(),
                        "approved": count(),
                        "denied": count(),
                        "medianTimeToAnswerMs": millis("Nearest-rank median of their answers' times to answer")
                    }))
                },
                "busyHours": object(&["weekdays", "created"], json!({
                    "weekdays": {
                        "type": "array", "minItems": 7, "maxItems": 7,
                        "items": string_enum(WEEKDAYS)
                    },
                    "created": {
                        "type": "array", "minItems": 7, "maxItems": 7,
                        "description": "Requests created, by local weekday (Monday first) and local hour (0-23)",
                        "items": { "type": "array", "minItems": 24, "maxItems": 24, "items": count() }
                    }
                }))
            }),
        ),
        "Currency": {
            "type": "string",
            "enum": shared::domain::catalog::Currency::codes().collect::<Vec<_>>(),
            "description": "ISO 4217 code"
        },
        "Money": object(&["amount", "currency"], json!({
            "amount": { "type": "integer", "minimum": 0, "maximum": MAX_AMOUNT_MINOR, "description": "Minor units (cents)" },
            "currency": schema_ref("Currency")
        })),
        "ItemStatus": string_enum(ItemStatus::ALL.map(ItemStatus::as_str)),
        // Open (no `additionalProperties: false`): `PinState` extends it, which a closed
        // schema would refuse; `PinState` closes itself with `unevaluatedProperties`.
        "Pin": {
            "type": "object",
            "required": ["itemId", "pinnedBy", "pinnedAt"],
            "properties": {
                "itemId": { "type": "string", "pattern": ITEM_ID },
                "pinnedBy": { "type": "string" },
                "pinnedAt": date_time
            },
            "description": "A manual choice of the preferred item"
        },
        "PinState": {
            "allOf": [schema_ref("Pin"), {
                "type": "object",
                "required": ["honoured"],
                "properties": {
                    "honoured": { "type": "boolean", "description": "Whether the pin decides the preferred item" },
                    "ignoredBecause": string_enum(["ITEM_DELETED", "ITEM_NOT_ELIGIBLE"])
                }
            }],
            "unevaluatedProperties": false,
            "description": "The pin, and whether it is honoured"
        },
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
                "pin": { "oneOf": [schema_ref("PinState"), { "type": "null" }] },
                "weights": schema_ref("ScoringWeights"),
                "tieBreak": { "type": "string" },
                "candidates": { "type": "array", "items": schema_ref("RankedCandidate") },
                "ineligible": { "type": "array", "items": schema_ref("IneligibleCandidate") }
            }),
        ),
    })
}

fn count() -> Value {
    json!({ "type": "integer", "minimum": 0 })
}

fn millis(description: &str) -> Value {
    json!({ "type": ["integer", "null"], "minimum": 0, "description": format!("{description}; `null` without answers") })
}

/// The properties of a report's slice (`shared::domain::report::Counts`): its counts, then
/// its times to answer.
fn counts_names() -> Vec<&'static str> {
    COUNT_NAMES.into_iter().chain(["timeToAnswerMs"]).collect()
}

fn counts_properties() -> Value {
    let mut properties: Map<String, Value> = COUNT_NAMES
        .into_iter()
        .map(|name| (name.to_owned(), count()))
        .collect();
    properties.insert(
        "timeToAnswerMs".into(),
        object(&["count", "p50", "p90", "max"], json!({
            "count": { "type": "integer", "minimum": 0, "description": "Answers timed (an answer to a request whose creation is no longer kept is counted, not timed)" },
            "p50": millis("Exact nearest-rank 50th percentile of creation to answer"),
            "p90": millis("Exact nearest-rank 90th percentile"),
            "max": millis("The longest")
        })),
    );
    Value::Object(properties)
}

/// Counts, split by priority and request type (as raised), plus `extra` properties.
fn report_tally(extra_required: &[&str], extra: Value) -> Value {
    let split = |keys: Vec<&str>| {
        let properties: Map<String, Value> = keys
            .iter()
            .map(|key| (key.to_string(), schema_ref("ReportCounts")))
            .collect();
        object(&keys, Value::Object(properties))
    };
    let mut properties = counts_properties();
    properties["byPriority"] = split(Priority::ALL.map(Priority::as_str).to_vec());
    properties["byRequestType"] = split(RequestType::ALL.map(RequestType::as_str).to_vec());
    for (name, schema) in extra.as_object().into_iter().flatten() {
        properties[name] = schema.clone();
    }
    let mut required: Vec<&str> = extra_required.to_vec();
    required.extend(counts_names());
    required.extend(["byPriority", "byRequestType"]);
    object(&required, properties)
}

/// What the document says of one route beyond its method, path, query and failures.
struct Operation {
    summary: &'static str,
    description: Option<&'static str>,
    tag: &'static str,
    request: Option<&'static str>,
    success: u16,
    response: Option<&'static str>,
    /// The success carries the resource's `ETag` (its version).
    etag: bool,
}

const REQUESTS: &str = "Supervisor requests";
const CATALOG: &str = "Preferred items";
const REPORTS: &str = "Reports";

/// What every create says of `Idempotency-Key`; the catalogue's creates add their shared
/// key space.
const IDEMPOTENT_CREATE: &str = "Send `Idempotency-Key` to make retries safe for 24 hours: a retry with the same key and the same JSON body answers the first create's 201 again (`Idempotent-Replayed: true`), and creates nothing. Bodies are compared as JSON, so whitespace, key order and number spelling (`129` or `129.0`) do not matter; the same key with another body is a 422. A key belongs to its caller and store.";
const IDEMPOTENT_CATALOG_CREATE: &str = "Send `Idempotency-Key` to make retries safe for 24 hours: a retry with the same key and the same JSON body answers the first create's 201 again (`Idempotent-Replayed: true`), and creates nothing. Bodies are compared as JSON, so whitespace, key order and number spelling (`129` or `129.0`) do not matter; the same key with another body is a 422. A key belongs to its caller and store, and master-item and item creates share one key space: a key used to create a master item is refused (422) on an item create, and the reverse, so use a new key for every create.";

/// The operation of each function; `None` for a function the document does not know, which
/// the tests refuse.
fn operation(function: &str) -> Option<Operation> {
    let op = |summary, tag, request, success, response, etag| Operation {
        summary,
        description: None,
        tag,
        request,
        success,
        response,
        etag,
    };
    let with = |operation: Operation, description| Operation {
        description: Some(description),
        ..operation
    };
    Some(match function {
        "create-request" => with(
            op(
                "Raise a supervisor request",
                REQUESTS,
                Some("NewSupervisorRequest"),
                201,
                Some("SupervisorRequest"),
                true,
            ),
            IDEMPOTENT_CREATE,
        ),
        "list-requests" => op(
            "List the queue or the history",
            REQUESTS,
            None,
            200,
            Some("SupervisorRequestPage"),
            false,
        ),
        "get-request" => op(
            "Read one request",
            REQUESTS,
            None,
            200,
            Some("SupervisorRequest"),
            true,
        ),
        "update-request" => op(
            "Edit a pending request",
            REQUESTS,
            Some("SupervisorRequestEdit"),
            200,
            Some("SupervisorRequest"),
            true,
        ),
        "delete-request" => op(
            "Withdraw (its creator) or discard (a supervisor) a pending request",
            REQUESTS,
            None,
            204,
            None,
            false,
        ),
        "list-request-events" => op(
            "A request's audit trail, in order",
            REQUESTS,
            None,
            200,
            Some("RequestEventPage"),
            false,
        ),
        "list-store-events" => op(
            "The store's audit trail, newest first (admins)",
            REQUESTS,
            None,
            200,
            Some("RequestEventPage"),
            false,
        ),
        "get-request-report" => with(
            op(
                "How the queue behaved: counts, times to answer, supervisors, busy hours (supervisors, admins)",
                REPORTS,
                None,
                200,
                Some("SupervisorRequestReport"),
                false,
            ),
            "Per day or hour of the store's local time (`tz`, daylight-saving days included), over `from`..`to` (local dates, both inclusive, at most 92 days; by hour at most 31): requests created, approved, denied, timed out, withdrawn and discarded, each counted where its audit event happened, so every count equals the events the events routes return for the range; exact nearest-rank times to answer (from the request's creation); the same split by priority and request type as raised; per supervisor; and requests created by weekday and hour.",
        ),
        "respond-to-request" => op(
            "Approve or deny a pending request",
            REQUESTS,
            Some("NewAnswer"),
            200,
            Some("SupervisorRequest"),
            true,
        ),
        "create-master-item" => with(
            op(
                "Add a master item",
                CATALOG,
                Some("NewMasterItem"),
                201,
                Some("MasterItem"),
                true,
            ),
            IDEMPOTENT_CATALOG_CREATE,
        ),
        "list-master-items" => op(
            "List master items",
            CATALOG,
            None,
            200,
            Some("MasterItemPage"),
            false,
        ),
        "get-master-item" => op(
            "Read a master item",
            CATALOG,
            None,
            200,
            Some("MasterItem"),
            true,
        ),
        "update-master-item" => op(
            "Edit a master item",
            CATALOG,
            Some("MasterItemEdit"),
            200,
            Some("MasterItem"),
            true,
        ),
        "delete-master-item" => op(
            "Delete a master item without items",
            CATALOG,
            None,
            204,
            None,
            false,
        ),
        "create-item" => with(
            op(
                "Add a vendor item to a master item",
                CATALOG,
                Some("NewItem"),
                201,
                Some("Item"),
                true,
            ),
            IDEMPOTENT_CATALOG_CREATE,
        ),
        "list-items" => op(
            "List a master item's items",
            CATALOG,
            None,
            200,
            Some("ItemPage"),
            false,
        ),
        "get-item" => op("Read an item", CATALOG, None, 200, Some("Item"), true),
        "update-item" => op(
            "Edit an item",
            CATALOG,
            Some("ItemEdit"),
            200,
            Some("Item"),
            true,
        ),
        "delete-item" => op("Delete an item", CATALOG, None, 204, None, false),
        "get-preferred-item" => op(
            "The preferred item, explained",
            CATALOG,
            None,
            200,
            Some("PreferredItem"),
            false,
        ),
        "pin-preferred-item" => op(
            "Pin a preferred item by hand",
            CATALOG,
            Some("PinRequest"),
            200,
            Some("Pin"),
            false,
        ),
        "unpin-preferred-item" => op("Remove the pin", CATALOG, None, 204, None, false),
        "get-scoring-weights" => op(
            "Read the scoring weights",
            CATALOG,
            None,
            200,
            Some("ScoringWeights"),
            true,
        ),
        "put-scoring-weights" => op(
            "Replace the scoring weights",
            CATALOG,
            Some("ScoringWeights"),
            200,
            Some("ScoringWeights"),
            true,
        ),
        _ => return None,
    })
}

fn query_parameter(route: &Route, name: &str) -> Value {
    let schema = match name {
        "status" if route.function == "list-items" => schema_ref("ItemStatus"),
        "status" => json!({ "$ref": "#/components/schemas/RequestStatus", "default": "PENDING" }),
        "priority" => schema_ref("Priority"),
        "requestedBy" => json!({ "type": "string", "enum": ["me"] }),
        "decision" => schema_ref("Decision"),
        "order" => json!({ "type": "string", "enum": ["queue", "newest"], "default": "queue" }),
        "since" | "until" => json!({ "type": "string", "format": "date-time" }),
        "limit" => json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 25 }),
        "cursor" => schema_ref("Cursor"),
        // The years a report can name (events are kept in Unix milliseconds), said as a
        // pattern so that generated clients and fuzzers know them.
        "from" | "to" => json!({
            "type": "string",
            "format": "date",
            "pattern": "^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-[0-9]{2}-[0-9]{2}$"
        }),
        "tz" => json!({ "type": "string", "default": "UTC" }),
        "groupBy" => {
            json!({ "type": "string", "enum": GroupBy::ALL.map(GroupBy::as_str), "default": "day" })
        }
        _ => json!({ "type": "string" }),
    };
    let description = match name {
        "since" => "Creation time, inclusive (RFC 3339)",
        "until" => "Creation time, exclusive (RFC 3339)",
        "cursor" => "`nextCursor` of the previous page",
        "limit" => "Items per page",
        "status" if route.function == "list-items" => "Only items of this status",
        "priority" => "Only requests of this priority (a key condition)",
        "requestedBy" => "`me`: only the caller's own requests (an index, not a filter)",
        "decision" => "History only (`status=NOT_PENDING`): answered with this decision",
        "order" => {
            "`queue` (default: most urgent, then oldest first) or, for history, `newest` (most recently closed first; with it only `decision`, `limit` and `cursor` apply, `since`, `until`, `priority` and `requestedBy` are a 400)"
        }
        "status" => "`PENDING` (the queue, default) or `NOT_PENDING` (history)",
        "from" => "First local date of the report, YYYY-MM-DD",
        "to" => "Last local date, inclusive; at most 92 days after `from` counting both",
        "tz" => "The store's IANA time zone, e.g. America/Denver",
        "groupBy" => "Buckets of a `day` or an `hour` (hours: ranges of at most 31 days)",
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
        "cursor" => json!(CURSOR_EXAMPLE),
        "from" => json!("2026-11-01"),
        "to" => json!("2026-11-30"),
        "tz" => json!("America/Denver"),
        "groupBy" => json!("day"),
        other => panic!("query parameter {other} has no example"),
    };
    let required = route.function == "get-request-report" && matches!(name, "from" | "to");
    json!({ "name": name, "in": "query", "required": required, "schema": schema, "description": description, "example": example })
}

/// The request headers a route takes: `If-Match` where a version is checked, and
/// `Idempotency-Key` on creates.
fn header_parameters(route: &Route) -> Vec<Value> {
    let failures = route.failures();
    let mut headers = Vec::new();
    if failures.contains(&Failure::IfMatch) {
        headers.push(json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "The ETag of the version being changed, as this API sent it; `*` for whatever version is current",
            "schema": { "type": "string", "pattern": IF_MATCH },
            "example": "\"3\""
        }));
    }
    if failures.contains(&Failure::Idempotency) {
        headers.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Makes retries of this create safe for 24 h (see the operation's description)",
            "schema": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$" },
            "example": "till-4-2026-12-02-0001"
        }));
    }
    headers
}

/// What `If-Match` takes: an ETag of this API (weak or strong, quoted or not), or `*`.
pub const IF_MATCH: &str = "^((W/)?\"?[0-9]{1,19}\"?|\\*)$";
/// An ETag this API sends: the resource's version, quoted.
pub const ETAG: &str = "^\"[0-9]{1,19}\"$";

fn path_parameters(route: &Route) -> Vec<Value> {
    route
        .path_parameters()
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

/// The response headers this API declares, by name.
fn response_headers() -> Value {
    json!({
        "ETag": {
            "description": "The resource's version, quoted: send it back as `If-Match` to change this version and no other",
            "required": true,
            "schema": { "type": "string", "pattern": ETAG },
            "example": "\"3\""
        },
        "Location": {
            "description": "Where the created resource is read",
            "required": true,
            "schema": { "type": "string", "format": "uri-reference" },
            "example": "/stores/store-1/supervisor-requests/01KAQ3Z9V8M4N6P2R5T7W9Y1B3"
        },
        "Idempotent-Replayed": {
            "description": "`true` when this is the answer of an earlier create with the same `Idempotency-Key`, replayed; absent otherwise",
            "required": false,
            "schema": { "type": "string", "enum": ["true"] },
            "example": "true"
        },
        "Link": {
            "description": "The next page, as a URL of this API with the same filters and the next `cursor` (RFC 8288, `rel=\"next\"`); absent on the last page",
            "required": false,
            "schema": { "type": "string" },
            "example": "</stores/store-1/supervisor-requests?status=NOT_PENDING&cursor=AZPq3u0TgU6pN4ZrXo9fW2kVb1cJmE7sLdQyHa8tRn5wKxG0vCzB-i_j>; rel=\"next\""
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "required": true,
            "schema": { "type": "string", "pattern": "^[0-9]+$" },
            "example": "1"
        }
    })
}

fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

/// Statuses API Gateway (in the Lambda model) or the server (in the container model) answer
/// themselves on every route, `{"message": …}`, and why.
const GATEWAY_ANSWERS: &[(u16, &str)] = &[
    (
        400,
        "API Gateway could not pass the request on (`Bad Request`)",
    ),
    (
        401,
        "No `Authorization` header: API Gateway answers `Unauthorized` before any function runs",
    ),
    (
        403,
        "The authorizer denied the token: API Gateway answers `Forbidden`",
    ),
    (
        413,
        "The request is over API Gateway's own payload limit (10 MB): `Request Entity Too Large`",
    ),
    (
        429,
        "Throttled by the stage's rate and burst limits, or (the server) by the caller's token bucket for this store, per replica: `Too Many Requests`; retry after `Retry-After` when it is sent, with backoff otherwise",
    ),
    (
        500,
        "The function failed, timed out or was throttled: API Gateway answers `Internal Server Error`",
    ),
    (
        503,
        "The server (container model) is at its concurrency limit, or the request outlived its timeout: `Service Unavailable`, with `Retry-After`",
    ),
];

fn status_title(status: u16) -> &'static str {
    match status {
        400 => "Malformed request",
        401 => "Not authenticated",
        403 => "Not allowed",
        404 => "Not found",
        409 => "Refused by the resource's state",
        412 => "Stale version",
        413 => "Body too large",
        415 => "Unsupported media type",
        422 => "Invalid body",
        428 => "Version required",
        429 => "Too many requests",
        500 => "Internal error",
        503 => "Store unavailable",
        _ => "Error",
    }
}

/// The body the functions answer `status` with on this route: `{"error": …}` whose `code`
/// is one of `codes`.
fn function_error(status: u16, codes: &[&'static str]) -> Value {
    let mut detail = json!({
        "code": { "type": "string", "enum": codes },
        "message": { "type": "string", "description": "For people; switch on `code`" },
        "requestId": { "type": "string", "description": "API Gateway's id of the request: quote it when reporting a problem" }
    });
    // Only 400 (query parameters) and 422 (body fields) name the fields at fault.
    if matches!(status, 400 | 422) {
        detail["fields"] = json!({ "type": "array", "items": schema_ref("FieldError") });
    }
    object(
        &["error"],
        json!({ "error": object(&["code", "message"], detail) }),
    )
}

/// The body of a status the functions answer with one code only (the same on every route
/// that has it): one named schema, `NotFoundError` for `not_found`, which `shared` collects
/// into the components (generated clients get one type for it, not one per operation).
fn single_code_error(status: u16, code: &'static str, shared: &mut Map<String, Value>) -> Value {
    let mut name: String = code
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    if !name.ends_with("Error") {
        name.push_str("Error");
    }
    shared
        .entry(name.clone())
        .or_insert_with(|| function_error(status, &[code]));
    schema_ref(&name)
}

/// The error responses of `route`: every status its failures answer with (their codes, from
/// the error mapping itself), and every status API Gateway answers with itself.
fn error_responses(route: &Route, shared: &mut Map<String, Value>) -> Vec<(u16, Value)> {
    let mut by_status: std::collections::BTreeMap<u16, Vec<&'static str>> = Default::default();
    for error in route.failures().iter().flat_map(|failure| failure.errors()) {
        let codes = by_status.entry(error.status().as_u16()).or_default();
        if !codes.contains(&error.code()) {
            codes.push(error.code());
        }
    }
    for (status, _) in GATEWAY_ANSWERS {
        by_status.entry(*status).or_default();
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let gateway = GATEWAY_ANSWERS
                .iter()
                .find(|(s, _)| *s == status)
                .map(|(_, why)| *why);
            let mut description = status_title(status).to_owned();
            if !codes.is_empty() {
                description.push_str(". From the function, `error.code`:\n");
                for code in &codes {
                    let meaning = ApiError::meaning(code)
                        .unwrap_or_else(|| panic!("error code {code} has no meaning"));
                    description.push_str(&format!("\n- `{code}`: {meaning}"));
                }
            }
            if let Some(why) = gateway {
                description.push_str(&format!(
                    "{}{why} (`{{\"message\": …}}`).",
                    if codes.is_empty() {
                        ": "
                    } else {
                        "\n\nFrom API Gateway: "
                    }
                ));
            }
            let function = match codes.as_slice() {
                [] => None,
                [code] => Some(single_code_error(status, code, shared)),
                several => Some(function_error(status, several)),
            };
            let schema = match (function, gateway.is_some()) {
                (Some(function), false) => function,
                (None, _) => schema_ref("GatewayError"),
                (Some(function), true) => {
                    json!({ "oneOf": [function, schema_ref("GatewayError")] })
                }
            };
            let mut response = json!({
                "description": description,
                "content": { "application/json": { "schema": schema } }
            });
            if status == 503 {
                response["headers"] = json!({ "Retry-After": header_ref("Retry-After") });
            }
            if status == 429 {
                // The server sends these; API Gateway's throttling sends none.
                let optional = |description: &str| {
                    json!({
                        "description": description,
                        "required": false,
                        "schema": { "type": "string", "pattern": "^[0-9]+$" }
                    })
                };
                response["headers"] = json!({
                    "Retry-After": optional("Seconds to wait before retrying (the server)"),
                    "RateLimit-Limit": optional("The caller's burst for this store (the server; IETF draft `RateLimit` header fields)"),
                    "RateLimit-Remaining": optional("Requests left now (0)"),
                    "RateLimit-Reset": optional("Seconds until a request is allowed again"),
                });
            }
            (status, response)
        })
        .collect()
}

fn success_response(route: &Route, op: &Operation) -> Value {
    let mut response = match op.response {
        Some(schema) => json!({
            "description": "Success",
            "content": { "application/json": { "schema": schema_ref(schema) } }
        }),
        None => json!({ "description": "Done, no body" }),
    };
    let mut headers = Map::new();
    if route.function == "list-requests" {
        // History for spreadsheets: the same page as CSV when `Accept` prefers it.
        response["content"]["text/csv"] = json!({
            "schema": {
                "type": "string",
                "description": format!("With `Accept: text/csv`: RFC 4180 (CRLF, a header row, quotes doubled), UTF-8 with a byte-order mark on the first page. Columns: {}. A cell beginning with =, +, -, @, a tab or a carriage return starts with ' so no spreadsheet runs it as a formula. Every page is a complete document with its header row; the next is in `Link`.", shared::domain::export::COLUMNS.join(", "))
            },
            "example": format!("{}\r\n01KAQ3Z9V8M4N6P2R5T7W9Y1B3,2026-11-23T10:00:00.000Z,PRICE_OVERRIDE,HIGH,user-ana,\"Shelf tag 2.49, till 2.99\",RESPONSE_RECEIVED,APPROVED,user-sam,2026-11-23T10:00:41.250Z,41.250,'=tag honoured\r\n", shared::domain::export::COLUMNS.join(","))
        });
        headers.insert("Link".into(), header_ref("Link"));
    }
    if op.etag {
        headers.insert("ETag".into(), header_ref("ETag"));
    }
    if op.success == 201 {
        response["description"] = json!("Created");
        headers.insert("Location".into(), header_ref("Location"));
    }
    if route.failures().contains(&Failure::Idempotency) {
        headers.insert(
            "Idempotent-Replayed".into(),
            header_ref("Idempotent-Replayed"),
        );
    }
    if !headers.is_empty() {
        response["headers"] = Value::Object(headers);
    }
    response
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = schemas();
    let mut error_schemas = Map::new();
    for route in ROUTES {
        let Some(op) = operation(route.function) else {
            continue;
        };
        let mut parameters = path_parameters(route);
        // The query parameters come from the route table, which the handlers enforce.
        parameters.extend(route.query.iter().map(|q| query_parameter(route, q)));
        parameters.extend(header_parameters(route));
        let mut responses = Map::new();
        responses.insert(op.success.to_string(), success_response(route, &op));
        for (status, response) in error_responses(route, &mut error_schemas) {
            responses.insert(status.to_string(), response);
        }
        let mut operation = json!({
            "operationId": route.function,
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(description) = op.description {
            operation["description"] = json!(description);
        }
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
    schemas
        .as_object_mut()
        .expect("schemas are an object")
        .extend(error_schemas);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Store Services",
            "version": env!("CARGO_PKG_VERSION"),
            "license": { "name": env!("CARGO_PKG_LICENSE"), "identifier": env!("CARGO_PKG_LICENSE") },
            "description": format!("Supervisor requests and preferred items for retail stores. Every route needs a Bearer JWT whose claims carry the caller's role and stores.\n\nErrors from the functions are `{{\"error\": {{\"code\", \"message\"}}}}`: each operation lists the codes it can answer with, per status; switch on `code`. API Gateway answers some statuses itself (400, 401, 403, 413, 429, 500) with `{{\"message\": …}}`: each response says whose body it can be. Request bodies are at most {MAX_BODY_BYTES} bytes.")
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearerAuth": [] }],
        "tags": [
            { "name": REQUESTS, "description": "Requests raised at a till for a supervisor: the queue, answers, history and the audit trail" },
            { "name": CATALOG, "description": "Master items, their vendor items, and the preferred item chosen by weighted score or pinned by hand" },
            { "name": REPORTS, "description": "How a store's queue behaves, from its audit trail" }
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": response_headers(),
            "securitySchemes": { "bearerAuth": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } }
        }
    })
}

/// Whether the document describes `function`.
pub fn documents(function: &str) -> bool {
    operation(function).is_some()
}
