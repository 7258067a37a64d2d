//! The key schema of the `supervisor-requests` table: the one place that knows it.
//!
//! | item | `storeId` (PK) | `sk` (SK) | other keys |
//! | --- | --- | --- | --- |
//! | queue entry | store id | `{status}#{rank}#{createdMs:013}#{requestId}` | pending only: `sweepShard`, `deadline` (GSI `byDeadline`) |
//! | request record | store id | `REQUEST#{requestId}` | — |
//! | idempotency record | store id | `IDEMPOTENCY#{key}` | `expiresAt` (TTL) |
//!
//! `status` is `PENDING` or `NOT_PENDING`, `rank` the priority digit (1 = `URGENT` … 4 =
//! `LOW`), `createdMs` the creation time in Unix milliseconds, zero-padded to 13 digits. Fixed
//! widths make byte order equal queue order, so a forward Query is the queue: most urgent
//! first, then oldest first. The request record holds the same attributes as the queue entry
//! and exists so that reading a request by id is one strongly consistent `GetItem`, whatever
//! its status and priority. Every write touches both in one transaction, conditioned on
//! `version`.
//!
//! | access pattern | DynamoDB call | key condition |
//! | --- | --- | --- |
//! | create a request (optionally idempotent) | `TransactWriteItems`: put entry + record (+ idempotency record) | `attribute_not_exists` on each (the idempotency record: or `expiresAt` past, since TTL deletes late) |
//! | read a request by id | `GetItem` (consistent) | `storeId`, `sk = REQUEST#{id}` |
//! | list the queue / the history | `Query`, forward, `Limit`, projection [`REQUEST_PROJECTION`] | `storeId`, `begins_with(sk, "PENDING#")` / `"NOT_PENDING#"` |
//! | list by creation time | one `Query` per priority, forward | `storeId`, `sk BETWEEN "{status}#{rank}#{sinceMs}" AND "{status}#{rank}#{untilMs}"` |
//! | edit, answer, time out (moves the entry when status or priority changes) | `GetItem` record, then `TransactWriteItems`: delete old entry + put new entry + put record | `version = :read` |
//! | delete a request | `GetItem` record, then `TransactWriteItems`: delete entry + record | `version = :read` |
//! | replay an idempotent create | `GetItem` (consistent) | `storeId`, `sk = IDEMPOTENCY#{key}` |
//! | find expired pending requests, all stores | `Query` on GSI `byDeadline`, per shard | `sweepShard = "PENDING#{n}"`, `deadline <= :now` |
//!
//! The `byDeadline` index is sparse: only pending queue entries carry `sweepShard`, so the
//! sweeper never reads history, and it never scans. Spreading pending entries over
//! [`SWEEP_SHARDS`] partitions keeps one index partition from taking every store's writes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use time::OffsetDateTime;

use crate::ids::{RequestId, StoreId};
use crate::millis::unix_millis;
use crate::supervisor_request::{
    Decision, Priority, RequestStatus, RequestStatusCode, RequestType, SupervisorRequest,
    SupervisorResponse, Text,
};

pub const PARTITION_KEY: &str = "storeId";
pub const SORT_KEY: &str = "sk";
pub const DEADLINE_INDEX: &str = "byDeadline";
pub const SWEEP_SHARD: &str = "sweepShard";
pub const DEADLINE: &str = "deadline";
pub const VERSION: &str = "version";
pub const EXPIRES_AT: &str = "expiresAt";

/// Partitions of the `byDeadline` index.
pub const SWEEP_SHARDS: u8 = 4;

const RECORD_PREFIX: &str = "REQUEST#";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";

pub type Item = HashMap<String, AttributeValue>;

/// `{status}#` — every queue entry of one status starts with this.
pub fn status_prefix(status: RequestStatus) -> String {
    format!("{}#", status.as_str())
}

/// `{status}#{rank}#` — every queue entry of one status and priority.
pub fn priority_prefix(status: RequestStatus, priority: Priority) -> String {
    format!("{}#{}#", status.as_str(), priority.rank())
}

/// The queue entry's sort key: the entry sorts by status, priority, then creation time.
pub fn queue_sort_key(request: &SupervisorRequest) -> String {
    format!(
        "{}{:013}#{}",
        priority_prefix(request.status(), request.priority),
        unix_millis(request.created_at),
        request.request_id
    )
}

/// A creation-time bound within one status and priority, for `BETWEEN` key conditions.
/// `{prefix}{ms:013}` sorts before every entry created at `ms` and after every earlier one.
pub fn created_bound(status: RequestStatus, priority: Priority, at: OffsetDateTime) -> String {
    format!(
        "{}{:013}",
        priority_prefix(status, priority),
        unix_millis(at).max(0)
    )
}

/// Sorts after every entry of this status and priority (`~` is above digits and `#`).
pub fn priority_upper_bound(status: RequestStatus, priority: Priority) -> String {
    format!("{}~", priority_prefix(status, priority))
}

pub fn record_sort_key(id: &RequestId) -> String {
    format!("{RECORD_PREFIX}{id}")
}

pub fn idempotency_sort_key(key: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{key}")
}

pub fn key(store: &StoreId, sort_key: String) -> Item {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(store.as_str())),
        (SORT_KEY.to_owned(), AttributeValue::S(sort_key)),
    ])
}

/// A queue sort key read back from a cursor must belong to the status it is used with.
pub fn is_queue_sort_key_of(sort_key: &str, status: RequestStatus) -> bool {
    sort_key
        .strip_prefix(&status_prefix(status))
        .is_some_and(|rest| rest.len() == 1 + 1 + 13 + 1 + ulid::ULID_LEN)
}

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Attributes shared by the queue entry and the record.
fn attributes(request: &SupervisorRequest) -> Item {
    let mut item = HashMap::from([
        (PARTITION_KEY.to_owned(), s(request.store_id.as_str())),
        ("requestId".to_owned(), s(&request.request_id.to_string())),
        ("requestType".to_owned(), s(request.request_type.as_str())),
        ("priority".to_owned(), s(request.priority.as_str())),
        ("details".to_owned(), s(request.details.as_str())),
        ("status".to_owned(), s(request.status().as_str())),
        ("statusCode".to_owned(), s(request.status_code.as_str())),
        ("requestedBy".to_owned(), s(&request.requested_by)),
        ("createdAt".to_owned(), n(unix_millis(request.created_at))),
        (DEADLINE.to_owned(), n(unix_millis(request.deadline))),
        ("updatedAt".to_owned(), n(unix_millis(request.updated_at))),
        (VERSION.to_owned(), n(request.version)),
    ]);
    if let Some(response) = &request.response {
        item.insert("decision".into(), s(response.decision.as_str()));
        item.insert("respondedBy".into(), s(&response.responded_by));
        item.insert("respondedAt".into(), n(unix_millis(response.responded_at)));
        if let Some(note) = &response.note {
            item.insert("responseNote".into(), s(note.as_str()));
        }
    }
    item
}

/// The queue entry; pending entries also enter the sparse `byDeadline` index.
pub fn queue_item(request: &SupervisorRequest) -> Item {
    let mut item = attributes(request);
    item.insert(SORT_KEY.into(), AttributeValue::S(queue_sort_key(request)));
    if request.is_pending() {
        let shard = request.request_id.shard(SWEEP_SHARDS);
        item.insert(
            SWEEP_SHARD.into(),
            AttributeValue::S(sweep_shard_key(shard)),
        );
    }
    item
}

pub fn record_item(request: &SupervisorRequest) -> Item {
    let mut item = attributes(request);
    item.insert(
        SORT_KEY.into(),
        AttributeValue::S(record_sort_key(&request.request_id)),
    );
    item
}

pub fn sweep_shard_key(shard: u8) -> String {
    format!("PENDING#{shard}")
}

/// Why an item could not be read back: the table holds something the code never writes.
#[derive(Debug, thiserror::Error)]
#[error("malformed item: attribute {0}")]
pub struct MalformedItem(pub(crate) &'static str);

pub(crate) fn get_s<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(MalformedItem(name)),
    }
}

pub(crate) fn get_n<T: std::str::FromStr>(
    item: &Item,
    name: &'static str,
) -> Result<T, MalformedItem> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| MalformedItem(name)),
        _ => Err(MalformedItem(name)),
    }
}

pub(crate) fn get_time(item: &Item, name: &'static str) -> Result<OffsetDateTime, MalformedItem> {
    let millis: i64 = get_n(item, name)?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| MalformedItem(name))
}

pub(crate) fn get_text<const MAX: usize>(
    item: &Item,
    name: &'static str,
) -> Result<Text<MAX>, MalformedItem> {
    Text::parse(name, get_s(item, name)?.to_owned()).map_err(|_| MalformedItem(name))
}

/// Every attribute [`request_from_item`] reads, and nothing else: reads of requests ask
/// DynamoDB for these alone, so a page of the queue leaves out the sort key, `status` and the
/// index attributes (a fifth of each entry) instead of sending and parsing them.
pub const REQUEST_PROJECTION: &str = "storeId, requestId, requestType, priority, details, \
    statusCode, requestedBy, createdAt, deadline, updatedAt, version, decision, respondedBy, \
    respondedAt, responseNote";

/// Reads a queue entry or a record back into a request.
pub fn request_from_item(item: &Item) -> Result<SupervisorRequest, MalformedItem> {
    let priority = get_s(item, "priority")?;
    let response = match item.get("decision") {
        None => None,
        Some(_) => Some(SupervisorResponse {
            decision: Decision::parse(get_s(item, "decision")?).ok_or(MalformedItem("decision"))?,
            responded_by: get_s(item, "respondedBy")?.to_owned(),
            responded_at: get_time(item, "respondedAt")?,
            note: match item.get("responseNote") {
                None => None,
                Some(_) => Some(get_text(item, "responseNote")?),
            },
        }),
    };
    Ok(SupervisorRequest {
        store_id: StoreId::parse(get_s(item, PARTITION_KEY)?)
            .map_err(|_| MalformedItem(PARTITION_KEY))?,
        request_id: RequestId::parse(get_s(item, "requestId")?)
            .map_err(|_| MalformedItem("requestId"))?,
        request_type: RequestType::parse(get_s(item, "requestType")?)
            .ok_or(MalformedItem("requestType"))?,
        priority: Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == priority)
            .ok_or(MalformedItem("priority"))?,
        details: get_text(item, "details")?,
        status_code: RequestStatusCode::parse(get_s(item, "statusCode")?)
            .ok_or(MalformedItem("statusCode"))?,
        requested_by: get_s(item, "requestedBy")?.to_owned(),
        created_at: get_time(item, "createdAt")?,
        deadline: get_time(item, DEADLINE)?,
        updated_at: get_time(item, "updatedAt")?,
        version: get_n(item, VERSION)?,
        response,
    })
}

/// The sort key of an item returned by a Query, for cursors.
pub fn sort_key_of(item: &Item) -> Result<&str, MalformedItem> {
    get_s(item, SORT_KEY)
}
