//! The supervisor-request store over aws-sdk-dynamodb.
//!
//! Every call goes through here; [`crate::store::keys`] says what the keys look like and
//! [`crate::store::codec`] what the attributes hold. Errors are classified once ([`crate::store::table`]):
//! throttling and unreachable stores become [`StoreError::Unavailable`] (the SDK has already
//! made its bounded retries), failed conditions and transaction conflicts are reported so
//! callers can decide what they mean.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::audit::RequestEvent;
use crate::domain::ids::{RequestId, StoreId};
use crate::domain::millis::unix_millis;
use crate::domain::supervisor_request::{
    Decision, Priority, Refusal, RequestStatus, SupervisorRequest, Transition,
};
use crate::store::attributes::DECISION;
use crate::store::codec::{Attributes, REQUEST_PROJECTION, event_from_item, n, request_from_item};
use crate::store::idempotency::{self, IdempotencyKey, IdempotencyRecord};
use crate::store::keys;
use crate::store::table::{Entity, StoreError, Table, backoff, classify};

/// Which requests a list returns.
#[derive(Clone, Debug)]
pub struct ListQuery {
    pub store: StoreId,
    pub status: RequestStatus,
    /// Inclusive lower bound on creation time.
    pub since: Option<OffsetDateTime>,
    /// Exclusive upper bound on creation time.
    pub until: Option<OffsetDateTime>,
    pub limit: usize,
    /// The queue leaves out what is past its deadline at this instant: timed out, whether
    /// or not the sweeper has moved it yet.
    pub now: OffsetDateTime,
    /// Only this priority: a key condition.
    pub priority: Option<Priority>,
    /// Only the requests this subject raised: the `byRequester` index.
    pub requested_by: Option<String>,
    /// History only: answered with this decision (a filter in DynamoDB).
    pub decision: Option<Decision>,
}

impl ListQuery {
    /// What a cursor of this query is bound to (sealed in as associated data): the store,
    /// every filter and the caller, so it continues no other query.
    pub fn cursor_binding(&self, caller: &str) -> String {
        format!(
            "list-requests|{}|{}|{}|{}|{}|{}|{}|{caller}",
            self.store,
            self.status.as_str(),
            self.since.map(unix_millis).unwrap_or(-1),
            self.until.map(unix_millis).unwrap_or(-1),
            self.priority.map_or("", Priority::as_str),
            self.requested_by.is_some(),
            self.decision.map_or("", Decision::as_str),
        )
    }

    fn has_time_range(&self) -> bool {
        self.since.is_some() || self.until.is_some()
    }

    /// Whether `from` can continue this query: its key lies within the key condition the
    /// query will use (DynamoDB refuses any other start key), of this status, priority and
    /// creation-time range. A sealed cursor is still input.
    pub fn admits(&self, from: &ListPosition) -> bool {
        let rank = match from.rank {
            None => None,
            // Only a time-ranged list reads priority by priority.
            Some(_) if !self.has_time_range() => return false,
            Some(rank) => match Priority::from_rank(rank) {
                Some(priority) if self.priority.is_none_or(|only| only == priority) => {
                    Some(priority)
                }
                _ => return false,
            },
        };
        let Some(after) = &from.after else {
            return true;
        };
        let Some(key) = keys::parse_queue_sort_key(after) else {
            return false;
        };
        if key.status != self.status || self.priority.is_some_and(|only| only != key.priority) {
            return false;
        }
        if !self.has_time_range() {
            return true;
        }
        // The range `list` queries for this position's priority.
        if key.priority != rank.unwrap_or(Priority::Urgent) {
            return false;
        }
        let (low, high) = self.created_range(key.priority);
        (low.as_str()..=high.as_str()).contains(&after.as_str())
    }

    /// The sort-key bounds (`BETWEEN low AND high`) of one priority's entries created in
    /// `[since, until)`: what a time-ranged list queries, and so what its cursors may hold.
    fn created_range(&self, priority: Priority) -> (String, String) {
        let low = match self.since {
            Some(since) => keys::created_bound(self.status, priority, since),
            None => keys::priority_prefix(self.status, priority),
        };
        let high = match self.until {
            Some(until) => keys::created_bound(self.status, priority, until),
            None => keys::priority_upper_bound(self.status, priority),
        };
        (low, high)
    }
}

/// Where the next page starts: the priority being read (time-ranged lists read one
/// priority at a time) and the last sort key returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPosition {
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<u8>,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

pub struct Page {
    pub items: Vec<SupervisorRequest>,
    pub next: Option<ListPosition>,
}

/// Attempts of a read-modify-write before giving up under contention.
const MODIFY_ATTEMPTS: u32 = 6;

/// How long answered and timed-out requests, and every event, are kept by default.
pub const DEFAULT_HISTORY_RETENTION: Duration = Duration::days(400);

#[derive(Clone, Debug)]
pub struct RequestStore {
    table: Table,
    events: Table,
    /// How long history and events are kept: DynamoDB's TTL removes them after.
    retention: Duration,
}

impl RequestStore {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        events_table: impl Into<String>,
        retention: Duration,
    ) -> Self {
        Self {
            table: Table::new(client.clone(), table),
            events: Table::new(client, events_table),
            retention,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        self.table.name()
    }

    /// The audit trail's table name.
    pub fn events_table(&self) -> &str {
        self.events.name()
    }

    pub fn client(&self) -> &Client {
        self.table.client()
    }

    /// The queue entry and record of `request`; history also carries its TTL.
    fn items(&self, request: &SupervisorRequest) -> [Attributes; 2] {
        let mut items = [keys::queue_item(request), keys::record_item(request)];
        if !request.is_pending() {
            let expires = (request.updated_at + self.retention).unix_timestamp();
            for item in &mut items {
                item.insert(keys::EXPIRES_AT.into(), n(expires));
            }
        }
        items
    }

    /// The put of an event: never over another (one event per version).
    fn event(&self, event: &RequestEvent) -> TransactWriteItem {
        let expires = (event.at + self.retention).unix_timestamp();
        self.events
            .put(keys::event_item(event, expires), &keys::absent(), None)
    }

    /// Writes a new request (queue entry and record), its `created` event, and its
    /// idempotency record if any, in one transaction. `ConditionFailed` means the idempotency key is taken.
    pub async fn create(
        &self,
        request: &SupervisorRequest,
        event: &RequestEvent,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        let new = keys::absent();
        let [queue_entry, record] = self.items(request);
        let mut items = vec![
            self.table.put(queue_entry, &new, None),
            self.table.put(record, &new, None),
            self.event(event),
        ];
        if let Some(record) = idempotency {
            items.push(idempotency::put(&self.table, &request.store_id, record));
        }
        self.table.transact(items).await
    }

    /// The record an earlier create left under `key`, unless its window had passed at `now`.
    pub async fn idempotency_record(
        &self,
        store: &StoreId,
        key: &IdempotencyKey,
        now: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        idempotency::find(&self.table, store, key, now).await
    }

    /// One request by id: one consistent key read of its record.
    pub async fn get(
        &self,
        store: &StoreId,
        id: &RequestId,
    ) -> Result<Option<SupervisorRequest>, StoreError> {
        let item = self.table.get(store, keys::record_sort_key(id)).await?;
        Ok(item.map(|item| request_from_item(&item)).transpose()?)
    }

    /// Writes a transition of `before` and its event in one transaction: `after` over
    /// `before` (moving the queue entry when its sort key changes), or both items deleted.
    /// Fails with `ConditionFailed` if either item is no longer at `before`'s version, or
    /// the event's version was taken, so concurrent writers can neither lose nor duplicate a
    /// request or an event.
    pub async fn apply(
        &self,
        before: &SupervisorRequest,
        transition: &Transition,
    ) -> Result<(), StoreError> {
        const SAME_VERSION: &str = "#v = :v";
        let version = Some(before.version);
        let store = &before.store_id;
        let old_key = keys::queue_sort_key(before);
        let mut items = Vec::with_capacity(4);
        match &transition.after {
            Some(after) => {
                let [queue_entry, record] = self.items(after);
                if old_key == keys::queue_sort_key(after) {
                    items.push(self.table.put(queue_entry, SAME_VERSION, version));
                } else {
                    items.push(self.table.delete(store, old_key, before.version));
                    items.push(self.table.put(queue_entry, &keys::absent(), None));
                }
                items.push(self.table.put(record, SAME_VERSION, version));
            }
            None => {
                items.push(self.table.delete(store, old_key, before.version));
                items.push(self.table.delete(
                    store,
                    keys::record_sort_key(&before.request_id),
                    before.version,
                ));
            }
        }
        items.push(self.event(&transition.event));
        self.table.transact(items).await
    }

    /// Reads the current request, lets `decide` choose the transition, and writes it; on a
    /// lost race it reads again and lets `decide` judge the new state (which may now refuse).
    ///
    /// A deadline is a deadline: a request found past it is timed out here, in the same
    /// kind of transaction, and the change is refused with [`Refusal::TimedOut`] without
    /// asking `decide`. `decide` refuses in its own error type (a rule, a permission, a stale
    /// version); the store's own failures and refusals convert into it. Returns the request
    /// after the change (`None` when removed).
    pub async fn modify<E: From<StoreError> + From<Refusal>>(
        &self,
        store: &StoreId,
        id: &RequestId,
        now: OffsetDateTime,
        mut decide: impl FnMut(&SupervisorRequest) -> Result<Transition, E>,
    ) -> Result<Option<SupervisorRequest>, E> {
        for attempt in 1..=MODIFY_ATTEMPTS {
            let current = self
                .get(store, id)
                .await?
                .ok_or(StoreError::NotFound(Entity::Request))?;
            let (transition, late) = match current.time_out(now) {
                Some(timed_out) => (timed_out, true),
                None => (decide(&current)?, false),
            };
            match self.apply(&current, &transition).await {
                Ok(()) if late => return Err(Refusal::TimedOut.into()),
                Ok(()) => return Ok(transition.after),
                // Changed under us (maybe answered, or timed out by the sweeper): judge again.
                Err(StoreError::ConditionFailed(_)) => {}
                Err(StoreError::TransactionConflict) if attempt < MODIFY_ATTEMPTS => {
                    backoff(attempt).await
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::TransactionConflict.into())
    }

    /// One page of a store's queue or history, in queue order.
    ///
    /// Without a time range this is one Query. With one, the range is a key condition
    /// within each priority, so it reads one priority after another: at most one Query per
    /// priority level per page.
    pub async fn list(
        &self,
        query: &ListQuery,
        from: Option<ListPosition>,
    ) -> Result<Page, StoreError> {
        let from = from.unwrap_or(ListPosition {
            rank: None,
            after: None,
        });
        if !query.admits(&from) {
            return Err(StoreError::InvalidCursor);
        }
        if !query.has_time_range() {
            let prefix = match query.priority {
                Some(priority) => keys::priority_prefix(query.status, priority),
                None => keys::status_prefix(query.status),
            };
            let (items, next) = self
                .query_queue(query, KeyRange::Prefix(&prefix), from.after, query.limit)
                .await?;
            return Ok(Page {
                items,
                next: next.map(|after| ListPosition {
                    rank: None,
                    after: Some(after),
                }),
            });
        }

        let first_rank = from.rank.unwrap_or(Priority::Urgent.rank());
        let mut after = from.after;
        let mut items = Vec::with_capacity(query.limit);
        let priorities = Priority::ALL
            .into_iter()
            .filter(|p| query.priority.is_none_or(|only| only == *p));
        for priority in priorities.filter(|p| p.rank() >= first_rank) {
            let (low, high) = query.created_range(priority);
            let remaining = query.limit - items.len();
            let (mut page, next) = self
                .query_queue(
                    query,
                    KeyRange::Between(&low, &high),
                    after.take(),
                    remaining,
                )
                .await?;
            items.append(&mut page);
            if let Some(after) = next {
                return Ok(Page {
                    items,
                    next: Some(ListPosition {
                        rank: Some(priority.rank()),
                        after: Some(after),
                    }),
                });
            }
            if items.len() == query.limit && query.priority.is_none() {
                // The page is full exactly at the end of this priority.
                let next = Priority::from_rank(priority.rank() + 1).map(|p| ListPosition {
                    rank: Some(p.rank()),
                    after: None,
                });
                return Ok(Page { items, next });
            }
        }
        Ok(Page { items, next: None })
    }

    /// One Query within `range`, asking for one item more than needed so the answer tells
    /// whether another page follows.
    async fn query_queue(
        &self,
        query: &ListQuery,
        range: KeyRange<'_>,
        after: Option<String>,
        limit: usize,
    ) -> Result<(Vec<SupervisorRequest>, Option<String>), StoreError> {
        // A requester's own requests: the same key conditions on the `byRequester` index.
        let (index, partition, value) = match &query.requested_by {
            Some(subject) => (
                Some(keys::REQUESTER_INDEX),
                keys::REQUESTER_KEY,
                keys::requester_key(&query.store, subject),
            ),
            None => (None, keys::PARTITION_KEY, query.store.to_string()),
        };
        let start = after.map(|sk| {
            let mut key = keys::key(&query.store, sk);
            if index.is_some() {
                key.insert(keys::REQUESTER_KEY.into(), AttributeValue::S(value.clone()));
            }
            key
        });
        let mut request = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_names("#pk", partition)
            .expression_attribute_names("#sk", keys::SORT_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(value.clone()))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        request = match range {
            KeyRange::Prefix(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
            KeyRange::Between(low, high) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_values(":low", AttributeValue::S(low.to_owned()))
                .expression_attribute_values(":high", AttributeValue::S(high.to_owned())),
        };
        if query.status == RequestStatus::Pending {
            // Read units are spent on the expired entries the filter drops: at most what
            // expired since the sweeper's last run.
            request = request
                .filter_expression("#deadline > :now")
                .expression_attribute_names("#deadline", keys::DEADLINE)
                .expression_attribute_values(":now", n(unix_millis(query.now)));
        } else if let Some(decision) = query.decision {
            request = answered_with(request, decision);
        }
        let output = request
            .projection_expression(REQUEST_PROJECTION.as_str())
            .send()
            .await
            .map_err(classify)?;
        let mut items = output.items.unwrap_or_default();
        let more = items.len() > limit;
        items.truncate(limit);
        let requests = items
            .iter()
            .map(request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            // The projection leaves the sort key out; the request spells it.
            requests.last().map(keys::queue_sort_key)
        } else {
            // Fewer than asked but more to read: DynamoDB stopped at its 1 MB page size, or
            // at `Limit` with expired entries filtered out.
            match output.last_evaluated_key {
                Some(key) => Some(keys::sort_key_of(&key)?.to_owned()),
                None => None,
            }
        };
        Ok((requests, next))
    }

    /// Pending requests whose deadline is at or before `now`, from one shard of the sparse
    /// `byDeadline` index, oldest deadline first; and where to continue.
    pub async fn expired(
        &self,
        shard: u8,
        now: OffsetDateTime,
        start: Option<Attributes>,
    ) -> Result<(Vec<SupervisorRequest>, Option<Attributes>), StoreError> {
        let output = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name(keys::DEADLINE_INDEX)
            .key_condition_expression("#shard = :shard AND #deadline <= :now")
            .expression_attribute_names("#shard", keys::SWEEP_SHARD)
            .expression_attribute_names("#deadline", keys::DEADLINE)
            .expression_attribute_values(":shard", AttributeValue::S(keys::sweep_shard_key(shard)))
            .expression_attribute_values(":now", AttributeValue::N(unix_millis(now).to_string()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let requests = output
            .items
            .unwrap_or_default()
            .iter()
            .map(request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((requests, output.last_evaluated_key))
    }

    /// How many requests of one `byDeadline` shard are still waiting for an answer at `now`.
    /// A COUNT query: DynamoDB reads the index entries but returns none of them.
    pub async fn waiting(&self, shard: u8, now: OffsetDateTime) -> Result<u32, StoreError> {
        let mut count = 0;
        let mut start = None;
        loop {
            let output = self
                .table
                .client()
                .query()
                .table_name(self.table.name())
                .index_name(keys::DEADLINE_INDEX)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .key_condition_expression("#shard = :shard AND #deadline > :now")
                .expression_attribute_names("#shard", keys::SWEEP_SHARD)
                .expression_attribute_names("#deadline", keys::DEADLINE)
                .expression_attribute_values(
                    ":shard",
                    AttributeValue::S(keys::sweep_shard_key(shard)),
                )
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(unix_millis(now).to_string()),
                )
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            count += u32::try_from(output.count).unwrap_or(0);
            match output.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(count),
            }
        }
    }
}

/// Where the newest-first history continues: the last request's keys in `historyByTime`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPosition {
    #[serde(rename = "c")]
    pub closed: String,
    #[serde(rename = "k")]
    pub sort_key: String,
}

impl HistoryPosition {
    /// Both keys name the same answered or timed-out request, as `historyByTime` holds it.
    fn fits(&self) -> bool {
        keys::parse_queue_sort_key(&self.sort_key).is_some_and(|key| {
            key.status == RequestStatus::NotPending
                && keys::parse_closed_key(&self.closed) == Some(key.request_id)
        })
    }
}

impl RequestStore {
    /// A page of a store's history, newest first (by when each left the queue), optionally of
    /// one decision: one backward Query of the sparse `historyByTime` index.
    pub async fn history_newest(
        &self,
        store: &StoreId,
        decision: Option<Decision>,
        from: Option<HistoryPosition>,
        limit: usize,
    ) -> Result<(Vec<SupervisorRequest>, Option<HistoryPosition>), StoreError> {
        if let Some(position) = &from
            && !position.fits()
        {
            return Err(StoreError::InvalidCursor);
        }
        let start = from.map(|position| {
            let mut key = keys::key(store, position.sort_key);
            key.insert(
                keys::HISTORY_KEY.into(),
                AttributeValue::S(store.to_string()),
            );
            key.insert(keys::CLOSED_KEY.into(), AttributeValue::S(position.closed));
            key
        });
        let mut query = self
            .table
            .client()
            .query()
            .table_name(self.table.name())
            .index_name(keys::HISTORY_INDEX)
            .key_condition_expression("#history = :store")
            .expression_attribute_names("#history", keys::HISTORY_KEY)
            .expression_attribute_values(":store", AttributeValue::S(store.to_string()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .projection_expression(REQUEST_PROJECTION.as_str());
        if let Some(decision) = decision {
            query = answered_with(query, decision);
        }
        let output = query.send().await.map_err(classify)?;
        let mut items = output.items.unwrap_or_default();
        let more = items.len() > limit || output.last_evaluated_key.is_some();
        items.truncate(limit);
        let requests = items
            .iter()
            .map(request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match (more, requests.last()) {
            (true, Some(last)) => Some(HistoryPosition {
                closed: keys::closed_key(last),
                sort_key: keys::queue_sort_key(last),
            }),
            // A filtered page can be empty and still not be the end.
            (true, None) => match output.last_evaluated_key {
                Some(key) => Some(HistoryPosition {
                    closed: crate::store::codec::get_s(&key, keys::CLOSED_KEY)?.to_owned(),
                    sort_key: keys::sort_key_of(&key)?.to_owned(),
                }),
                None => None,
            },
            (false, _) => None,
        };
        Ok((requests, next))
    }
}

/// Where a list of events continues: the sort key (of the request's events, or of the
/// store's time index) of the last event returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPosition {
    #[serde(rename = "k")]
    pub after: String,
}

impl RequestStore {
    /// A page of one request's events, oldest first (by version).
    pub async fn events(
        &self,
        store: &StoreId,
        id: &RequestId,
        from: Option<EventPosition>,
        limit: usize,
    ) -> Result<(Vec<RequestEvent>, Option<EventPosition>), StoreError> {
        let prefix = keys::events_prefix(id);
        if let Some(position) = &from
            && !keys::is_event_sort_key_of(&position.after, id)
        {
            return Err(StoreError::InvalidCursor);
        }
        let query = self
            .events
            .client()
            .query()
            .table_name(self.events.name())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PARTITION_KEY)
            .expression_attribute_names("#sk", keys::SORT_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(store.to_string()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix))
            .consistent_read(true)
            .set_exclusive_start_key(from.map(|p| keys::key(store, p.after)));
        self.event_page(query, limit, |event| {
            keys::event_sort_key(&event.request_id, event.version)
        })
        .await
    }

    /// A page of a store's events, newest first, from the `byTime` index.
    pub async fn store_events(
        &self,
        store: &StoreId,
        from: Option<EventPosition>,
        limit: usize,
    ) -> Result<(Vec<RequestEvent>, Option<EventPosition>), StoreError> {
        let start = from.map(|position| {
            let (request, version) =
                keys::parse_event_time_key(&position.after).ok_or(StoreError::InvalidCursor)?;
            let mut key = keys::key(store, keys::event_sort_key(&request, version));
            key.insert(keys::EVENT_TIME.into(), AttributeValue::S(position.after));
            Ok::<_, StoreError>(key)
        });
        let query = self
            .events
            .client()
            .query()
            .table_name(self.events.name())
            .index_name(keys::EVENTS_BY_TIME_INDEX)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PARTITION_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(store.to_string()))
            .scan_index_forward(false)
            .set_exclusive_start_key(start.transpose()?);
        self.event_page(query, limit, keys::event_time_key).await
    }

    /// Runs an events Query for `limit` events and one more, to tell whether a page follows;
    /// `position` names where the next page starts after an event.
    async fn event_page(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
        position: impl Fn(&RequestEvent) -> String,
    ) -> Result<(Vec<RequestEvent>, Option<EventPosition>), StoreError> {
        let output = query
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        let mut items = output.items.unwrap_or_default();
        let more = items.len() > limit || output.last_evaluated_key.is_some();
        items.truncate(limit);
        let events = items
            .iter()
            .map(event_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            events.last().map(|event| EventPosition {
                after: position(event),
            })
        } else {
            None
        };
        Ok((events, next))
    }
}

/// Only the requests answered with `decision`: a filter in DynamoDB, after the key condition.
fn answered_with(query: QueryFluentBuilder, decision: Decision) -> QueryFluentBuilder {
    query
        .filter_expression(format!("{DECISION} = :decision"))
        .expression_attribute_values(":decision", AttributeValue::S(decision.as_str().into()))
}

enum KeyRange<'a> {
    Prefix(&'a str),
    Between(&'a str, &'a str),
}
