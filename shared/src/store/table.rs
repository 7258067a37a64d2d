//! The plumbing both stores share: a DynamoDB table (client and name), the writes every
//! access pattern is built from, and the one classification of what DynamoDB answered.
//!
//! Stores say what went wrong in the store's words ([`StoreError`]); only `crate::edge::error`
//! turns that into an HTTP status.

use std::fmt::Debug;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use crate::domain::ids::StoreId;
use crate::store::codec::{Attributes, MalformedItem, n};
use crate::store::keys;
use crate::telemetry::{SERVER_ERROR_CODES, THROTTLING_CODES};

/// What a store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Request,
    MasterItem,
    Item,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing addressed does not exist (in this store).
    #[error("{0:?} not found")]
    NotFound(Entity),
    /// A versioned write found another version.
    #[error("now at version {current}")]
    VersionMismatch { current: u64 },
    /// A condition on a write did not hold; with a transaction's, which items failed.
    #[error("condition failed")]
    ConditionFailed(FailedConditions),
    /// Another transaction was writing the same items; retrying may succeed.
    #[error("transaction conflict")]
    TransactionConflict,
    /// A cursor's position does not fit the query it continues (DynamoDB would refuse it as
    /// a start key): bad input, however well it was sealed.
    #[error("cursor position does not fit the query")]
    InvalidCursor,
    /// Throttled, timed out or unreachable after the SDK's retries (DynamoDB's code, when it
    /// answered with one, is in the source).
    #[error("store unavailable")]
    Unavailable(#[source] Source),
    /// An answer the code does not expect (a bug, or an item it never wrote).
    #[error("store error")]
    Internal(#[source] Source),
}

/// What went wrong underneath, kept whole for the log (the SDK's error, a malformed item).
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

impl From<MalformedItem> for StoreError {
    fn from(error: MalformedItem) -> Self {
        StoreError::Internal(Box::new(error))
    }
}

/// Per item of a cancelled transaction: whether its condition failed, and the item as it was
/// when the write asked for it (`ALL_OLD`). Empty for a single-item write.
#[derive(Debug, Default)]
pub struct FailedConditions(Vec<Option<Option<Attributes>>>);

impl FailedConditions {
    /// `Some(old item, if it existed and was asked for)` when item `index`'s condition failed.
    pub fn at(&self, index: usize) -> Option<Option<&Attributes>> {
        self.0.get(index)?.as_ref().map(Option::as_ref)
    }
}

pub(crate) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(Box::new(error))
        }
        SdkError::ServiceError(service) => match service.err().code() {
            Some("ConditionalCheckFailedException") => {
                StoreError::ConditionFailed(FailedConditions::default())
            }
            Some(code)
                if THROTTLING_CODES.contains(&code) || SERVER_ERROR_CODES.contains(&code) =>
            {
                StoreError::Unavailable(Box::new(error))
            }
            _ => StoreError::Internal(Box::new(error)),
        },
        _ => StoreError::Internal(Box::new(error)),
    }
}

fn classify_transaction<R>(error: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(service) = &error
        && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
    {
        let reasons = cancelled.cancellation_reasons();
        let codes: Vec<&str> = reasons.iter().filter_map(|reason| reason.code()).collect();
        return if codes.contains(&"ConditionalCheckFailed") {
            StoreError::ConditionFailed(FailedConditions(
                reasons
                    .iter()
                    .map(|reason| {
                        (reason.code() == Some("ConditionalCheckFailed"))
                            .then(|| reason.item().cloned())
                    })
                    .collect(),
            ))
        } else if codes.contains(&"TransactionConflict") {
            StoreError::TransactionConflict
        } else if codes
            .iter()
            .any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded"))
        {
            StoreError::Unavailable(Box::new(error))
        } else {
            StoreError::Internal(Box::new(error))
        };
    }
    classify(error)
}

/// Every item `query` matches, page after page (DynamoDB ends a page at 1 MB), each read
/// back by `decode` as its page arrives.
pub async fn query_all<T>(
    query: QueryFluentBuilder,
    mut decode: impl FnMut(Attributes) -> Result<T, MalformedItem>,
) -> Result<Vec<T>, StoreError> {
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let output = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        for item in output.items.unwrap_or_default() {
            found.push(decode(item)?);
        }
        match output.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(found),
        }
    }
}

/// Jittered exponential backoff for transaction conflicts: 10 ms, 20 ms, 40 ms … plus up to
/// as much again, so racing writers spread out.
pub async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let jitter = fastrand::u64(0..=base);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

/// A table: the client built once at init, and the table's name from configuration.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One item by key, strongly consistent: what every read before a conditional write needs.
    pub async fn get(
        &self,
        store: &StoreId,
        sort_key: String,
    ) -> Result<Option<Attributes>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(keys::key(store, sort_key)))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(classify)
    }

    /// A transaction's put, on `condition`; `version` fills `:v` (as `#v`) when given.
    pub fn put(
        &self,
        item: Attributes,
        condition: &str,
        version: Option<u64>,
    ) -> TransactWriteItem {
        let mut put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(version) = version {
            put = put
                .expression_attribute_names("#v", keys::VERSION)
                .expression_attribute_values(":v", n(version));
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table, item and condition are set"))
            .build()
    }

    /// A transaction's delete of the item at `version`.
    pub fn delete(&self, store: &StoreId, sort_key: String, version: u64) -> TransactWriteItem {
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(keys::key(store, sort_key)))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", keys::VERSION)
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .build()
            .expect("table, key and condition are set");
        TransactWriteItem::builder().delete(delete).build()
    }

    /// Runs one transaction.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(classify_transaction)
    }

    /// Runs one transaction, retrying conflicts with backoff `attempts` times in all.
    pub async fn transact_retrying(
        &self,
        items: Vec<TransactWriteItem>,
        attempts: u32,
    ) -> Result<(), StoreError> {
        for attempt in 1..attempts {
            match self.transact(items.clone()).await {
                Err(StoreError::TransactionConflict) => backoff(attempt).await,
                other => return other,
            }
        }
        self.transact(items).await
    }
}
