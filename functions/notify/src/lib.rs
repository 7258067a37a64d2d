//! DynamoDB Streams → WebSocket: tells those listening that a request changed.
//!
//! Triggered by the requests table's stream (new and old images), filtered to request
//! records (`sk` begins with `REQUEST#`; the template's filter, and here again). Each
//! record's change becomes one message (`request.created`, `.updated`, `.answered`,
//! `.timed_out`, `.withdrawn`, with the request as the API shows it), posted to every
//! connection of the store whose principal follows the request: supervisors and admins get
//! the whole queue, an associate the requests they raised. Nothing of one store reaches
//! another store's connections.
//!
//! Posts go out concurrently, at most [`POSTS_IN_FLIGHT`] at a time, each with its own
//! timeout, so one slow or dead connection holds up no other; a connection API Gateway
//! answers 410 Gone for is removed, and one whose token has expired is no longer pushed to.
//! A store's connections are read once per batch, not once per record.
//!
//! A record that fails (the connections cannot be read, an image is malformed) ends the
//! batch: it is reported in `batchItemFailures` and nothing after it is sent. For stream
//! sources Lambda checkpoints at the lowest failed sequence number and retries *every*
//! record from there on, so going on past a failure would push the later records twice.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_apigatewaymanagement::Client as Management;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures_util::StreamExt;
use shared::App;
use shared::domain::ids::StoreId;
use shared::domain::notification::{Message, MessageType};
use shared::domain::supervisor_request::SupervisorRequest;
use shared::edge::error::chain;
use shared::store::codec::{Attributes, request_from_item};
use shared::store::connections::Connection;
use shared::store::keys;
use time::OffsetDateTime;

/// Longest a post to one connection may take before it is given up.
const POST_TIMEOUT: Duration = Duration::from_secs(2);
/// Posts under way at once: enough to hide a post's latency, few enough that a store with
/// hundreds of listeners neither opens hundreds of connections nor hits the management
/// API's rate limit in one burst. With the 2 s timeout, the template's `BatchSize` and the
/// function's timeout leave room for a slow batch.
pub const POSTS_IN_FLIGHT: usize = 16;

/// What the batch did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub sent: u32,
    pub gone: u32,
    pub failed: u32,
}

pub async fn handler(app: &App, management: &Management, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut total = Delivery::default();
    let mut listeners = Listeners::default();
    for record in &event.records {
        match notify(app, management, &mut listeners, record).await {
            Ok(delivery) => {
                total.sent += delivery.sent;
                total.gone += delivery.gone;
                total.failed += delivery.failed;
            }
            Err(error) => {
                // Lambda resumes from this record and retries every one after it: stop here,
                // or those would be pushed twice.
                tracing::warn!(error = %error, event_id = %record.event_id, "record not delivered; the rest of the batch is left for the retry");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                break;
            }
        }
    }
    tracing::info!(
        records = event.records.len(),
        sent = total.sent,
        gone = total.gone,
        failed = total.failed,
        failures = response.batch_item_failures.len(),
        "notified"
    );
    response
}

fn image(item: &serde_dynamo::Item) -> Result<Option<SupervisorRequest>, String> {
    if item.is_empty() {
        return Ok(None);
    }
    let attributes: Attributes = item
        .inner()
        .iter()
        .map(|(name, value)| (name.clone(), value.clone().into()))
        .collect();
    request_from_item(&attributes)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn is_request_record(record: &EventRecord) -> bool {
    matches!(
        record.change.keys.get(keys::SORT_KEY),
        Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("REQUEST#")
    )
}

/// The connections of each store a batch touches, read once.
#[derive(Default)]
struct Listeners(HashMap<StoreId, Vec<Connection>>);

impl Listeners {
    async fn of(&mut self, app: &App, store: &StoreId) -> Result<&[Connection], String> {
        if !self.0.contains_key(store) {
            let connections = app
                .connections
                .listening_to(store, OffsetDateTime::now_utc())
                .await
                .map_err(|e| chain(&e))?;
            self.0.insert(store.clone(), connections);
        }
        Ok(&self.0[store])
    }

    /// Drops a connection API Gateway said is gone, so later records of the batch skip it.
    fn forget(&mut self, store: &StoreId, connection_id: &str) {
        if let Some(connections) = self.0.get_mut(store) {
            connections.retain(|c| c.connection_id != connection_id);
        }
    }
}

async fn notify(
    app: &App,
    management: &Management,
    listeners: &mut Listeners,
    record: &EventRecord,
) -> Result<Delivery, String> {
    if !is_request_record(record) {
        return Ok(Delivery::default());
    }
    let old = image(&record.change.old_image)?;
    let new = image(&record.change.new_image)?;
    let Some(message_type) = MessageType::of_change(old.as_ref(), new.as_ref()) else {
        return Ok(Delivery::default());
    };
    let request = new
        .as_ref()
        .or(old.as_ref())
        .expect("a change has an image");
    let body =
        serde_json::to_vec(&Message::new(message_type, request)).map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc();
    // A connection's record expires with its token: a batch that runs long does not push
    // past it either.
    let mut posts = Vec::new();
    for connection in listeners.of(app, &request.store_id).await? {
        if connection.expires_at > now && connection.listener.follows(request) {
            posts.push(post(app, management, connection, &body));
        }
    }
    // A Vec of futures rather than an iterator adaptor: the closures' higher-ranked
    // lifetimes would make the stream task not `Send` for the local gateway's spawn.
    let outcomes: Vec<Posted> = futures_util::stream::iter(posts)
        .buffer_unordered(POSTS_IN_FLIGHT)
        .collect()
        .await;
    let mut delivery = Delivery::default();
    for outcome in outcomes {
        match outcome {
            Posted::Sent => delivery.sent += 1,
            Posted::Gone(connection_id) => {
                listeners.forget(&request.store_id, &connection_id);
                delivery.gone += 1
            }
            Posted::Failed => delivery.failed += 1,
        }
    }
    Ok(delivery)
}

enum Posted {
    Sent,
    /// API Gateway answered 410 for this connection id (its record is deleted).
    Gone(String),
    Failed,
}

async fn post(app: &App, management: &Management, connection: &Connection, body: &[u8]) -> Posted {
    let sent = tokio::time::timeout(
        POST_TIMEOUT,
        management
            .post_to_connection()
            .connection_id(&connection.connection_id)
            .data(Blob::new(body))
            .send(),
    )
    .await;
    match sent {
        Ok(Ok(_)) => Posted::Sent,
        Ok(Err(error))
            if error
                .as_service_error()
                .is_some_and(|e| e.is_gone_exception()) =>
        {
            // The client is gone without a $disconnect: forget it.
            if let Err(error) = app.connections.delete(&connection.connection_id).await {
                tracing::warn!(error = %chain(&error), "could not remove a gone connection");
            }
            Posted::Gone(connection.connection_id.clone())
        }
        Ok(Err(error)) => {
            tracing::warn!(error = ?error, "post to a connection failed");
            Posted::Failed
        }
        Err(_) => {
            tracing::warn!("post to a connection timed out");
            Posted::Failed
        }
    }
}
