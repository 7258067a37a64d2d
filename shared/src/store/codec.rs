//! The attribute codec: domain values to DynamoDB attributes and back, for both tables, in
//! one place. [`crate::store::keys`] adds the keys; the stores only send what this builds.

use std::collections::HashMap;
use std::sync::LazyLock;

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

use crate::store::attributes::*;
/// Named in [`crate::store::attributes`]; re-exported where they were first named.
pub use crate::store::attributes::{DEADLINE, EXPIRES_AT, PARTITION_KEY, VERSION};

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
        (REQUEST_ID.to_owned(), s(&request.request_id.to_string())),
        (REQUEST_TYPE.to_owned(), s(request.request_type.as_str())),
        (PRIORITY.to_owned(), s(request.priority.as_str())),
        (DETAILS.to_owned(), s(request.details.as_str())),
        (STATUS.to_owned(), s(request.status().as_str())),
        (STATUS_CODE.to_owned(), s(request.status_code().as_str())),
        (REQUESTED_BY.to_owned(), s(&request.requested_by)),
        (CREATED_AT.to_owned(), n(unix_millis(request.created_at))),
        (DEADLINE.to_owned(), n(unix_millis(request.deadline))),
        (UPDATED_AT.to_owned(), n(unix_millis(request.updated_at))),
        (VERSION.to_owned(), n(request.version)),
    ]);
    if let Outcome::Answered(response) = &request.outcome {
        item.insert(DECISION.into(), s(response.decision.as_str()));
        item.insert(RESPONDED_BY.into(), s(&response.responded_by));
        item.insert(RESPONDED_AT.into(), n(unix_millis(response.responded_at)));
        if let Some(note) = &response.note {
            item.insert(RESPONSE_NOTE.into(), s(note.as_str()));
        }
    }
    item
}

/// Every attribute [`request_from_item`] reads, and nothing else: reads of requests ask
/// DynamoDB for these alone, so a page of the queue leaves out the sort key, `status` and the
/// index attributes (a fifth of each entry) instead of sending and parsing them.
pub const REQUEST_PROJECTED: [&str; 15] = [
    PARTITION_KEY,
    REQUEST_ID,
    REQUEST_TYPE,
    PRIORITY,
    DETAILS,
    STATUS_CODE,
    REQUESTED_BY,
    CREATED_AT,
    DEADLINE,
    UPDATED_AT,
    VERSION,
    DECISION,
    RESPONDED_BY,
    RESPONDED_AT,
    RESPONSE_NOTE,
];

/// [`REQUEST_PROJECTED`] as a projection expression: the names, comma-separated.
pub static REQUEST_PROJECTION: LazyLock<String> = LazyLock::new(|| REQUEST_PROJECTED.join(", "));

/// Reads a queue entry or a record back into a request.
pub fn request_from_item(item: &Attributes) -> Result<SupervisorRequest, MalformedItem> {
    let priority = get_s(item, PRIORITY)?;
    let outcome = match RequestStatusCode::parse(get_s(item, STATUS_CODE)?)
        .ok_or(MalformedItem(STATUS_CODE))?
    {
        RequestStatusCode::PendingResponse => Outcome::Pending,
        RequestStatusCode::Timeout => Outcome::TimedOut,
        RequestStatusCode::ResponseReceived => Outcome::Answered(SupervisorResponse {
            decision: Decision::parse(get_s(item, DECISION)?).ok_or(MalformedItem(DECISION))?,
            responded_by: get_s(item, RESPONDED_BY)?.to_owned(),
            responded_at: get_time(item, RESPONDED_AT)?,
            note: optional(item, RESPONSE_NOTE, get_text)?,
        }),
    };
    Ok(SupervisorRequest {
        store_id: store_id(item)?,
        request_id: RequestId::parse(get_s(item, REQUEST_ID)?)
            .map_err(|_| MalformedItem(REQUEST_ID))?,
        request_type: RequestType::parse(get_s(item, REQUEST_TYPE)?)
            .ok_or(MalformedItem(REQUEST_TYPE))?,
        priority: Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == priority)
            .ok_or(MalformedItem(PRIORITY))?,
        details: get_text(item, DETAILS)?,
        outcome,
        requested_by: get_s(item, REQUESTED_BY)?.to_owned(),
        created_at: get_time(item, CREATED_AT)?,
        deadline: get_time(item, DEADLINE)?,
        updated_at: get_time(item, UPDATED_AT)?,
        version: get_n(item, VERSION)?,
    })
}

// --- preferred items ---

pub fn master_attributes(master: &MasterItem) -> Attributes {
    let mut item = HashMap::from([
        (
            MASTER_ITEM_ID.to_owned(),
            s(&master.master_item_id.to_string()),
        ),
        (NAME.to_owned(), s(master.name.as_str())),
        (CURRENCY.to_owned(), s(master.currency.as_str())),
        (ITEM_COUNT.to_owned(), n(master.item_count)),
        (VERSION.to_owned(), n(master.version)),
        (CREATED_AT.to_owned(), n(unix_millis(master.created_at))),
        (UPDATED_AT.to_owned(), n(unix_millis(master.updated_at))),
    ]);
    if let Some(description) = &master.description {
        item.insert(DESCRIPTION.into(), s(description.as_str()));
    }
    item
}

pub fn master_from_item(item: &Attributes) -> Result<MasterItem, MalformedItem> {
    let pin = match item.get(PINNED_ITEM_ID) {
        None => None,
        Some(_) => Some(Pin {
            item_id: ItemId::parse(get_s(item, PINNED_ITEM_ID)?)
                .map_err(|_| MalformedItem(PINNED_ITEM_ID))?,
            pinned_by: get_s(item, PINNED_BY)?.to_owned(),
            pinned_at: get_time(item, PINNED_AT)?,
        }),
    };
    Ok(MasterItem {
        store_id: store_id(item)?,
        master_item_id: MasterItemId::parse(get_s(item, MASTER_ITEM_ID)?)
            .map_err(|_| MalformedItem(MASTER_ITEM_ID))?,
        name: get_text(item, NAME)?,
        description: optional(item, DESCRIPTION, get_text)?,
        currency: currency(item)?,
        pin,
        item_count: get_n(item, ITEM_COUNT)?,
        version: get_n(item, VERSION)?,
        created_at: get_time(item, CREATED_AT)?,
        updated_at: get_time(item, UPDATED_AT)?,
    })
}

pub fn currency(item: &Attributes) -> Result<Currency, MalformedItem> {
    Currency::parse(get_s(item, CURRENCY)?).ok_or(MalformedItem(CURRENCY))
}

pub fn item_attributes(entry: &Item) -> Attributes {
    HashMap::from([
        (ITEM_ID.to_owned(), s(&entry.item_id.to_string())),
        (VENDOR.to_owned(), s(entry.vendor.as_str())),
        (PRICE_AMOUNT.to_owned(), n(entry.price.amount())),
        (CURRENCY.to_owned(), s(entry.price.currency().as_str())),
        (STATUS.to_owned(), s(entry.status.as_str())),
        (VERSION.to_owned(), n(entry.version)),
        (CREATED_AT.to_owned(), n(unix_millis(entry.created_at))),
        (UPDATED_AT.to_owned(), n(unix_millis(entry.updated_at))),
    ])
}

pub fn item_from_attributes(item: &Attributes) -> Result<Item, MalformedItem> {
    Ok(Item {
        store_id: store_id(item)?,
        item_id: ItemId::parse(get_s(item, ITEM_ID)?).map_err(|_| MalformedItem(ITEM_ID))?,
        vendor: get_text(item, VENDOR)?,
        price: Money::new(get_n(item, PRICE_AMOUNT)?, currency(item)?)
            .map_err(|_| MalformedItem(PRICE_AMOUNT))?,
        status: ItemStatus::parse(get_s(item, STATUS)?).ok_or(MalformedItem(STATUS))?,
        version: get_n(item, VERSION)?,
        created_at: get_time(item, CREATED_AT)?,
        updated_at: get_time(item, UPDATED_AT)?,
    })
}

pub fn weights_from_item(item: &Attributes) -> Result<ScoringWeights, MalformedItem> {
    ScoringWeights::new(
        get_n(item, PRICE_WEIGHT)?,
        get_n(item, STATUS_WEIGHT)?,
        get_n(item, ACTIVE_SCORE)?,
        get_n(item, OUT_OF_STOCK_SCORE)?,
    )
    // Each value was read; together they break a rule (a range, or out-of-stock above
    // active): the item as a whole, not one attribute, is at fault.
    .map_err(|_| MalformedItem("scoring weights"))
}

// --- audit events ---

pub fn event_attributes(event: &RequestEvent) -> Attributes {
    let mut item = HashMap::from([
        (PARTITION_KEY.to_owned(), s(event.store_id.as_str())),
        (REQUEST_ID.to_owned(), s(&event.request_id.to_string())),
        (VERSION.to_owned(), n(event.version)),
        (EVENT_TYPE.to_owned(), s(event.event_type.as_str())),
        (AT.to_owned(), n(unix_millis(event.at))),
        (ACTOR.to_owned(), s(&event.actor.subject)),
        (ACTOR_ROLE.to_owned(), s(event.actor.role.as_str())),
        (
            CHANGES.to_owned(),
            s(&serde_json::to_string(&event.changes).expect("field changes serialize")),
        ),
    ]);
    if let Some(decision) = event.decision {
        item.insert(DECISION.into(), s(decision.as_str()));
    }
    if let Some(note) = &event.note {
        item.insert(NOTE.into(), s(note.as_str()));
    }
    item
}

/// What [`event_from_item`] reads but the note (reports never show it), each attribute with
/// the placeholder that names it (`type` and the like are DynamoDB reserved words).
pub const EVENT_PROJECTED: [(&str, &str); 9] = [
    ("#store", PARTITION_KEY),
    ("#id", REQUEST_ID),
    ("#version", VERSION),
    ("#type", EVENT_TYPE),
    ("#at", AT),
    ("#actor", ACTOR),
    ("#role", ACTOR_ROLE),
    ("#changes", CHANGES),
    ("#decision", DECISION),
];

/// [`EVENT_PROJECTED`]'s placeholders as a projection expression, named by
/// [`event_projection_names`].
pub static EVENT_PROJECTION: LazyLock<String> = LazyLock::new(|| {
    EVENT_PROJECTED
        .map(|(placeholder, _)| placeholder)
        .join(", ")
});

/// The placeholders of [`EVENT_PROJECTION`] and the attributes they name.
pub fn event_projection_names() -> HashMap<String, String> {
    EVENT_PROJECTED
        .into_iter()
        .map(|(name, attribute)| (name.to_owned(), attribute.to_owned()))
        .collect()
}

pub fn event_from_item(item: &Attributes) -> Result<RequestEvent, MalformedItem> {
    let changes: Vec<FieldChange> =
        serde_json::from_str(get_s(item, CHANGES)?).map_err(|_| MalformedItem(CHANGES))?;
    Ok(RequestEvent {
        store_id: store_id(item)?,
        request_id: RequestId::parse(get_s(item, REQUEST_ID)?)
            .map_err(|_| MalformedItem(REQUEST_ID))?,
        version: get_n(item, VERSION)?,
        event_type: EventType::parse(get_s(item, EVENT_TYPE)?).ok_or(MalformedItem(EVENT_TYPE))?,
        at: get_time(item, AT)?,
        actor: Actor {
            subject: get_s(item, ACTOR)?.to_owned(),
            role: ActorRole::parse(get_s(item, ACTOR_ROLE)?).ok_or(MalformedItem(ACTOR_ROLE))?,
        },
        changes,
        decision: optional(item, DECISION, |item, name| {
            Decision::parse(get_s(item, name)?).ok_or(MalformedItem(name))
        })?,
        note: optional(item, NOTE, get_text)?,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::supervisor_request::{Details, NewRequest, Note};

    /// An answered request with a note (every attribute a request can have) and its event.
    fn answered() -> (SupervisorRequest, RequestEvent) {
        let created = datetime!(2026-12-01 10:00 UTC);
        let request = SupervisorRequest::new(
            StoreId::parse("s").unwrap(),
            NewRequest {
                request_type: RequestType::Void,
                priority: Priority::High,
                details: Details::parse("details", "x".into()).unwrap(),
                timeout: None,
            },
            "u".into(),
            created,
            time::Duration::minutes(5),
        );
        let supervisor = Actor {
            subject: "boss".into(),
            role: ActorRole::Supervisor,
        };
        let note = Note::parse("note", "n".into()).unwrap();
        let transition = request
            .respond(Decision::Approved, Some(note), supervisor, created)
            .unwrap();
        (transition.after.unwrap(), transition.event)
    }

    /// The attributes of `item` the decoder `read` cannot do without: leaving any of them out
    /// fails the read or changes what it reads.
    fn read_attributes<T: PartialEq>(
        item: &Attributes,
        read: impl Fn(&Attributes) -> Result<T, MalformedItem>,
    ) -> Vec<String> {
        let whole = read(item).expect("the whole item reads");
        let mut names: Vec<String> = item
            .keys()
            .filter(|name| {
                let mut without = item.clone();
                without.remove(name.as_str());
                read(&without).ok().is_none_or(|read| read != whole)
            })
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn sorted(names: impl IntoIterator<Item = &'static str>) -> Vec<String> {
        let mut names: Vec<String> = names.into_iter().map(str::to_owned).collect();
        names.sort();
        names
    }

    #[test]
    fn the_request_projection_is_exactly_what_the_decoder_reads() {
        let (request, _) = answered();
        let item = request_attributes(&request);
        assert_eq!(
            read_attributes(&item, request_from_item),
            sorted(REQUEST_PROJECTED)
        );
        assert_eq!(*REQUEST_PROJECTION, REQUEST_PROJECTED.join(", "));
    }

    #[test]
    fn the_event_projection_is_what_the_decoder_reads_but_the_note() {
        let (_, event) = answered();
        assert!(event.note.is_some() && event.decision.is_some());
        let item = event_attributes(&event);
        let mut read = read_attributes(&item, event_from_item);
        read.retain(|name| name != NOTE);
        assert_eq!(read, sorted(EVENT_PROJECTED.map(|(_, name)| name)));
        let names = event_projection_names();
        assert_eq!(names.len(), EVENT_PROJECTED.len());
        for placeholder in EVENT_PROJECTION.split(", ") {
            assert!(names.contains_key(placeholder), "{placeholder}");
        }
    }
}
