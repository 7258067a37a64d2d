//! Puts the store in the state a function's `events/` fixture expects, so that a cold start
//! times the success path: the request, master item and item the fixtures name exist at
//! version 1 (the `If-Match` the fixtures send), with a pin for unpin. What an earlier start
//! left (a moved or deleted request, items a create added, a pin) is removed first. The ids
//! come from the fixtures themselves.
//!
//! `seed-fixture FUNCTION`, with `AWS_ENDPOINT_URL_DYNAMODB`, `REQUESTS_TABLE` and
//! `ITEMS_TABLE` set (`bench/cold_start.py --seed` runs it before every start). A function
//! whose fixture names nothing (creates, lists of a store, weights, the sweeper) is left as is.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use shared::domain::audit::{Actor, EventType, RequestEvent};
use shared::domain::catalog::{Currency, Item, ItemStatus, MasterItem, Money, Name, Pin, Vendor};
use shared::domain::ids::{ItemId, MasterItemId, RequestId, StoreId};
use shared::domain::supervisor_request::{
    Details, NewRequest, Priority, RequestType, SupervisorRequest,
};
use shared::edge::error::ApiError;
use shared::store::catalog::{CatalogError, CatalogStore};
use shared::store::requests::RequestStore;
use shared::store::table::StoreError;
use time::OffsetDateTime;

/// A path parameter (or body field) of a function's fixture.
fn fixture_value(function: &str, field: &str) -> String {
    let path = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let event: Value = serde_json::from_str(&text).expect("fixtures are JSON");
    event["pathParameters"][field]
        .as_str()
        .unwrap_or_else(|| panic!("{path} has no path parameter {field}"))
        .to_owned()
}

/// The request the request fixtures name: pending, at version 1.
async fn reset_request(requests: &RequestStore, function: &str) -> Result<(), ApiError> {
    let store = StoreId::parse(&fixture_value(function, "storeId")).expect("fixture store id");
    let id = RequestId::parse(&fixture_value(function, "requestId")).expect("fixture id");
    // The fixtures' request starts again at version 1: what an earlier start left (its
    // entries and its trail, which the product never deletes) goes, with plain deletes.
    clear_trail(requests, &store, &id).await?;
    let mut request = SupervisorRequest::new(
        store,
        NewRequest {
            request_type: RequestType::PriceOverride,
            priority: Priority::High,
            details: Details::parse("details", "Shelf tag says 2.49, till rings 2.99".into())
                .expect("valid details"),
            timeout: None,
        },
        "user-ana".into(),
        OffsetDateTime::now_utc(),
        time::Duration::minutes(10),
    );
    request.request_id = id;
    let created = RequestEvent::of(
        EventType::Created,
        None,
        Some(&request),
        Actor::deadline(),
        request.created_at,
    );
    requests.create(&request, &created, None).await?;
    Ok(())
}

/// Deletes every item of the request: its queue entry, its record and its events.
async fn clear_trail(
    requests: &RequestStore,
    store: &StoreId,
    id: &RequestId,
) -> Result<(), ApiError> {
    let client = requests.client();
    for (table, prefix) in [
        (requests.table(), None),
        (requests.events_table(), Some(format!("{id}#"))),
    ] {
        let query = client
            .query()
            .table_name(table)
            .key_condition_expression("storeId = :s")
            .expression_attribute_values(":s", AttributeValue::S(store.to_string()))
            .send()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        for item in query.items() {
            let sk = item["sk"]
                .as_s()
                .map_err(|_| ApiError::Internal("sk".into()))?;
            let ours = match &prefix {
                Some(prefix) => sk.starts_with(prefix.as_str()),
                None => sk.ends_with(&id.to_string()),
            };
            if ours {
                client
                    .delete_item()
                    .table_name(table)
                    .key("storeId", AttributeValue::S(store.to_string()))
                    .key("sk", AttributeValue::S(sk.clone()))
                    .send()
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?;
            }
        }
    }
    Ok(())
}

/// The master item the catalogue fixtures name, at version 1, with the fixtures' item unless
/// `with_item` is false, pinned to it if `pinned`.
async fn reset_catalog(
    catalog: &CatalogStore,
    function: &str,
    with_item: bool,
    pinned: bool,
) -> Result<(), ApiError> {
    let store = StoreId::parse(&fixture_value(function, "storeId")).expect("fixture store id");
    // Every catalogue fixture names this item (or its master).
    let item_id = ItemId::parse(&fixture_value("get-item", "itemId")).expect("fixture item id");
    let master = item_id.master();
    assert_eq!(
        master,
        MasterItemId::parse(&fixture_value("get-master-item", "masterItemId")).unwrap(),
        "the item fixtures name an item of the master-item fixtures' master",
    );
    while let Some((items, _)) = catalog.list_items(&store, &master, None, 100, None).await? {
        if items.is_empty() {
            break;
        }
        for item in items {
            catalog.delete_item(&store, &item.item_id, None).await?;
        }
    }
    match catalog.delete_master(&store, &master, None).await {
        Err(CatalogError::Store(StoreError::NotFound(_))) | Ok(()) => {}
        Err(error) => return Err(error.into()),
    }
    let now = OffsetDateTime::now_utc();
    let currency = Currency::parse("USD").expect("a currency");
    catalog
        .create_master(
            &MasterItem {
                store_id: store.clone(),
                master_item_id: master,
                name: Name::parse("name", "Whole milk 1 l".into()).expect("valid name"),
                description: None,
                currency,
                pin: None,
                item_count: 0,
                version: 1,
                created_at: now,
                updated_at: now,
            },
            None,
        )
        .await?;
    if with_item {
        catalog
            .create_item(
                &Item {
                    store_id: store.clone(),
                    item_id,
                    vendor: Vendor::parse("vendor", "Valley Dairy".into()).expect("valid vendor"),
                    price: Money::new(129, currency).expect("valid price"),
                    status: ItemStatus::Active,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
                None,
            )
            .await?;
    }
    if pinned {
        let pin = Pin {
            item_id,
            pinned_by: "admin-1".into(),
            pinned_at: now,
        };
        catalog.pin(&store, &master, &pin).await?;
    }
    Ok(())
}

fn main() {
    let function = std::env::args()
        .nth(1)
        .expect("usage: seed-fixture FUNCTION");
    let result = benchmarks::runtime().block_on(async {
        let client = benchmarks::local_client().await;
        let table = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
        let requests = RequestStore::new(
            client.clone(),
            table(
                "REQUESTS_TABLE",
                shared::edge::config::DEFAULT_REQUESTS_TABLE,
            ),
            table("EVENTS_TABLE", shared::edge::config::DEFAULT_EVENTS_TABLE),
            shared::store::requests::DEFAULT_HISTORY_RETENTION,
        );
        let catalog = CatalogStore::new(
            client,
            table("ITEMS_TABLE", shared::edge::config::DEFAULT_ITEMS_TABLE),
        );
        match function.as_str() {
            "get-request" | "update-request" | "respond-to-request" | "delete-request" => {
                reset_request(&requests, &function).await
            }
            "delete-master-item" => reset_catalog(&catalog, &function, false, false).await,
            "unpin-preferred-item" => reset_catalog(&catalog, &function, true, true).await,
            "create-item" | "get-master-item" | "update-master-item" | "list-items"
            | "get-preferred-item" | "get-item" | "update-item" | "delete-item"
            | "pin-preferred-item" => reset_catalog(&catalog, &function, true, false).await,
            _ => Ok(()),
        }
    });
    if let Err(error) = result {
        eprintln!("seed-fixture {function}: {error:?}");
        std::process::exit(1);
    }
}
