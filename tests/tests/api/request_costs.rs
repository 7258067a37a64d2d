//! The DynamoDB requests each route makes, counted at the SDK: a regression in the cost of a
//! route fails here. A transaction is one request; a move of a request between sort keys is
//! a consistent read of its record plus one transaction.

use integration_tests::{app_with_request_log, call_function, event, fresh_store};
use serde_json::{Value, json};
use shared::telemetry::metrics::CapacityUnits;

fn as_admin(fixture: &str, store: &str) -> integration_tests::Event {
    event(fixture)
        .store(store)
        .principal("admin-1", "admin", &[store])
}

/// Runs routes and records, for each, the DynamoDB operations it sent (sorted: concurrent
/// requests arrive in either order).
struct Costs<'a> {
    app: &'a shared::App,
    log: &'a shared::telemetry::metrics::RequestLog,
    recorded: Vec<(&'static str, Vec<String>)>,
    units: Vec<(&'static str, CapacityUnits)>,
}

impl<'a> Costs<'a> {
    fn new(app: &'a shared::App, log: &'a shared::telemetry::metrics::RequestLog) -> Self {
        Self {
            app,
            log,
            recorded: Vec::new(),
            units: Vec::new(),
        }
    }

    async fn run(
        &mut self,
        name: &'static str,
        request: integration_tests::Event,
        function: &str,
    ) -> Value {
        let (status, body) = call_function(self.app, function, request.build()).await;
        assert!(status < 300, "{name}: {status} {body}");
        let mut sent = self.log.take();
        sent.sort();
        self.units.push((name, self.log.take_units()));
        self.recorded.push((name, sent));
        body
    }

    /// Creates a request (as an admin, without `Idempotency-Key`): its body.
    async fn create(&mut self, name: &'static str, store: &str) -> Value {
        self.run(
            name,
            as_admin("create-request", store).without_header("idempotency-key"),
            "create-request",
        )
        .await
    }

    /// Answers request `id`: nobody answers their own request, so another admin does.
    async fn respond(&mut self, store: &str, id: &str) -> Value {
        self.run(
            "respond",
            event("respond-to-request")
                .store(store)
                .principal("admin-2", "admin", &[store])
                .request_id(id),
            "respond-to-request",
        )
        .await
    }

    /// Read and write units per route, as DynamoDB Local reports them under DynamoDB's rules
    /// (an index entry is a write of its own, a transaction costs double).
    fn assert_units(&self, expected: &[(&str, f64, f64)]) {
        let actual: Vec<(&str, f64, f64)> = self
            .units
            .iter()
            .map(|(name, units)| (*name, units.read, units.write))
            .collect();
        assert_eq!(actual, expected);
    }

    fn assert(&self, expected: &[(&str, Vec<&str>)]) {
        let names: Vec<&str> = self.recorded.iter().map(|(name, _)| *name).collect();
        let wanted: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, wanted);
        for ((name, actual), (_, operations)) in self.recorded.iter().zip(expected) {
            let mut operations = operations.clone();
            operations.sort();
            assert_eq!(actual, &operations, "{name}");
        }
    }
}

#[tokio::test]
async fn supervisor_request_routes_make_the_expected_requests() {
    let (app, log) = app_with_request_log().await;
    let store = fresh_store();
    let mut costs = Costs::new(&app, &log);
    let created = costs.create("create", &store).await;
    costs
        .run(
            "create, idempotent",
            as_admin("create-request", &store),
            "create-request",
        )
        .await;
    let id = created["requestId"].as_str().unwrap().to_owned();
    costs
        .run(
            "get",
            as_admin("get-request", &store).request_id(&id),
            "get-request",
        )
        .await;
    costs
        .run("list", as_admin("list-requests", &store), "list-requests")
        .await;
    costs
        .run(
            "list with a creation-time range",
            as_admin("list-requests", &store).query(&[("since", "2020-01-01T00:00:00Z")]),
            "list-requests",
        )
        .await;
    for (name, query) in [
        ("list one priority", vec![("priority", "HIGH")]),
        (
            "list one priority in a time range",
            vec![("priority", "HIGH"), ("since", "2020-01-01T00:00:00Z")],
        ),
        ("list my own", vec![("requestedBy", "me")]),
        (
            "history newest first",
            vec![("status", "NOT_PENDING"), ("order", "newest")],
        ),
        (
            "history by decision",
            vec![("status", "NOT_PENDING"), ("decision", "DENIED")],
        ),
    ] {
        costs
            .run(
                name,
                as_admin("list-requests", &store).query(&query),
                "list-requests",
            )
            .await;
    }
    costs
        .run(
            "patch",
            as_admin("update-request", &store)
                .request_id(&id)
                .json(json!({"priority": "URGENT"})),
            "update-request",
        )
        .await;
    costs.respond(&store, &id).await;
    let pending = costs.create("create another", &store).await;
    costs
        .run(
            "withdraw",
            as_admin("delete-request", &store).request_id(pending["requestId"].as_str().unwrap()),
            "delete-request",
        )
        .await;
    costs
        .run(
            "the request's events",
            as_admin("list-request-events", &store).request_id(&id),
            "list-request-events",
        )
        .await;
    costs
        .run(
            "the store's events",
            as_admin("list-store-events", &store),
            "list-store-events",
        )
        .await;

    // Every event above lies within yesterday..=tomorrow (UTC): one sub-range, one Query.
    let day = |offset: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(offset))
            .date()
            .to_string()
    };
    let (yesterday, tomorrow, quarter_ago) = (day(-1), day(1), day(-90));
    costs
        .run(
            "a three-day report",
            as_admin("get-request-report", &store)
                .query(&[("from", &yesterday), ("to", &tomorrow)]),
            "get-request-report",
        )
        .await;
    costs
        .run(
            "a 92-day report",
            as_admin("get-request-report", &store)
                .query(&[("from", &quarter_ago), ("to", &tomorrow)]),
            "get-request-report",
        )
        .await;

    let expected: Vec<(&str, Vec<&str>)> = vec![
        ("create", vec!["TransactWriteItems"]),
        ("create, idempotent", vec!["TransactWriteItems"]),
        ("get", vec!["GetItem"]),
        ("list", vec!["Query"]),
        // One Query per priority level, at most.
        ("list with a creation-time range", vec!["Query"; 4]),
        ("list one priority", vec!["Query"]),
        ("list one priority in a time range", vec!["Query"]),
        ("list my own", vec!["Query"]),
        ("history newest first", vec!["Query"]),
        ("history by decision", vec!["Query"]),
        ("patch", vec!["GetItem", "TransactWriteItems"]),
        ("respond", vec!["GetItem", "TransactWriteItems"]),
        ("create another", vec!["TransactWriteItems"]),
        ("withdraw", vec!["GetItem", "TransactWriteItems"]),
        // Every change wrote its event in its own transaction: reading them is one Query.
        ("the request's events", vec!["Query"]),
        ("the store's events", vec!["Query"]),
        // Every request was raised within the range: no creation to read apart.
        ("a three-day report", vec!["Query"]),
        // Twelve days per Query, eight at once.
        ("a 92-day report", vec!["Query"; 8]),
    ];
    costs.assert(&expected);
    costs.assert_units(&[
        ("create", 0.0, 12.0),
        ("create, idempotent", 0.0, 12.0),
        ("get", 1.0, 0.0),
        ("list", 0.5, 0.0),
        ("list with a creation-time range", 0.5, 0.0),
        ("list one priority", 0.5, 0.0),
        ("list one priority in a time range", 0.5, 0.0),
        ("list my own", 0.5, 0.0),
        ("history newest first", 0.0, 0.0),
        ("history by decision", 0.0, 0.0),
        ("patch", 1.0, 12.0),
        ("respond", 1.0, 12.0),
        ("create another", 0.0, 12.0),
        ("withdraw", 1.0, 12.0),
        ("the request's events", 1.0, 0.0),
        ("the store's events", 0.5, 0.0),
        ("a three-day report", 0.5, 0.0),
        ("a 92-day report", 0.5, 0.0),
    ]);
}

/// An answer to a request raised the day before: the report reads its creation by key, one
/// `BatchGetItem` beside the Query of the day.
#[tokio::test]
async fn a_report_reads_the_creations_of_earlier_requests_by_key() {
    let (mut app, log) = app_with_request_log().await;
    // Two days ahead: no other test's sweep (on the real time) reaches these deadlines.
    let midnight = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .replace_time(time::Time::MIDNIGHT);
    app.clock = shared::edge::config::Clock::manual(midnight - time::Duration::minutes(1));
    let store = fresh_store();
    let mut costs = Costs::new(&app, &log);
    let created = costs.create("create", &store).await;
    app.clock.set(midnight + time::Duration::minutes(1));
    costs
        .respond(&store, created["requestId"].as_str().unwrap())
        .await;
    let day = midnight.date().to_string();
    let report = costs
        .run(
            "the day's report",
            as_admin("get-request-report", &store).query(&[("from", &day), ("to", &day)]),
            "get-request-report",
        )
        .await;
    assert_eq!(report["totals"]["timeToAnswerMs"]["max"], 120_000);
    costs.assert(&[
        ("create", vec!["TransactWriteItems"]),
        ("respond", vec!["GetItem", "TransactWriteItems"]),
        ("the day's report", vec!["BatchGetItem", "Query"]),
    ]);
    costs.assert_units(&[
        ("create", 0.0, 12.0),
        ("respond", 1.0, 12.0),
        ("the day's report", 1.0, 0.0),
    ]);
}

#[tokio::test]
async fn preferred_item_routes_make_the_expected_requests() {
    let (app, log) = app_with_request_log().await;
    let store = fresh_store();
    let mut costs = Costs::new(&app, &log);
    let master = costs
        .run(
            "create master",
            as_admin("create-master-item", &store),
            "create-master-item",
        )
        .await;
    let master = master["masterItemId"].as_str().unwrap().to_owned();
    costs
        .run(
            "get master",
            as_admin("get-master-item", &store).path("masterItemId", &master),
            "get-master-item",
        )
        .await;
    costs
        .run(
            "list masters",
            as_admin("list-master-items", &store),
            "list-master-items",
        )
        .await;
    costs
        .run(
            "edit master",
            as_admin("update-master-item", &store).path("masterItemId", &master),
            "update-master-item",
        )
        .await;
    let item = costs
        .run(
            "create item",
            as_admin("create-item", &store).path("masterItemId", &master),
            "create-item",
        )
        .await;
    let item = item["itemId"].as_str().unwrap().to_owned();
    costs
        .run(
            "get item",
            as_admin("get-item", &store).path("itemId", &item),
            "get-item",
        )
        .await;
    costs
        .run(
            "list items",
            as_admin("list-items", &store).path("masterItemId", &master),
            "list-items",
        )
        .await;
    costs
        .run(
            "list items of one status",
            as_admin("list-items", &store)
                .path("masterItemId", &master)
                .query(&[("status", "ACTIVE")]),
            "list-items",
        )
        .await;
    costs
        .run(
            "edit item",
            as_admin("update-item", &store).path("itemId", &item),
            "update-item",
        )
        .await;
    costs
        .run(
            "pin",
            as_admin("pin-preferred-item", &store)
                .path("masterItemId", &master)
                .json(json!({"itemId": item})),
            "pin-preferred-item",
        )
        .await;
    costs
        .run(
            "preferred item",
            as_admin("get-preferred-item", &store).path("masterItemId", &master),
            "get-preferred-item",
        )
        .await;
    costs
        .run(
            "unpin",
            as_admin("unpin-preferred-item", &store).path("masterItemId", &master),
            "unpin-preferred-item",
        )
        .await;
    costs
        .run(
            "get weights",
            as_admin("get-scoring-weights", &store),
            "get-scoring-weights",
        )
        .await;
    costs
        .run(
            "put weights",
            as_admin("put-scoring-weights", &store),
            "put-scoring-weights",
        )
        .await;
    costs
        .run(
            "delete item",
            as_admin("delete-item", &store).path("itemId", &item),
            "delete-item",
        )
        .await;
    costs
        .run(
            "delete master",
            as_admin("delete-master-item", &store).path("masterItemId", &master),
            "delete-master-item",
        )
        .await;

    let expected: Vec<(&str, Vec<&str>)> = vec![
        ("create master", vec!["PutItem"]),
        ("get master", vec!["GetItem"]),
        ("list masters", vec!["Query"]),
        ("edit master", vec!["UpdateItem"]),
        ("create item", vec!["TransactWriteItems"]),
        ("get item", vec!["GetItem"]),
        ("list items", vec!["Query"]),
        ("list items of one status", vec!["Query"]),
        ("edit item", vec!["UpdateItem"]),
        ("pin", vec!["TransactWriteItems"]),
        // The master with all its candidates, and the weights, concurrently.
        ("preferred item", vec!["GetItem", "Query"]),
        ("unpin", vec!["UpdateItem"]),
        ("get weights", vec!["GetItem"]),
        ("put weights", vec!["UpdateItem"]),
        ("delete item", vec!["TransactWriteItems"]),
        ("delete master", vec!["DeleteItem"]),
    ];
    costs.assert(&expected);
    costs.assert_units(&[
        ("create master", 0.0, 2.0),
        ("get master", 1.0, 0.0),
        ("list masters", 0.5, 0.0),
        ("edit master", 0.0, 2.0),
        ("create item", 0.0, 6.0),
        ("get item", 1.0, 0.0),
        ("list items", 0.5, 0.0),
        ("list items of one status", 0.5, 0.0),
        ("edit item", 0.0, 1.0),
        ("pin", 0.0, 6.0),
        ("preferred item", 2.0, 0.0),
        ("unpin", 0.0, 2.0),
        ("get weights", 1.0, 0.0),
        ("put weights", 0.0, 1.0),
        ("delete item", 0.0, 6.0),
        ("delete master", 0.0, 2.0),
    ]);
}
