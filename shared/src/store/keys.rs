//! The key schema of both tables and their access patterns: the one place that knows them.
//!
//! ## The `supervisor-requests` table
//!
//! | item | `storeId` (PK) | `sk` (SK) | other keys |
//! | --- | --- | --- | --- |
//! | queue entry | store id | `{status}#{rank}#{createdMs:013}#{requestId}` | pending only: `sweepShard`, `deadline` (GSI `byDeadline`); `requesterKey` = `{storeId}#{requestedBy}` (GSI `byRequester`, SK `sk`) |
//! | request record | store id | `REQUEST#{requestId}` | — |
//! | idempotency record | store id | `IDEMPOTENCY#{caller}#{key}` (caller: a digest of its subject) | `expiresAt` (TTL) |
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
//! | list the queue / the history | `Query`, forward, `Limit`, projection [`crate::store::codec::REQUEST_PROJECTION`] | `storeId`, `begins_with(sk, "PENDING#")` / `"NOT_PENDING#"` |
//! | list by creation time | one `Query` per priority, forward | `storeId`, `sk BETWEEN "{status}#{rank}#{sinceMs}" AND "{status}#{rank}#{untilMs}"` |
//! | list one priority | `Query`, forward | `storeId`, `begins_with(sk, "{status}#{rank}#")` (with a time range: that priority's `BETWEEN`) |
//! | a requester's own requests (`requestedBy=me`) | the same `Query` on GSI `byRequester` | `requesterKey = "{storeId}#{subject}"` and the same `sk` conditions |
//! | history newest first (`order=newest`) | `Query` on GSI `historyByTime`, backward | `historyKey = storeId` (history entries only: sparse), sort `closedKey = {closedMs:013}#{id}` |
//! | history by decision (`decision=`) | either history Query with a filter on `decision` | — (a filter: read units spent on the other outcomes) |
//! | edit, answer, time out (moves the entry when status or priority changes) | `GetItem` record, then `TransactWriteItems`: delete old entry + put new entry + put record | `version = :read` |
//! | delete a request | `GetItem` record, then `TransactWriteItems`: delete entry + record | `version = :read` |
//! | replay an idempotent create | `GetItem` (consistent) | `storeId`, `sk = IDEMPOTENCY#{caller}#{key}` |
//! | find expired pending requests, all stores | `Query` on GSI `byDeadline`, per shard | `sweepShard = "PENDING#{n}"`, `deadline <= :now` |
//!
//! The `byDeadline` index is sparse: only pending queue entries carry `sweepShard`, so the
//! sweeper never reads history, and it never scans. Spreading pending entries over
//! [`SWEEP_SHARDS`] partitions keeps one index partition from taking every store's writes.
//!
//! ## The `preferred-items` table
//!
//! Name from `ITEMS_TABLE`.
//!
//! | item | `storeId` (PK) | `sk` (SK) | other keys |
//! | --- | --- | --- | --- |
//! | master item | store id | `MASTER#{masterItemId}` | `masterListKey` = store id (sparse GSI `mastersByStore`) |
//! | item | store id | `MASTER#{masterItemId}#ITEM#{ulid}` | — |
//! | scoring weights | store id | `SCORING_WEIGHTS` | — |
//!
//! A master item sorts just before its candidates, so one Query on
//! `begins_with(sk, "MASTER#{id}")` returns the master item (its currency and pin) and every
//! candidate: the whole input of the preferred-item choice. Ids are fixed-width ULIDs, so one
//! master's prefix never matches another's. An item's id is `{masterItemId}-{ulid}`
//! ([`ItemId`]), so `/items/{itemId}` names the item's key by itself: reads, edits and
//! deletes go straight to it, one request each, with no copy to keep in step. The master
//! item counts its items (`itemCount`): creating an item increments
//! it in the same transaction that checks the master exists and shares the item's currency,
//! and a master item is deleted only while the count is 0, so no item is ever orphaned.
//!
//! | access pattern | DynamoDB call |
//! | --- | --- |
//! | create / read a master item | `PutItem` (`attribute_not_exists`) / `GetItem` |
//! | list master items | `Query` on GSI `mastersByStore`, `masterListKey = store` |
//! | edit a master item | `UpdateItem`, `version = :expected` |
//! | delete a master item | `DeleteItem`, `itemCount = 0` (and `version`), else 409 |
//! | create an item | `TransactWriteItems`: update master (`ADD itemCount 1`, exists, same currency) + put item |
//! | read an item | `GetItem` (consistent) on `MASTER#{m}#ITEM#{ulid}`, both from the item id |
//! | list a master's items | `Query`, `begins_with(sk, "MASTER#{m}")` (the master item comes first) |
//! | edit an item | `UpdateItem`, `version = :expected` (and `currency = :new` for a new price) |
//! | delete an item | `TransactWriteItems`: delete item (exists, `version` if sent) + update master (`ADD itemCount -1`) |
//! | preferred item | `Query`, `begins_with(sk, "MASTER#{m}")`, and `GetItem` weights, concurrently |
//! | pin / unpin | `TransactWriteItems`: check the candidate is eligible + update master / `UpdateItem` |
//! | read / replace weights | `GetItem` / `PutItem` on `SCORING_WEIGHTS` |

//!
//! ## The `supervisor-request-events` table (the audit trail)
//!
//! Name from `EVENTS_TABLE`. Events are immutable: every function may only put them
//! (conditioned on the key not existing), never update or delete them (template.yaml's
//! policies); DynamoDB's TTL on `expiresAt` ends them after the history retention.
//!
//! | item | `storeId` (PK) | `sk` (SK) | other keys |
//! | --- | --- | --- | --- |
//! | event | store id | `{requestId}#{version:010}` | `eventAt` = `{atMs:013}#{requestId}#{version:010}` (GSI `byTime`, PK `storeId`) |
//!
//! | access pattern | DynamoDB call |
//! | --- | --- |
//! | append an event | a `Put` (`attribute_not_exists(sk)`) inside the transaction of the change |
//! | a request's events, in order | `Query`, forward, `begins_with(sk, "{requestId}#")` |
//! | a store's events, newest first | `Query` on GSI `byTime`, backward, `storeId = :store` |
//! | a store's events in `[start, end)` (reports) | `Query` on GSI `byTime` per sub-range, concurrently: `storeId = :store AND eventAt BETWEEN "{startMs:013}" AND "{endMs:013}"` |
//! | when requests raised before a report's range were created | `BatchGetItem` of their `created` events, `{requestId}#0000000001` ([`CREATED_VERSION`]) |
//!
//! One event per version: two writers racing for the same change (an answer and the
//! sweeper) would both put `{requestId}#{version}`, so at most one transaction succeeds.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::domain::audit::RequestEvent;
use crate::domain::ids::{ItemId, MasterItemId, RequestId, StoreId};
use crate::domain::millis::unix_millis;
use crate::domain::supervisor_request::{Priority, RequestStatus, SupervisorRequest};
/// Attributes the codec writes that are also keys or key conditions here: named once, in
/// [`crate::store::attributes`], which imports nothing.
pub use crate::store::attributes::{DEADLINE, EXPIRES_AT, PARTITION_KEY, VERSION};
use crate::store::codec::{Attributes, MalformedItem, get_s, request_attributes, s};

pub const SORT_KEY: &str = "sk";
pub const DEADLINE_INDEX: &str = "byDeadline";
pub const SWEEP_SHARD: &str = "sweepShard";

/// Partitions of the `byDeadline` index.
pub const SWEEP_SHARDS: u8 = 4;

const RECORD_PREFIX: &str = "REQUEST#";
const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";

/// The condition that the item is there: every item keyed `storeId`/`sk` has a sort key.
pub fn exists() -> String {
    format!("attribute_exists({SORT_KEY})")
}

/// The condition that no item holds the key yet.
pub fn absent() -> String {
    format!("attribute_not_exists({SORT_KEY})")
}

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

pub fn key(store: &StoreId, sort_key: String) -> Attributes {
    HashMap::from([
        (PARTITION_KEY.to_owned(), s(store.as_str())),
        (SORT_KEY.to_owned(), s(&sort_key)),
    ])
}

/// A queue sort key read back from a cursor must belong to the status it is used with.
pub fn is_queue_sort_key_of(sort_key: &str, status: RequestStatus) -> bool {
    parse_queue_sort_key(sort_key).is_some_and(|key| key.status == status)
}

/// A queue sort key taken apart: what a cursor's position claims to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueKey {
    pub status: RequestStatus,
    pub priority: Priority,
    pub created_millis: i64,
    pub request_id: RequestId,
}

/// The parts of `{status}#{rank}#{ms:013}#{requestId}`, if `sort_key` is exactly one (as
/// [`queue_sort_key`] spells it). Cursors carry sort keys; a sealed one is still input.
pub fn parse_queue_sort_key(sort_key: &str) -> Option<QueueKey> {
    let mut parts = sort_key.split('#');
    let status = RequestStatus::parse(parts.next()?)?;
    let priority = Priority::from_rank(single_digit(parts.next()?)?)?;
    let created_millis = fixed_digits(parts.next()?, 13)?;
    let request_id = canonical_request_id(parts.next()?)?;
    parts.next().is_none().then_some(QueueKey {
        status,
        priority,
        created_millis,
        request_id,
    })
}

/// The request a `historyByTime` key `{ms:013}#{requestId}` ([`closed_key`]) names.
pub fn parse_closed_key(closed: &str) -> Option<RequestId> {
    let (millis, id) = closed.split_once('#')?;
    fixed_digits(millis, 13)?;
    canonical_request_id(id)
}

/// Whether `sort_key` is one of request `id`'s events: `{id}#{version:010}`.
pub fn is_event_sort_key_of(sort_key: &str, id: &RequestId) -> bool {
    sort_key
        .strip_prefix(&events_prefix(id))
        .and_then(|version| fixed_digits(version, 10))
        .is_some()
}

/// The request and version a store-events position `{ms:013}#{requestId}#{version:010}`
/// ([`event_time_key`]) names.
pub fn parse_event_time_key(key: &str) -> Option<(RequestId, u64)> {
    let mut parts = key.split('#');
    fixed_digits(parts.next()?, 13)?;
    let id = canonical_request_id(parts.next()?)?;
    let version = fixed_digits(parts.next()?, 10)?;
    parts
        .next()
        .is_none()
        .then_some((id, u64::try_from(version).ok()?))
}

/// Whether `sort_key` is a master item's own key, `MASTER#{masterItemId}`.
pub fn is_master_sort_key(sort_key: &str) -> bool {
    sort_key
        .strip_prefix("MASTER#")
        .and_then(|id| MasterItemId::parse(id).ok())
        .is_some_and(|id| master_sort_key(&id) == sort_key)
}

/// Whether `sort_key` is one of `master`'s candidates, `MASTER#{m}#ITEM#{ulid}`.
pub fn is_candidate_sort_key_of(sort_key: &str, master: &MasterItemId) -> bool {
    sort_key
        .strip_prefix(&candidate_prefix(master))
        .and_then(|own| ItemId::parse(&format!("{master}-{own}")).ok())
        .is_some_and(|id| candidate_sort_key(&id) == sort_key)
}

fn single_digit(raw: &str) -> Option<u8> {
    (raw.len() == 1).then_some(())?;
    raw.parse().ok()
}

fn fixed_digits(raw: &str, width: usize) -> Option<i64> {
    (raw.len() == width && raw.bytes().all(|b| b.is_ascii_digit())).then_some(())?;
    raw.parse().ok()
}

/// A request id spelled exactly as the store spells it (so the key it rebuilds is the key
/// it read).
fn canonical_request_id(raw: &str) -> Option<RequestId> {
    RequestId::parse(raw)
        .ok()
        .filter(|id| id.to_string() == raw)
}

/// The queue entry; pending entries also enter the sparse `byDeadline` index.
pub fn queue_item(request: &SupervisorRequest) -> Attributes {
    let mut item = request_attributes(request);
    item.insert(SORT_KEY.into(), s(&queue_sort_key(request)));
    item.insert(
        REQUESTER_KEY.into(),
        s(&requester_key(&request.store_id, &request.requested_by)),
    );
    if !request.is_pending() {
        item.insert(HISTORY_KEY.into(), s(request.store_id.as_str()));
        item.insert(CLOSED_KEY.into(), s(&closed_key(request)));
    }
    if request.is_pending() {
        let shard = request.request_id.shard(SWEEP_SHARDS);
        item.insert(SWEEP_SHARD.into(), s(&sweep_shard_key(shard)));
    }
    item
}

pub fn record_item(request: &SupervisorRequest) -> Attributes {
    let mut item = request_attributes(request);
    item.insert(SORT_KEY.into(), s(&record_sort_key(&request.request_id)));
    item
}

pub const HISTORY_INDEX: &str = "historyByTime";
pub const HISTORY_KEY: &str = "historyKey";
pub const CLOSED_KEY: &str = "closedKey";

/// `{closedMs:013}#{requestId}`: when a request left the queue (answered, or its deadline),
/// so a backward Query of `historyByTime` is the history newest first.
pub fn closed_key(request: &SupervisorRequest) -> String {
    format!(
        "{:013}#{}",
        unix_millis(request.updated_at).max(0),
        request.request_id
    )
}

pub const REQUESTER_INDEX: &str = "byRequester";
pub const REQUESTER_KEY: &str = "requesterKey";

/// `{storeId}#{requestedBy}`: a requester's own requests in a store, in queue order.
pub fn requester_key(store: &StoreId, subject: &str) -> String {
    format!("{store}#{subject}")
}

pub fn sweep_shard_key(shard: u8) -> String {
    format!("PENDING#{shard}")
}

/// The sort key of an item returned by a Query, for cursors.
pub fn sort_key_of(item: &Attributes) -> Result<&str, MalformedItem> {
    get_s(item, SORT_KEY)
}

// --- the `preferred-items` table ---

pub const MASTERS_INDEX: &str = "mastersByStore";
pub const MASTER_LIST_KEY: &str = "masterListKey";
pub const WEIGHTS_SORT_KEY: &str = "SCORING_WEIGHTS";

pub fn master_sort_key(id: &MasterItemId) -> String {
    format!("MASTER#{id}")
}

pub fn candidate_prefix(id: &MasterItemId) -> String {
    format!("MASTER#{id}#ITEM#")
}

/// `MASTER#{masterItemId}#ITEM#{ulid}`: the item id names its master, so the key needs no read.
pub fn candidate_sort_key(id: &ItemId) -> String {
    format!("{}{}", candidate_prefix(&id.master()), id.own())
}

/// A master item with its keys; it also enters the sparse `mastersByStore` index.
pub fn master_item(master: &crate::domain::catalog::MasterItem) -> Attributes {
    let mut item = crate::store::codec::master_attributes(master);
    item.extend(key(
        &master.store_id,
        master_sort_key(&master.master_item_id),
    ));
    item.insert(MASTER_LIST_KEY.into(), s(master.store_id.as_str()));
    item
}

/// An item (candidate) with its keys.
pub fn candidate_item(entry: &crate::domain::catalog::Item) -> Attributes {
    let mut item = crate::store::codec::item_attributes(entry);
    item.extend(key(&entry.store_id, candidate_sort_key(&entry.item_id)));
    item
}

// --- the `supervisor-request-events` table ---

pub const EVENTS_BY_TIME_INDEX: &str = "byTime";
pub const EVENT_TIME: &str = "eventAt";

/// `{requestId}#`: every event of one request, in version order.
pub fn events_prefix(id: &RequestId) -> String {
    format!("{id}#")
}

pub fn event_sort_key(id: &RequestId, version: u64) -> String {
    format!("{id}#{version:010}")
}

/// A request's `created` event is its first version ([`SupervisorRequest::new`] starts at 1),
/// so its key follows from the request id alone.
pub const CREATED_VERSION: u64 = 1;

/// A `byTime` bound, `{ms:013}`: it sorts after every event before `ms` and before every event
/// at or after it (a key of its own adds `#…`), so `BETWEEN bound(start) AND bound(end)` is
/// exactly the events in `[start, end)`.
pub fn event_time_bound(at_millis: i64) -> String {
    format!("{:013}", at_millis.max(0))
}

/// Sorts a store's events by time (then request and version, for equal milliseconds).
pub fn event_time_key(event: &RequestEvent) -> String {
    format!(
        "{:013}#{}#{:010}",
        unix_millis(event.at).max(0),
        event.request_id,
        event.version
    )
}

/// An event with its keys; `expires_at` (Unix seconds) ends it by TTL.
pub fn event_item(event: &RequestEvent, expires_at: i64) -> Attributes {
    let mut item = crate::store::codec::event_attributes(event);
    item.extend(key(
        &event.store_id,
        event_sort_key(&event.request_id, event.version),
    ));
    item.insert(EVENT_TIME.into(), s(&event_time_key(event)));
    item.insert(EXPIRES_AT.into(), crate::store::codec::n(expires_at));
    item
}

// --- the `websocket-connections` table ---
//
// | item | `connectionId` (PK) | other keys |
// | --- | --- | --- |
// | an open WebSocket connection | API Gateway's connection id | `storeId` (GSI `byStore`, SK `connectionId`); `expiresAt` (TTL: 2 h, API Gateway's own limit) |
//
// | access pattern | DynamoDB call |
// | --- | --- |
// | `$connect` / `$disconnect`, a 410 Gone | `PutItem` / `DeleteItem` by `connectionId` |
// | who listens to a store | `Query` on GSI `byStore`, `storeId = :store` |

pub const CONNECTION_ID: &str = "connectionId";
pub const CONNECTIONS_BY_STORE_INDEX: &str = "byStore";
