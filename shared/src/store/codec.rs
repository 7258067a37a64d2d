//! The attribute codec: domain values to DynamoDB attributes and back, for both tables, in
//! one place. [`crate::store::keys`] adds the keys; the stores only send what this builds.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use crate::domain::audit::{Actor, ActorRole, EventType, FieldChange, RequestEvent};
use crate::domain::catalog::{Currency, Item, ItemStatus, MasterItem, Money, Pin, ScoringWeights};
use crate::domain::ids::{ItemId, MasterItemId, RequestId, StoreId};
use crate::domain::millis::unix_millis;
use crate::domain::supervisor_request::{
    Decision, Outcome, Priority, RequestStatusCode, RequestType, SupervisorRequest,
    SupervisorResponse, Text,
};

/// The partition key of every table: the store's id.
pub const PARTITION_KEY: &str = "storeId";
/// Optimistic concurrency: every versioned write is conditioned on it.
pub const VERSION: &str = "version";
/// A pending request's deadline (the sweeper's index sorts on it).
pub const DEADLINE: &str = "deadline";
/// DynamoDB's TTL attribute (Unix seconds).
pub const EXPIRES_AT: &str = "expiresAt";

/// One DynamoDB item, as the SDK holds it.
pub type Attributes = HashMap<String, AttributeValue>;

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Why an item could not be read back: the table holds something the code never writes.
#[derive(Debug, thiserror::Error)]
#[error("malformed item: attribute {0}")]
pub struct MalformedItem(pub(crate) &'static str);

pub(crate) fn get_s<'a>(
    item: &'a Attributes,
    name: &'static str,
) -> Result<&'a str, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(MalformedItem(name)),
    }
}

pub(crate) fn get_n<T: std::str::FromStr>(
    item: &Attributes,
    name: &'static str,
) -> Result<T, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| MalformedItem(name)),
        _ => Err(MalformedItem(name)),
    }
}

pub(crate) fn get_time(
    item: &Attributes,
    name: &'static str,
) -> Result<OffsetDateTime, MalformedItem> {
    let millis: i64 = get_n(item, name)?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| MalformedItem(name))
}

pub(crate) fn get_text<const MAX: usize>(
    item: &Attributes,
    name: &'static str,
) -> Result<Text<MAX>, MalformedItem> {
    Text::parse(name, get_s(item, name)?.to_owned()).map_err(|_| MalformedItem(name))
}

/// An optional attribute: absent is `None`, present must parse.
fn optional<T>(
    item: &Attributes,
    name: &'static str,
    read: impl FnOnce(&Attributes, &'static str) -> Result<T, MalformedItem>,
) -> Result<Option<T>, MalformedItem> {
    match item.get(name) {
        None => Ok(None),
        Some(_) => read(item, name).map(Some),
    }
}

fn store_id(item: &Attributes) -> Result<StoreId, MalformedItem> {
    StoreId::parse(get_s(item, PARTITION_KEY)?).map_err(|_| MalformedItem(PARTITION_KEY))
}

// --- supervisor requests ---

/// A request's attributes, shared by its queue entry and its record (keys aside).
pub fn request_attributes(request: &SupervisorRequest) -> Attributes {
    let mut item = HashMap::from([
        (PARTITION_KEY.to_owned(), s(request.store_id.as_str())),
        ("requestId".to_owned(), s(&request.request_id.to_string())),
        ("requestType".to_owned(), s(request.request_type.as_str())),
        ("priority".to_owned(), s(request.priority.as_str())),
        ("details".to_owned(), s(request.details.as_str())),
        ("status".to_owned(), s(request.status().as_str())),
        ("statusCode".to_owned(), s(request.status_code().as_str())),
        ("requestedBy".to_owned(), s(&request.requested_by)),
        ("createdAt".to_owned(), n(unix_millis(request.created_at))),
        (DEADLINE.to_owned(), n(unix_millis(request.deadline))),
        ("updatedAt".to_owned(), n(unix_millis(request.updated_at))),
        (VERSION.to_owned(), n(request.version)),
    ]);
    if let Outcome::Answered(response) = &request.outcome {
        item.insert("decision".into(), s(response.decision.as_str()));
        item.insert("respondedBy".into(), s(&response.responded_by));
        item.insert("respondedAt".into(), n(unix_millis(response.responded_at)));
        if let Some(note) = &response.note {
            item.insert("responseNote".into(), s(note.as_str()));
        }
    }
    item
}

/// Every attribute [`request_from_item`] reads, and nothing else: reads of requests ask
/// DynamoDB for these alone, so a page of the queue leaves out the sort key, `status` and the
/// index attributes (a fifth of each entry) instead of sending and parsing them.
pub const REQUEST_PROJECTION: &str = "storeId, requestId, requestType, priority, details, \
    statusCode, requestedBy, createdAt, deadline, updatedAt, version, decision, respondedBy, \
    respondedAt, responseNote";

/// Reads a queue entry or a record back into a request.
pub fn request_from_item(item: &Attributes) -> Result<SupervisorRequest, MalformedItem> {
    let priority = get_s(item, "priority")?;
    let outcome = match RequestStatusCode::parse(get_s(item, "statusCode")?)
        .ok_or(MalformedItem("statusCode"))?
    {
        RequestStatusCode::PendingResponse => Outcome::Pending,
        RequestStatusCode::Timeout => Outcome::TimedOut,
        RequestStatusCode::ResponseReceived => Outcome::Answered(SupervisorResponse {
            decision: Decision::parse(get_s(item, "decision")?).ok_or(MalformedItem("decision"))?,
            responded_by: get_s(item, "respondedBy")?.to_owned(),
            responded_at: get_time(item, "respondedAt")?,
            note: optional(item, "responseNote", get_text)?,
        }),
    };
    Ok(SupervisorRequest {
        store_id: store_id(item)?,
        request_id: RequestId::parse(get_s(item, "requestId")?)
            .map_err(|_| MalformedItem("requestId"))?,
        request_type: RequestType::parse(get_s(item, "requestType")?)
            .ok_or(MalformedItem("requestType"))?,
        priority: Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == priority)
            .ok_or(MalformedItem("priority"))?,
        details: get_text(item, "details")?,
        outcome,
        requested_by: get_s(item, "requestedBy")?.to_owned(),
        created_at: get_time(item, "createdAt")?,
        deadline: get_time(item, DEADLINE)?,
        updated_at: get_time(item, "updatedAt")?,
        version: get_n(item, VERSION)?,
    })
}

// --- preferred items ---

pub fn master_attributes(master: &MasterItem) -> Attributes {
    let mut item = HashMap::from([
        (
            "masterItemId".to_owned(),
            s(&master.master_item_id.to_string()),
        ),
        ("name".to_owned(), s(master.name.as_str())),
        ("currency".to_owned(), s(master.currency.as_str())),
        ("itemCount".to_owned(), n(master.item_count)),
        (VERSION.to_owned(), n(master.version)),
        ("createdAt".to_owned(), n(unix_millis(master.created_at))),
        ("updatedAt".to_owned(), n(unix_millis(master.updated_at))),
    ]);
    if let Some(description) = &master.description {
        item.insert("description".into(), s(description.as_str()));
    }
    item
}

pub fn master_from_item(item: &Attributes) -> Result<MasterItem, MalformedItem> {
    let pin = match item.get("pinnedItemId") {
        None => None,
        Some(_) => Some(Pin {
            item_id: ItemId::parse(get_s(item, "pinnedItemId")?)
                .map_err(|_| MalformedItem("pinnedItemId"))?,
            pinned_by: get_s(item, "pinnedBy")?.to_owned(),
            pinned_at: get_time(item, "pinnedAt")?,
        }),
    };
    Ok(MasterItem {
        store_id: store_id(item)?,
        master_item_id: MasterItemId::parse(get_s(item, "masterItemId")?)
            .map_err(|_| MalformedItem("masterItemId"))?,
        name: get_text(item, "name")?,
        description: optional(item, "description", get_text)?,
        currency: currency(item)?,
        pin,
        item_count: get_n(item, "itemCount")?,
        version: get_n(item, VERSION)?,
        created_at: get_time(item, "createdAt")?,
        updated_at: get_time(item, "updatedAt")?,
    })
}

pub fn currency(item: &Attributes) -> Result<Currency, MalformedItem> {
    Currency::parse(get_s(item, "currency")?).ok_or(MalformedItem("currency"))
}

pub fn item_attributes(entry: &Item) -> Attributes {
    HashMap::from([
        ("itemId".to_owned(), s(&entry.item_id.to_string())),
        ("vendor".to_owned(), s(entry.vendor.as_str())),
        ("priceAmount".to_owned(), n(entry.price.amount())),
        ("currency".to_owned(), s(entry.price.currency().as_str())),
        ("status".to_owned(), s(entry.status.as_str())),
        (VERSION.to_owned(), n(entry.version)),
        ("createdAt".to_owned(), n(unix_millis(entry.created_at))),
        ("updatedAt".to_owned(), n(unix_millis(entry.updated_at))),
    ])
}

pub fn item_from_attributes(item: &Attributes) -> Result<Item, MalformedItem> {
    Ok(Item {
        store_id: store_id(item)?,
        item_id: ItemId::parse(get_s(item, "itemId")?).map_err(|_| MalformedItem("itemId"))?,
        vendor: get_text(item, "vendor")?,
        price: Money::new(get_n(item, "priceAmount")?, currency(item)?)
            .map_err(|_| MalformedItem("priceAmount"))?,
        status: ItemStatus::parse(get_s(item, "status")?).ok_or(MalformedItem("status"))?,
        version: get_n(item, VERSION)?,
        created_at: get_time(item, "createdAt")?,
        updated_at: get_time(item, "updatedAt")?,
    })
}

pub fn weights_from_item(item: &Attributes) -> Result<ScoringWeights, MalformedItem> {
    ScoringWeights::new(
        get_n(item, "priceWeight")?,
        get_n(item, "statusWeight")?,
        get_n(item, "activeScore")?,
        get_n(item, "outOfStockScore")?,
    )
    // Each value was read; together they break a rule (a range, or out-of-stock above
    // active): the item as a whole, not one attribute, is at fault.
    .map_err(|_| MalformedItem("scoring weights"))
}

// --- audit events ---

pub fn event_attributes(event: &RequestEvent) -> Attributes {
    let mut item = HashMap::from([
        (PARTITION_KEY.to_owned(), s(event.store_id.as_str())),
        ("requestId".to_owned(), s(&event.request_id.to_string())),
        (VERSION.to_owned(), n(event.version)),
        ("type".to_owned(), s(event.event_type.as_str())),
        ("at".to_owned(), n(unix_millis(event.at))),
        ("actor".to_owned(), s(&event.actor.subject)),
        ("actorRole".to_owned(), s(event.actor.role.as_str())),
        (
            "changes".to_owned(),
            s(&serde_json::to_string(&event.changes).expect("field changes serialize")),
        ),
    ]);
    if let Some(decision) = event.decision {
        item.insert("decision".into(), s(decision.as_str()));
    }
    if let Some(note) = &event.note {
        item.insert("note".into(), s(note.as_str()));
    }
    item
}

/// What [`event_from_item`] reads but the note (reports never show it), by the names of
/// [`event_projection_names`] (`type` and the like are DynamoDB reserved words).
pub const EVENT_PROJECTION: &str =
    "#store, #id, #version, #type, #at, #actor, #role, #changes, #decision";

pub fn event_projection_names() -> HashMap<String, String> {
    [
        ("#store", PARTITION_KEY),
        ("#id", "requestId"),
        ("#version", VERSION),
        ("#type", "type"),
        ("#at", "at"),
        ("#actor", "actor"),
        ("#role", "actorRole"),
        ("#changes", "changes"),
        ("#decision", "decision"),
    ]
    .into_iter()
    .map(|(name, attribute)| (name.to_owned(), attribute.to_owned()))
    .collect()
}

pub fn event_from_item(item: &Attributes) -> Result<RequestEvent, MalformedItem> {
    let changes: Vec<FieldChange> =
        serde_json::from_str(get_s(item, "changes")?).map_err(|_| MalformedItem("changes"))?;
    Ok(RequestEvent {
        store_id: store_id(item)?,
        request_id: RequestId::parse(get_s(item, "requestId")?)
            .map_err(|_| MalformedItem("requestId"))?,
        version: get_n(item, VERSION)?,
        event_type: EventType::parse(get_s(item, "type")?).ok_or(MalformedItem("type"))?,
        at: get_time(item, "at")?,
        actor: Actor {
            subject: get_s(item, "actor")?.to_owned(),
            role: ActorRole::parse(get_s(item, "actorRole")?).ok_or(MalformedItem("actorRole"))?,
        },
        changes,
        decision: optional(item, "decision", |item, name| {
            Decision::parse(get_s(item, name)?).ok_or(MalformedItem(name))
        })?,
        note: optional(item, "note", get_text)?,
    })
}
