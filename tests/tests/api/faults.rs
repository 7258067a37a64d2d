//! DynamoDB throttling, errors and an unreachable store: bounded retries, then 503 with
//! `Retry-After` and a JSON error; never a 500, never a half-written move.

use integration_tests::faults::Fault;
use integration_tests::{app_with_faults, call_function, event, fresh_store, partition_items};
use serde_json::json;
use shared::App;

fn as_supervisor(fixture: &str, store: &str) -> integration_tests::Event {
    event(fixture)
        .store(store)
        .principal("supervisor-1", "supervisor", &[store])
}

async fn create(app: &App, store: &str, priority: &str) -> String {
    let (status, body) = call_function(
        app,
        "create-request",
        event("create-request")
            .store(store)
            .principal("associate-1", "associate", &[store])
            .without_header("idempotency-key")
            .json(json!({"requestType": "VOID", "priority": priority, "details": "fault test"}))
            .build(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["requestId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn persistent_throttling_of_a_move_gives_503_and_leaves_the_request_where_it_was() {
    let (app, log, faults) = app_with_faults().await;
    let store = fresh_store();
    let id = create(&app, &store, "NORMAL").await;
    let before = partition_items(&app, &store).await;
    log.take();

    faults.fail("TransactWriteItems", Fault::Throttling, None);
    let request = as_supervisor("respond-to-request", &store)
        .request_id(&id)
        .build();
    let response = integration_tests::handle(&app, request).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let (_, body) = integration_tests::parts(response);
    assert_eq!(body["error"]["code"], "service_unavailable");
    // One read, then the SDK's three attempts at the transaction: bounded.
    assert_eq!(
        log.take(),
        [
            "GetItem",
            "DescribeLimits",
            "DescribeLimits",
            "DescribeLimits"
        ]
    );

    faults.clear();
    assert_eq!(
        partition_items(&app, &store).await,
        before,
        "nothing half-written"
    );
    let (status, request) = call_function(
        &app,
        "get-request",
        as_supervisor("get-request", &store).request_id(&id).build(),
    )
    .await;
    assert_eq!(
        (status, request["statusCode"].as_str()),
        (200, Some("PENDING_RESPONSE"))
    );

    // Same for a priority change, which moves the item between sort keys.
    faults.fail("TransactWriteItems", Fault::ServerError, None);
    let (status, _) = call_function(
        &app,
        "update-request",
        as_supervisor("update-request", &store)
            .request_id(&id)
            .json(json!({"priority": "URGENT"}))
            .build(),
    )
    .await;
    assert_eq!(status, 503);
    faults.clear();
    assert_eq!(
        partition_items(&app, &store).await,
        before,
        "nothing half-written"
    );
}

#[tokio::test]
async fn a_transient_fault_is_retried_by_the_sdk_and_the_client_never_sees_it() {
    let (app, log, faults) = app_with_faults().await;
    let store = fresh_store();
    let id = create(&app, &store, "HIGH").await;
    log.take();
    faults.fail("TransactWriteItems", Fault::Throttling, Some(1));
    faults.fail("GetItem", Fault::ServerError, Some(1));
    let (status, body) = call_function(
        &app,
        "respond-to-request",
        as_supervisor("respond-to-request", &store)
            .request_id(&id)
            .build(),
    )
    .await;
    let sent = log.take();
    assert_eq!(
        (status, body["statusCode"].as_str()),
        (200, Some("RESPONSE_RECEIVED")),
        "{body} {sent:?}"
    );
    assert_eq!(
        sent,
        [
            "DescribeLimits",
            "GetItem",
            "DescribeLimits",
            "TransactWriteItems"
        ]
    );
    assert_eq!(partition_items(&app, &store).await.len(), 2);
}

#[tokio::test]
async fn every_kind_of_route_maps_store_faults_to_503() {
    let (app, _, faults) = app_with_faults().await;
    let store = fresh_store();
    let id = create(&app, &store, "LOW").await;
    let admin = |fixture: &str| {
        event(fixture)
            .store(&store)
            .principal("admin-1", "admin", &[&store])
    };
    for operation in [
        "GetItem",
        "Query",
        "TransactWriteItems",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
    ] {
        faults.fail(operation, Fault::Throttling, None);
    }
    for (function, request) in [
        (
            "create-request",
            admin("create-request").without_header("idempotency-key"),
        ),
        ("create-request", admin("create-request")),
        ("get-request", admin("get-request").request_id(&id)),
        ("list-requests", admin("list-requests")),
        ("delete-request", admin("delete-request").request_id(&id)),
        ("create-master-item", admin("create-master-item")),
        ("list-master-items", admin("list-master-items")),
        ("get-preferred-item", admin("get-preferred-item")),
        ("put-scoring-weights", admin("put-scoring-weights")),
        ("get-scoring-weights", admin("get-scoring-weights")),
        ("unpin-preferred-item", admin("unpin-preferred-item")),
        ("update-master-item", admin("update-master-item")),
        ("delete-master-item", admin("delete-master-item")),
    ] {
        let (status, body) = call_function(&app, function, request.build()).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (503, Some("service_unavailable")),
            "{function}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_store_gives_503_not_500() {
    // Nothing listens on port 9 of loopback (discard is not served here): connections fail.
    let config = shared::edge::config::sdk_config_loader()
        .endpoint_url("http://127.0.0.1:9")
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let app = App {
        requests: shared::store::requests::RequestStore::new(
            client.clone(),
            "unreachable",
            "unreachable-events",
            shared::store::requests::DEFAULT_HISTORY_RETENTION,
        ),
        connections: shared::store::connections::ConnectionStore::new(
            client.clone(),
            "websocket-connections-test",
        ),
        catalog: shared::store::catalog::CatalogStore::new(client, "unreachable-items"),
        cursor_key: Some(shared::store::cursor::CursorKey::from_secret(&[1; 32]).unwrap()),
        default_request_timeout: time::Duration::minutes(5),
        clock: shared::edge::config::Clock::System,
    };
    let store = fresh_store();
    let (status, body) = call_function(
        &app,
        "list-requests",
        as_supervisor("list-requests", &store).build(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("service_unavailable"))
    );
}

/// An unavailable store is handled once, at the edge: one log line for the request, whose
/// error keeps its chain down to DynamoDB's own code (not a flattened string), and no line
/// from the conversion on the way there.
#[tokio::test]
async fn a_throttled_read_is_logged_once_with_its_source() {
    let (app, _log, faults) = app_with_faults().await;
    let store = fresh_store();
    faults.fail("GetItem", Fault::Throttling, None);
    let gateway_id = format!("apigw-{}", ulid::Ulid::new());
    let request = as_supervisor("get-request", &store)
        .request_id(&shared::domain::ids::RequestId::generate().to_string())
        .gateway_request_id(&gateway_id)
        .build_event();
    let route = shared::edge::routes::Operation::GetRequest.route();
    let response = local_gateway::dispatch(&app, route, request).await;
    let (status, body) = integration_tests::parts(response);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("service_unavailable"))
    );
    let unavailable: Vec<serde_json::Value> = integration_tests::log_lines()
        .iter()
        .filter(|line| line.contains(&gateway_id))
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &serde_json::Value| line["fields"]["message"] == "store unavailable")
        .collect();
    assert_eq!(unavailable.len(), 1, "{unavailable:?}");
    let error = unavailable[0]["fields"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("the service is busy; retry shortly: store unavailable: ")
            && error.contains("ThrottlingException"),
        "{error}"
    );
    // And the call is counted as unavailable, by DynamoDB's code, for the throttling alarm.
    let unavailable = integration_tests::emf_lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["DynamoDbUnavailable"] == 1.0 && line["Code"] == "ThrottlingException")
        .count();
    assert!(
        unavailable >= 1,
        "no DynamoDbUnavailable line for the throttled read"
    );
}
