//! Table definitions, from the same key schema the code uses. Local runs and tests create
//! tables with this; `template.yaml` declares the same shape for AWS.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus, TimeToLiveSpecification,
};

use crate::store::catalog::CatalogStore;
use crate::store::connections::ConnectionStore;
use crate::store::keys;
use crate::store::requests::RequestStore;

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .expect("name and type are set")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn index(name: &str, partition: &str, sort: &str) -> Result<GlobalSecondaryIndex, String> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(partition, KeyType::Hash))
        .key_schema(key(sort, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())
}

/// Creates the supervisor-requests table unless it exists, with its stream of new and old
/// images (live notifications); a table made before streams gets one. Safe to call
/// concurrently.
pub async fn ensure_requests_table(client: &Client, table: &str) -> Result<(), String> {
    ensure_table(
        client,
        table,
        &[
            (keys::SWEEP_SHARD, ScalarAttributeType::S),
            (keys::DEADLINE, ScalarAttributeType::N),
            (keys::REQUESTER_KEY, ScalarAttributeType::S),
            (keys::HISTORY_KEY, ScalarAttributeType::S),
            (keys::CLOSED_KEY, ScalarAttributeType::S),
        ],
        vec![
            index(keys::DEADLINE_INDEX, keys::SWEEP_SHARD, keys::DEADLINE)?,
            index(keys::REQUESTER_INDEX, keys::REQUESTER_KEY, keys::SORT_KEY)?,
            index(keys::HISTORY_INDEX, keys::HISTORY_KEY, keys::CLOSED_KEY)?,
        ],
        Some(stream_of_images()),
    )
    .await?;
    // Indexes and the stream came after the first tables: a table kept on disk by an earlier
    // local run gets them here.
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| format!("describe table {table}: {e:?}"))?
        .table;
    // (index, partition key, sort key): added to a table that lacks them, one at a time
    // as DynamoDB allows.
    let added_later = [
        (keys::REQUESTER_INDEX, keys::REQUESTER_KEY, keys::SORT_KEY),
        (keys::HISTORY_INDEX, keys::HISTORY_KEY, keys::CLOSED_KEY),
    ];
    for (name, partition, sort) in added_later {
        let present = described
            .as_ref()
            .and_then(|t| t.global_secondary_indexes.as_ref())
            .is_some_and(|indexes| indexes.iter().any(|i| i.index_name() == Some(name)));
        if !present {
            add_index(client, table, name, partition, sort).await?;
        }
    }
    let streaming = described
        .and_then(|t| t.stream_specification)
        .is_some_and(|spec| spec.stream_enabled);
    if !streaming {
        let enabled = client
            .update_table()
            .table_name(table)
            .stream_specification(stream_of_images())
            .send()
            .await;
        if let Err(error) = enabled
            && !error
                .message()
                .is_some_and(|m| m.contains("already has an enabled stream"))
        {
            return Err(format!("enable the stream of {table}: {error:?}"));
        }
        wait_until_active(client, table).await?;
    }
    Ok(())
}

async fn add_index(
    client: &Client,
    table: &str,
    name: &str,
    partition: &str,
    sort: &str,
) -> Result<(), String> {
    // The same index a new table is created with.
    let index = index(name, partition, sort)?;
    let create = CreateGlobalSecondaryIndexAction::builder()
        .index_name(name)
        .set_key_schema(Some(index.key_schema))
        .set_projection(index.projection)
        .build()
        .map_err(|e| e.to_string())?;
    let added = client
        .update_table()
        .table_name(table)
        .attribute_definitions(attribute(partition, ScalarAttributeType::S))
        .attribute_definitions(attribute(sort, ScalarAttributeType::S))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder().create(create).build(),
        )
        .send()
        .await;
    // Another process (a parallel test) may have just added it.
    if let Err(error) = added
        && !error
            .message()
            .is_some_and(|m| m.contains("already exists"))
    {
        // DynamoDB Local marks an added index ACTIVE only when it restarts, and adds no other
        // index to the table before that: a table lacking two indexes needs two starts.
        if error.code() == Some("LimitExceededException") {
            return Err(format!(
                "add index {name} to {table}: DynamoDB Local finishes adding the previous index \
                 when it restarts; start again (make run) to add this one"
            ));
        }
        return Err(format!("add index {name} to {table}: {error:?}"));
    }
    wait_until_active(client, table).await
}

fn stream_of_images() -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .expect("enabled and view type are set")
}

/// Creates the WebSocket connections table unless it exists: keyed by `connectionId`, a
/// `byStore` index, TTL on `expiresAt`.
pub async fn ensure_connections_table(client: &Client, table: &str) -> Result<(), String> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(keys::CONNECTION_ID, ScalarAttributeType::S))
        .attribute_definitions(attribute(keys::PARTITION_KEY, ScalarAttributeType::S))
        .key_schema(key(keys::CONNECTION_ID, KeyType::Hash))
        .global_secondary_indexes(index(
            keys::CONNECTIONS_BY_STORE_INDEX,
            keys::PARTITION_KEY,
            keys::CONNECTION_ID,
        )?)
        .send()
        .await;
    created_or_exists(client, table, created.map(|_| ())).await
}

/// Creates the preferred-items table unless it exists. Safe to call concurrently.
pub async fn ensure_items_table(client: &Client, table: &str) -> Result<(), String> {
    ensure_table(
        client,
        table,
        &[(keys::MASTER_LIST_KEY, ScalarAttributeType::S)],
        vec![index(
            keys::MASTERS_INDEX,
            keys::MASTER_LIST_KEY,
            keys::SORT_KEY,
        )?],
        None,
    )
    .await
}

/// Creates the audit trail's table unless it exists. Safe to call concurrently.
pub async fn ensure_events_table(client: &Client, table: &str) -> Result<(), String> {
    ensure_table(
        client,
        table,
        &[(keys::EVENT_TIME, ScalarAttributeType::S)],
        vec![index(
            keys::EVENTS_BY_TIME_INDEX,
            keys::PARTITION_KEY,
            keys::EVENT_TIME,
        )?],
        None,
    )
    .await
}

/// Creates every table `app` uses that does not exist yet.
pub async fn ensure_tables(
    requests: &RequestStore,
    connections: &ConnectionStore,
    catalog: &CatalogStore,
) -> Result<(), String> {
    let client = requests.client();
    ensure_requests_table(client, requests.table()).await?;
    ensure_events_table(client, requests.events_table()).await?;
    ensure_connections_table(client, connections.table()).await?;
    ensure_items_table(catalog.client(), catalog.table()).await
}

/// A table keyed `storeId`/`sk` with its indexes, on-demand, TTL on `expiresAt`.
async fn ensure_table(
    client: &Client,
    table: &str,
    index_attributes: &[(&str, ScalarAttributeType)],
    indexes: Vec<GlobalSecondaryIndex>,
    stream: Option<StreamSpecification>,
) -> Result<(), String> {
    let mut create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(keys::PARTITION_KEY, ScalarAttributeType::S))
        .attribute_definitions(attribute(keys::SORT_KEY, ScalarAttributeType::S))
        .key_schema(key(keys::PARTITION_KEY, KeyType::Hash))
        .key_schema(key(keys::SORT_KEY, KeyType::Range))
        .set_global_secondary_indexes(Some(indexes))
        .set_stream_specification(stream);
    for (name, kind) in index_attributes {
        create = create.attribute_definitions(attribute(name, kind.clone()));
    }
    created_or_exists(client, table, create.send().await.map(|_| ())).await
}

/// After a CreateTable: wait until it can be used, and give a new table its TTL. Someone
/// else may have created it (maybe a moment ago).
async fn created_or_exists<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    client: &Client,
    table: &str,
    created: Result<(), aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<(), String> {
    match created {
        Ok(()) => {}
        Err(error) if error.code() == Some("ResourceInUseException") => {
            return wait_until_active(client, table).await;
        }
        Err(error) => return Err(format!("create table {table}: {error:?}")),
    }
    wait_until_active(client, table).await?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(keys::EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("enable TTL on {table}: {e:?}"))?;
    Ok(())
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), String> {
    for _ in 0..100 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| format!("describe table {table}: {e:?}"))?;
        let status = described.table.and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(format!("table {table} did not become active"))
}
