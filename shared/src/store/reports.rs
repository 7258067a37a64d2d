//! The reads of a report ([`crate::domain::report`]): a store's events over a span of time
//! from the events table's `byTime` index, and the creations of requests raised before it.

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::domain::audit::RequestEvent;
use crate::domain::ids::{RequestId, StoreId};
use crate::store::codec::{self, Attributes, event_from_item};
use crate::store::keys;
use crate::store::requests::RequestStore;
use crate::store::table::{StoreError, backoff, classify, query_all};

/// Sub-range Queries in flight at once. Each sub-range pages through DynamoDB's 1 MB pages
/// one after another: a 92-day report read as one Query took 3.3 s against DynamoDB Local,
/// as 4 sub-ranges 0.9 s, as 8 0.75 s, as 16 no less (BENCHMARKS.md, "Reports").
pub const CONCURRENT_QUERIES: usize = 8;

/// Keys per `BatchGetItem`: DynamoDB's limit.
const BATCH_GET_KEYS: usize = 100;

/// Attempts at keys DynamoDB leaves unprocessed (throttled) before a 503.
const BATCH_GET_ATTEMPTS: u32 = 5;

/// `read` of every part, [`CONCURRENT_QUERIES`] at a time, the events joined in the parts'
/// order. The parts are owned: a stream of borrowed ones is not `Send` for every lifetime,
/// which a spawned server task needs.
async fn gather<P, F, R>(parts: Vec<P>, read: F) -> Result<Vec<RequestEvent>, StoreError>
where
    F: FnMut(P) -> R,
    R: Future<Output = Result<Vec<RequestEvent>, StoreError>>,
{
    let pages: Vec<Vec<RequestEvent>> = stream::iter(parts)
        .map(read)
        .buffered(CONCURRENT_QUERIES)
        .try_collect()
        .await?;
    Ok(pages.concat())
}

impl RequestStore {
    /// Every event of `store` in each `[start, end)` of `spans` (Unix milliseconds), the
    /// spans queried [`CONCURRENT_QUERIES`] at a time; in time order within each span, spans
    /// in the order given.
    pub async fn events_in_spans(
        &self,
        store: &StoreId,
        spans: &[(i64, i64)],
    ) -> Result<Vec<RequestEvent>, StoreError> {
        gather(spans.to_vec(), |(start, end)| {
            self.events_in_span(store, start, end)
        })
        .await
    }

    /// One span's events: a Query of `byTime` with the span as its key condition, page
    /// after page.
    async fn events_in_span(
        &self,
        store: &StoreId,
        start: i64,
        end: i64,
    ) -> Result<Vec<RequestEvent>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.events_table())
            .index_name(keys::EVENTS_BY_TIME_INDEX)
            .key_condition_expression("#store = :store AND #time BETWEEN :start AND :end")
            .set_expression_attribute_names(Some(codec::event_projection_names()))
            .expression_attribute_names("#time", keys::EVENT_TIME)
            .expression_attribute_values(":store", AttributeValue::S(store.to_string()))
            .expression_attribute_values(":start", AttributeValue::S(keys::event_time_bound(start)))
            .expression_attribute_values(":end", AttributeValue::S(keys::event_time_bound(end)))
            .projection_expression(codec::EVENT_PROJECTION.as_str());
        query_all(query, |item| event_from_item(&item)).await
    }

    /// The `created` events of `requests`, by their exact keys (version 1): a
    /// `BatchGetItem` per hundred, concurrently. A report needs them for answers to
    /// requests raised before its range. Cheaper than widening the range by the longest
    /// timeout (a day of events for a few requests), and than the request records, which a
    /// withdrawal deletes; a created event is immutable and carries the creation time,
    /// priority and type.
    pub async fn created_events(
        &self,
        store: &StoreId,
        requests: &[RequestId],
    ) -> Result<Vec<RequestEvent>, StoreError> {
        let chunks: Vec<Vec<RequestId>> = requests
            .chunks(BATCH_GET_KEYS)
            .map(<[RequestId]>::to_vec)
            .collect();
        gather(chunks, |ids| async move {
            self.created_batch(store, &ids).await
        })
        .await
    }

    async fn created_batch(
        &self,
        store: &StoreId,
        ids: &[RequestId],
    ) -> Result<Vec<RequestEvent>, StoreError> {
        let keys: Vec<Attributes> = ids
            .iter()
            .map(|id| keys::key(store, keys::event_sort_key(id, keys::CREATED_VERSION)))
            .collect();
        let mut wanted = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .projection_expression(codec::EVENT_PROJECTION.as_str())
            .set_expression_attribute_names(Some(codec::event_projection_names()))
            .build()
            .map_err(|e| StoreError::Internal(e.into()))?;
        let mut events = Vec::with_capacity(ids.len());
        for attempt in 1..=BATCH_GET_ATTEMPTS {
            let output = self
                .client()
                .batch_get_item()
                .request_items(self.events_table(), wanted)
                .send()
                .await
                .map_err(classify)?;
            for item in output
                .responses
                .and_then(|mut tables| tables.remove(self.events_table()))
                .unwrap_or_default()
            {
                events.push(event_from_item(&item)?);
            }
            match output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(self.events_table()))
            {
                Some(rest) if !rest.keys.is_empty() => {
                    // Throttled keys come back unprocessed, not as an error: wait, ask again.
                    backoff(attempt).await;
                    wanted = rest;
                }
                _ => return Ok(events),
            }
        }
        Err(StoreError::Unavailable(
            "BatchGetItem left keys unprocessed after its retries".into(),
        ))
    }
}
