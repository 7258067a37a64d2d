//! DynamoDB Streams and Lambda's event source mapping, locally: reads the requests table's
//! stream in DynamoDB Local (`aws-sdk-dynamodbstreams` on the same endpoint) and hands its
//! records to the real `notify` handler as a DynamoDB stream event, with the template's
//! filter (request records only) and its batch semantics: the records `notify` reports in
//! `batchItemFailures` are retried (at most [`RETRIES`] times) before they are dropped with a
//! log line, as the on-failure destination would take them.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord, StreamRecord};
use aws_sdk_dynamodbstreams::Client as Streams;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use shared::App;

/// Retries of a failed record, as the template's `MaximumRetryAttempts`.
pub const RETRIES: u32 = 3;
/// Records per batch, as the template's `BatchSize`.
pub const BATCH_SIZE: i32 = 100;

/// The stream client on DynamoDB Local's endpoint (it serves both APIs).
pub fn client(sdk: &aws_config::SdkConfig) -> Streams {
    let mut config = aws_sdk_dynamodbstreams::config::Builder::from(sdk);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        config = config.endpoint_url(endpoint);
    }
    Streams::from_conf(config.build())
}

/// Follows the stream from now on (as a new event source mapping at `LATEST`), polling every
/// `poll` when it is quiet, until the task is dropped.
pub async fn run(
    app: &App,
    management: &aws_sdk_apigatewaymanagement::Client,
    streams: &Streams,
    poll: Duration,
) {
    let stream_arn = loop {
        match latest_stream_arn(app).await {
            Ok(arn) => break arn,
            Err(error) => {
                tracing::warn!(error = %error, "local stream: no stream yet");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    // Shard id → where to read next; new shards join as DynamoDB Local rolls them.
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    loop {
        if let Err(error) = discover_shards(streams, &stream_arn, &mut iterators).await {
            tracing::warn!(error = %error, "local stream: describe failed");
        }
        let mut busy = false;
        for iterator in iterators.values_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            match streams
                .get_records()
                .shard_iterator(current)
                .limit(BATCH_SIZE)
                .send()
                .await
            {
                Ok(output) => {
                    *iterator = output.next_shard_iterator;
                    let records: Vec<EventRecord> = output
                        .records
                        .unwrap_or_default()
                        .into_iter()
                        .map(|record| event_record(record, &stream_arn))
                        .filter(is_request_record)
                        .collect();
                    if !records.is_empty() {
                        busy = true;
                        deliver(app, management, records).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = ?error, "local stream: read failed");
                    *iterator = None; // found again by the next discovery
                }
            }
        }
        iterators.retain(|_, iterator| iterator.is_some());
        if !busy {
            tokio::time::sleep(poll).await;
        }
    }
}

async fn latest_stream_arn(app: &App) -> Result<String, String> {
    app.requests
        .client()
        .describe_table()
        .table_name(app.requests.table())
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?
        .table
        .and_then(|table| table.latest_stream_arn)
        .ok_or_else(|| "the requests table has no stream".into())
}

async fn discover_shards(
    streams: &Streams,
    stream_arn: &str,
    iterators: &mut HashMap<String, Option<String>>,
) -> Result<(), String> {
    let description = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?
        .stream_description;
    let first_discovery = iterators.is_empty();
    for shard in description
        .map(|d| d.shards.unwrap_or_default())
        .unwrap_or_default()
    {
        let Some(id) = shard.shard_id else { continue };
        if iterators.contains_key(&id) {
            continue;
        }
        // Shards open at start are read from now; shards born later, from their start.
        let start = if first_discovery {
            ShardIteratorType::Latest
        } else {
            ShardIteratorType::TrimHorizon
        };
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(&id)
            .shard_iterator_type(start)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?
            .shard_iterator;
        iterators.insert(id, iterator);
    }
    Ok(())
}

/// The template's filter: `{"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "REQUEST#"}]}}}}`.
fn is_request_record(record: &EventRecord) -> bool {
    matches!(
        record.change.keys.get(shared::store::keys::SORT_KEY),
        Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("REQUEST#")
    )
}

/// Invokes `notify` with a batch, then the failed records again, alone, up to [`RETRIES`].
async fn deliver(
    app: &App,
    management: &aws_sdk_apigatewaymanagement::Client,
    mut records: Vec<EventRecord>,
) {
    for attempt in 0..=RETRIES {
        let mut event = Event::default();
        event.records = records;
        let batch = event.records.clone();
        let response = notify::handler(app, management, event).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .filter_map(|failure| failure.item_identifier)
            .collect();
        records = batch
            .into_iter()
            .filter(|record| {
                record
                    .change
                    .sequence_number
                    .as_ref()
                    .is_some_and(|seq| failed.contains(seq))
            })
            .collect();
        if records.is_empty() {
            return;
        }
        if attempt < RETRIES {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
    }
    tracing::error!(
        records = records.len(),
        "local stream: records dropped after retries (the on-failure destination in AWS)"
    );
}

fn image(
    item: Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>,
) -> serde_dynamo::Item {
    item.unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, serde_dynamo::AttributeValue::from(value)))
        .collect::<HashMap<_, _>>()
        .into()
}

/// A stream record as Lambda delivers it.
fn event_record(record: Record, stream_arn: &str) -> EventRecord {
    let mut stream_record = StreamRecord::default();
    if let Some(change) = record.dynamodb {
        stream_record.keys = image(change.keys);
        stream_record.new_image = image(change.new_image);
        stream_record.old_image = image(change.old_image);
        stream_record.sequence_number = change.sequence_number;
        stream_record.size_bytes = change.size_bytes.unwrap_or_default();
    }
    let mut event_record = EventRecord::default();
    event_record.change = stream_record;
    event_record.event_id = record.event_id.unwrap_or_default();
    event_record.event_name = record
        .event_name
        .map(|name| name.as_str().to_owned())
        .unwrap_or_default();
    event_record.event_source = Some("aws:dynamodb".into());
    event_record.event_version = record.event_version;
    event_record.event_source_arn = Some(stream_arn.to_owned());
    event_record.aws_region = record.aws_region.unwrap_or_default();
    event_record
}
