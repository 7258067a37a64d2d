//! The supervisor-request store over aws-sdk-dynamodb.
//!
//! Every call goes through here; [`crate::keys`] says what the keys look like. Errors are
//! classified once: throttling and unreachable stores become [`StoreError::Unavailable`]
//! (the SDK has already made its bounded retries), failed conditions and transaction
//! conflicts are reported so callers can decide what they mean.

use std::fmt::Debug;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::ids::{RequestId, StoreId};
use crate::keys::{self, Item};
use crate::millis::unix_millis;
use crate::supervisor_request::{Priority, RequestStatus, SupervisorRequest};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition on a write did not hold: the item exists, is gone, or has another version.
    #[error("condition failed")]
    ConditionFailed,
    /// Another transaction was writing the same items; retrying may succeed.
    #[error("transaction conflict")]
    TransactionConflict,
    /// Throttled, timed out or unreachable after the SDK's retries.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::ConditionFailed | StoreError::TransactionConflict => ApiError::conflict(
                "concurrent_modification",
                "the request was changed concurrently; fetch it and try again",
            ),
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "store unavailable");
                ApiError::Unavailable
            }
            StoreError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<keys::MalformedItem> for StoreError {
    fn from(error: keys::MalformedItem) -> Self {
        StoreError::Internal(error.to_string())
    }
}

const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

pub(crate) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Debug,
    R: Debug,
{
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{error:?}"))
        }
        SdkError::ServiceError(service) => match service.err().code() {
            Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
            Some(code) if RETRYABLE_CODES.contains(&code) => {
                StoreError::Unavailable(code.to_owned())
            }
            _ => StoreError::Internal(format!("{:?}", service.err())),
        },
        _ => StoreError::Internal(format!("{error:?}")),
    }
}

pub(crate) fn classify_transaction<R: Debug>(
    error: SdkError<TransactWriteItemsError, R>,
) -> StoreError {
    if let SdkError::ServiceError(service) = &error
        && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
    {
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .filter_map(|reason| reason.code())
            .collect();
        return if codes.contains(&"ConditionalCheckFailed") {
            StoreError::ConditionFailed
        } else if codes.contains(&"TransactionConflict") {
            StoreError::TransactionConflict
        } else if codes
            .iter()
            .any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded"))
        {
            StoreError::Unavailable(format!("transaction cancelled: {codes:?}"))
        } else {
            StoreError::Internal(format!("transaction cancelled: {codes:?}"))
        };
    }
    classify(error)
}

/// An `Idempotency-Key` and what the first create with it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: String,
    /// Hash of the caller and the body, to tell a retry from a different request.
    pub fingerprint: String,
    pub request_id: RequestId,
    pub response_body: String,
    pub expires_at: OffsetDateTime,
}

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
}

impl ListQuery {
    fn has_time_range(&self) -> bool {
        self.since.is_some() || self.until.is_some()
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

/// What a read-modify-write of a request decides.
#[allow(clippy::large_enum_variant)] // short-lived, one per write: boxing buys nothing
pub enum Change {
    Replace(SupervisorRequest),
    Delete,
}

/// Attempts of a read-modify-write before giving up under contention.
const MODIFY_ATTEMPTS: u32 = 6;

#[derive(Clone, Debug)]
pub struct RequestStore {
    client: Client,
    table: String,
}

impl RequestStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn put(&self, item: Item, condition: &str, version: Option<u64>) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(version) = version {
            put = put
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()));
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table, item and condition are set"))
            .build()
    }

    fn delete(&self, store: &StoreId, sort_key: String, version: u64) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(keys::key(store, sort_key)))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .build()
            .expect("table, key and condition are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(classify_transaction)
    }

    /// Writes a new request (queue entry and record), and its idempotency record if any, in
    /// one transaction. `ConditionFailed` means the idempotency key is taken.
    pub async fn create(
        &self,
        request: &SupervisorRequest,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), StoreError> {
        const NEW: &str = "attribute_not_exists(sk)";
        let mut items = vec![
            self.put(keys::queue_item(request), NEW, None),
            self.put(keys::record_item(request), NEW, None),
        ];
        if let Some(record) = idempotency {
            // A record past its window counts as none: DynamoDB's TTL deletes it only
            // eventually (often days later), and the key is free again once it expires.
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(idempotency_item(&request.store_id, record)))
                .condition_expression("attribute_not_exists(sk) OR #expiresAt < :now")
                .expression_attribute_names("#expiresAt", keys::EXPIRES_AT)
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(request.created_at.unix_timestamp().to_string()),
                )
                .build()
                .expect("table, item and condition are set");
            items.push(TransactWriteItem::builder().put(put).build());
        }
        self.transact(items).await
    }

    /// The record an earlier create left under `key`, unless its window had passed at `now`
    /// (whole seconds, as the create's condition compares): TTL removes such records late.
    pub async fn idempotency_record(
        &self,
        store: &StoreId,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let item = self
            .get_item(store, keys::idempotency_sort_key(key))
            .await?;
        let record = item.map(|item| idempotency_from_item(&item)).transpose()?;
        Ok(record.filter(|record| record.expires_at.unix_timestamp() >= now.unix_timestamp()))
    }

    async fn get_item(
        &self,
        store: &StoreId,
        sort_key: String,
    ) -> Result<Option<Item>, StoreError> {
        get_consistent(&self.client, &self.table, store, sort_key).await
    }

    /// One request by id: one consistent key read of its record.
    pub async fn get(
        &self,
        store: &StoreId,
        id: &RequestId,
    ) -> Result<Option<SupervisorRequest>, StoreError> {
        let item = self.get_item(store, keys::record_sort_key(id)).await?;
        Ok(item
            .map(|item| keys::request_from_item(&item))
            .transpose()?)
    }

    /// Writes `after` over `before` in one transaction, moving the queue entry when its sort
    /// key changes. Fails with `ConditionFailed` if either item is no longer at `before`'s
    /// version, so concurrent writers can neither lose nor duplicate a request.
    pub async fn replace(
        &self,
        before: &SupervisorRequest,
        after: &SupervisorRequest,
    ) -> Result<(), StoreError> {
        const SAME_VERSION: &str = "#v = :v";
        let version = Some(before.version);
        let old_key = keys::queue_sort_key(before);
        let mut items = Vec::with_capacity(3);
        if old_key == keys::queue_sort_key(after) {
            items.push(self.put(keys::queue_item(after), SAME_VERSION, version));
        } else {
            items.push(self.delete(&before.store_id, old_key, before.version));
            items.push(self.put(keys::queue_item(after), "attribute_not_exists(sk)", None));
        }
        items.push(self.put(keys::record_item(after), SAME_VERSION, version));
        self.transact(items).await
    }

    /// Deletes the queue entry and the record together.
    pub async fn remove(&self, request: &SupervisorRequest) -> Result<(), StoreError> {
        let store = &request.store_id;
        self.transact(vec![
            self.delete(store, keys::queue_sort_key(request), request.version),
            self.delete(
                store,
                keys::record_sort_key(&request.request_id),
                request.version,
            ),
        ])
        .await
    }

    /// Reads the current request, lets `decide` choose the change, and writes it; on a lost
    /// race it reads again and lets `decide` judge the new state (which may now refuse).
    pub async fn modify(
        &self,
        store: &StoreId,
        id: &RequestId,
        mut decide: impl FnMut(&SupervisorRequest) -> Result<Change, ApiError>,
    ) -> Result<Option<SupervisorRequest>, ApiError> {
        for attempt in 1..=MODIFY_ATTEMPTS {
            let current = self
                .get(store, id)
                .await?
                .ok_or(ApiError::NotFound("supervisor request not found"))?;
            let change = decide(&current)?;
            let result = match &change {
                Change::Replace(next) => self.replace(&current, next).await,
                Change::Delete => self.remove(&current).await,
            };
            match result {
                Ok(()) => {
                    return Ok(match change {
                        Change::Replace(next) => Some(next),
                        Change::Delete => None,
                    });
                }
                Err(StoreError::ConditionFailed) => {}
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
        if let Some(after) = &from.after
            && !keys::is_queue_sort_key_of(after, query.status)
        {
            return Err(StoreError::Internal(
                "cursor position of another status".into(),
            ));
        }
        if !query.has_time_range() {
            let prefix = keys::status_prefix(query.status);
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
        for priority in Priority::ALL.into_iter().filter(|p| p.rank() >= first_rank) {
            let low = match query.since {
                Some(since) => keys::created_bound(query.status, priority, since),
                None => keys::priority_prefix(query.status, priority),
            };
            let high = match query.until {
                Some(until) => keys::created_bound(query.status, priority, until),
                None => keys::priority_upper_bound(query.status, priority),
            };
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
            if items.len() == query.limit {
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
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_names("#pk", keys::PARTITION_KEY)
            .expression_attribute_names("#sk", keys::SORT_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(query.store.to_string()))
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(|sk| keys::key(&query.store, sk)));
        request = match range {
            KeyRange::Prefix(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
            KeyRange::Between(low, high) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_values(":low", AttributeValue::S(low.to_owned()))
                .expression_attribute_values(":high", AttributeValue::S(high.to_owned())),
        };
        let output = request
            .projection_expression(keys::REQUEST_PROJECTION)
            .send()
            .await
            .map_err(classify)?;
        let mut items = output.items.unwrap_or_default();
        let more = items.len() > limit;
        items.truncate(limit);
        let requests = items
            .iter()
            .map(keys::request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            // The projection leaves the sort key out; the request spells it.
            requests.last().map(keys::queue_sort_key)
        } else {
            // Fewer than asked but more to read: DynamoDB stopped at its 1 MB page size.
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
        start: Option<Item>,
    ) -> Result<(Vec<SupervisorRequest>, Option<Item>), StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
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
            .map(keys::request_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((requests, output.last_evaluated_key))
    }
}

enum KeyRange<'a> {
    Prefix(&'a str),
    Between(&'a str, &'a str),
}

/// One item by key, strongly consistent: what every read before a conditional write needs.
pub(crate) async fn get_consistent(
    client: &Client,
    table: &str,
    store: &StoreId,
    sort_key: String,
) -> Result<Option<Item>, StoreError> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(keys::key(store, sort_key)))
        .consistent_read(true)
        .send()
        .await
        .map(|output| output.item)
        .map_err(classify)
}

/// Jittered exponential backoff for transaction conflicts: 10 ms, 20 ms, 40 ms … plus up to
/// as much again, so racing writers spread out.
pub async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let jitter = fastrand::u64(0..=base);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

fn idempotency_item(store: &StoreId, record: &IdempotencyRecord) -> Item {
    let mut item = keys::key(store, keys::idempotency_sort_key(&record.key));
    item.insert(
        "fingerprint".into(),
        AttributeValue::S(record.fingerprint.clone()),
    );
    item.insert(
        "requestId".into(),
        AttributeValue::S(record.request_id.to_string()),
    );
    item.insert(
        "responseBody".into(),
        AttributeValue::S(record.response_body.clone()),
    );
    item.insert(
        keys::EXPIRES_AT.into(),
        AttributeValue::N(record.expires_at.unix_timestamp().to_string()),
    );
    item
}

fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Internal(format!(
            "idempotency record without {name}"
        ))),
    };
    let sort_key = text(keys::SORT_KEY)?;
    let expires_at = match item.get(keys::EXPIRES_AT) {
        Some(AttributeValue::N(n)) => n
            .parse()
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
        _ => None,
    }
    .ok_or_else(|| StoreError::Internal("idempotency record without expiresAt".into()))?;
    Ok(IdempotencyRecord {
        key: sort_key
            .split_once('#')
            .map(|(_, key)| key.to_owned())
            .unwrap_or_default(),
        fingerprint: text("fingerprint")?,
        request_id: RequestId::parse(&text("requestId")?)
            .map_err(|_| StoreError::Internal("idempotency record with bad requestId".into()))?,
        response_body: text("responseBody")?,
        expires_at,
    })
}

/// What a non-HTTP function (the sweeper) reports to Lambda when the store fails it.
impl From<StoreError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(error: StoreError) -> Self {
        let error_type = match &error {
            StoreError::ConditionFailed => "StoreError::ConditionFailed",
            StoreError::TransactionConflict => "StoreError::TransactionConflict",
            StoreError::Unavailable(_) => "StoreError::Unavailable",
            StoreError::Internal(_) => "StoreError::Internal",
        };
        Self {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}
