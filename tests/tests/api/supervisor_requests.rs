//! Supervisor requests end to end: handlers called in-process with the `events/` fixtures,
//! against DynamoDB Local.

use std::collections::HashSet;
use std::sync::Arc;

use integration_tests::{
    Event, app, app_with_fresh_table, call_function, event, fresh_store, handle, partition_items,
    parts, unlimited,
};
use serde_json::{Value, json};
use shared::App;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn as_associate(fixture: &str, store: &str) -> Event {
    event(fixture)
        .store(store)
        .principal("associate-1", "associate", &[store])
}

fn as_supervisor(fixture: &str, store: &str) -> Event {
    event(fixture)
        .store(store)
        .principal("supervisor-1", "supervisor", &[store])
}

fn new_request(priority: &str, details: &str) -> Value {
    json!({"requestType": "REFUND", "priority": priority, "details": details})
}

async fn create(app: &App, store: &str, body: Value) -> Value {
    let request = as_associate("create-request", store)
        .without_header("idempotency-key")
        .json(body)
        .build();
    let (status, body) = call_function(app, "create-request", request).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn list(app: &App, store: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let request = as_associate("list-requests", store).query(query).build();
    call_function(app, "list-requests", request).await
}

async fn get(app: &App, store: &str, id: &str) -> (u16, Value) {
    let request = as_associate("get-request", store).request_id(id).build();
    call_function(app, "get-request", request).await
}

async fn respond(app: &App, store: &str, id: &str, decision: &str) -> (u16, Value) {
    let request = as_supervisor("respond-to-request", store)
        .request_id(id)
        .json(json!({"decision": decision}))
        .build();
    call_function(app, "respond-to-request", request).await
}

fn ids(list_body: &Value) -> Vec<String> {
    list_body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["requestId"].as_str().unwrap().to_owned())
        .collect()
}

fn id_of(request: &Value) -> String {
    request["requestId"].as_str().unwrap().to_owned()
}

/// Follows `nextCursor` to the end, returning every id in order.
async fn list_all(app: &App, store: &str, query: &[(&str, &str)]) -> Vec<String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut q = query.to_vec();
        if let Some(cursor) = &cursor {
            q.push(("cursor", cursor));
        }
        let (status, body) = list(app, store, &q).await;
        assert_eq!(status, 200, "{body}");
        all.extend(ids(&body));
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

#[tokio::test]
async fn create_then_get_then_list_returns_the_new_request() {
    let app = app().await;
    let store = fresh_store();
    let request = as_associate("create-request", &store).build();
    let response = handle(&app, request).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, created) = parts(response);
    assert_eq!(status, 201, "{created}");
    let id = id_of(&created);
    assert_eq!(
        location,
        format!("/stores/{store}/supervisor-requests/{id}")
    );
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["statusCode"], "PENDING_RESPONSE");
    assert_eq!(created["priority"], "HIGH");
    assert_eq!(created["requestedBy"], "associate-1");
    assert_eq!(created["version"], 1);

    let response = handle(
        &app,
        as_associate("get-request", &store).request_id(&id).build(),
    )
    .await;
    assert_eq!(response.headers()["etag"], "\"1\"");
    let (status, fetched) = parts(response);
    assert_eq!(status, 200);
    assert_eq!(fetched, created);

    let (status, listed) = list(&app, &store, &[]).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"], json!([created]));
    assert_eq!(listed["nextCursor"], Value::Null);
}

#[tokio::test]
async fn the_queue_is_most_urgent_first_then_oldest_first() {
    let app = integration_tests::app_with_stepping_clock().await;
    let store = fresh_store();
    let mut expected: Vec<(u8, String)> = Vec::new();
    for (i, priority) in ["LOW", "NORMAL", "URGENT", "HIGH", "NORMAL", "URGENT", "LOW"]
        .iter()
        .enumerate()
    {
        let created = create(&app, &store, new_request(priority, &format!("request {i}"))).await;
        let rank = ["URGENT", "HIGH", "NORMAL", "LOW"]
            .iter()
            .position(|p| p == priority)
            .unwrap() as u8;
        expected.push((rank, id_of(&created)));
    }
    // Stable sort by priority keeps creation order within a priority.
    expected.sort_by_key(|(rank, _)| *rank);
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    let (_, listed) = list(&app, &store, &[]).await;
    assert_eq!(ids(&listed), expected);
}

#[tokio::test]
async fn since_and_until_select_exactly_the_requests_created_in_range() {
    let app = integration_tests::app_with_stepping_clock().await;
    let store = fresh_store();
    let mut created = Vec::new();
    for (i, priority) in ["NORMAL", "URGENT", "LOW", "HIGH", "URGENT", "NORMAL"]
        .iter()
        .enumerate()
    {
        created.push(create(&app, &store, new_request(priority, &format!("r{i}"))).await);
    }
    let at = |i: usize| created[i]["createdAt"].as_str().unwrap().to_owned();
    let (since, until) = (at(1), at(4));
    let in_range = |query: &[(&str, &str)]| {
        let app = &app;
        let store = &store;
        let query = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>();
        async move {
            let q: Vec<(&str, &str)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let (status, body) = list(app, store, &q).await;
            assert_eq!(status, 200, "{body}");
            ids(&body).into_iter().collect::<HashSet<_>>()
        }
    };
    let expect = |indices: &[usize]| {
        indices
            .iter()
            .map(|&i| id_of(&created[i]))
            .collect::<HashSet<_>>()
    };

    // since is inclusive, until exclusive.
    assert_eq!(
        in_range(&[("since", &since), ("until", &until)]).await,
        expect(&[1, 2, 3])
    );
    assert_eq!(
        in_range(&[("since", &since)]).await,
        expect(&[1, 2, 3, 4, 5])
    );
    assert_eq!(in_range(&[("until", &until)]).await, expect(&[0, 1, 2, 3]));

    // Within the range the order is still the queue's.
    let (_, body) = list(&app, &store, &[("since", &since), ("until", &until)]).await;
    assert_eq!(
        ids(&body),
        vec![id_of(&created[1]), id_of(&created[3]), id_of(&created[2])]
    );

    // Offsets are honoured: the same instant in another zone selects the same requests.
    let since_dt = OffsetDateTime::parse(&since, &Rfc3339).unwrap();
    let shifted = since_dt
        .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap())
        .format(&Rfc3339)
        .unwrap();
    assert_eq!(
        in_range(&[("since", &shifted), ("until", &until)]).await,
        expect(&[1, 2, 3])
    );
}

#[tokio::test]
async fn following_next_cursor_yields_every_request_exactly_once() {
    let app = integration_tests::app_with_stepping_clock().await;
    let store = fresh_store();
    let priorities = ["URGENT", "HIGH", "NORMAL", "LOW"];
    let mut all = Vec::new();
    for i in 0..11 {
        all.push(id_of(
            &create(
                &app,
                &store,
                new_request(priorities[i % 4], &format!("r{i}")),
            )
            .await,
        ));
    }
    let (_, whole) = list(&app, &store, &[("limit", "100")]).await;
    let queue_order = ids(&whole);
    assert_eq!(queue_order.len(), 11);

    for limit in ["1", "3", "4", "10", "11"] {
        let paged = list_all(&app, &store, &[("limit", limit)]).await;
        assert_eq!(paged, queue_order, "limit {limit}");
    }
    // With a time range the pages walk one priority at a time, and still cover everything.
    let since = "2000-01-01T00:00:00Z";
    for limit in ["1", "2", "3", "5"] {
        let paged = list_all(&app, &store, &[("limit", limit), ("since", since)]).await;
        assert_eq!(paged, queue_order, "ranged, limit {limit}");
    }
}

#[tokio::test]
async fn garbage_or_misused_cursors_are_rejected_with_400() {
    let app = app().await;
    let store = fresh_store();
    let other_store = fresh_store();
    for i in 0..3 {
        create(&app, &store, new_request("NORMAL", &format!("r{i}"))).await;
    }
    let (_, page) = list(&app, &store, &[("limit", "1")]).await;
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();

    let mut altered = cursor.clone().into_bytes();
    let last = altered.len() - 5;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();

    for (query, why) in [
        (vec![("cursor", "garbage")], "garbage"),
        (vec![("cursor", "")], "empty"),
        (vec![("cursor", altered.as_str())], "altered byte"),
        (
            vec![("cursor", cursor.as_str()), ("status", "NOT_PENDING")],
            "other status",
        ),
        (
            vec![
                ("cursor", cursor.as_str()),
                ("since", "2020-01-01T00:00:00Z"),
            ],
            "other range",
        ),
    ] {
        let (status, body) = list(&app, &store, &query).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert_eq!(body["error"]["code"], "invalid_cursor", "{why}");
    }
    // Replayed against another store the caller may read.
    let request = event("list-requests")
        .store(&other_store)
        .principal("associate-1", "associate", &[&store, &other_store])
        .query(&[("cursor", &cursor)])
        .build();
    let (status, _) = parts(handle(&app, request).await);
    assert_eq!(status, 400);
    // Another caller's cursor.
    let request = event("list-requests")
        .store(&store)
        .principal("associate-2", "associate", &[&store])
        .query(&[("cursor", &cursor)])
        .build();
    let (status, _) = parts(handle(&app, request).await);
    assert_eq!(status, 400);
}

/// A cursor sealed with the right key is still input: one whose position does not fit the
/// query it is used with (another status, outside the time range, another priority) is a
/// 400, never a start key DynamoDB refuses (which was a 500).
#[tokio::test]
async fn sealed_cursors_whose_position_does_not_fit_the_query_are_rejected_with_400() {
    use shared::domain::supervisor_request::{Priority, RequestStatus};
    use shared::store::requests::{ListPosition, ListQuery};
    let app = app().await;
    let store = fresh_store();
    let pending = create(&app, &store, new_request("NORMAL", "r1")).await;
    let answered = create(&app, &store, new_request("NORMAL", "r2")).await;
    respond(&app, &store, &id_of(&answered), "APPROVED").await;
    let (_, history) = list(&app, &store, &[("status", "NOT_PENDING")]).await;
    let answered = &history["items"][0];
    let created = |request: &Value| {
        OffsetDateTime::parse(request["createdAt"].as_str().unwrap(), &Rfc3339).unwrap()
    };
    let sort_key = |request: &Value, status: &str| {
        format!(
            "{status}#3#{:013}#{}",
            shared::domain::millis::unix_millis(created(request)),
            id_of(request)
        )
    };
    let query = |status, since: Option<OffsetDateTime>, until, priority| ListQuery {
        store: shared::domain::ids::StoreId::parse(&store).unwrap(),
        status,
        since,
        until,
        limit: 25,
        now: OffsetDateTime::now_utc(),
        priority,
        requested_by: None,
        decision: None,
    };
    let at = |request: &Value| created(request);
    let cases = [
        (
            "a history position in the queue",
            query(RequestStatus::Pending, None, None, None),
            ListPosition {
                rank: None,
                after: Some(sort_key(answered, "NOT_PENDING")),
            },
            vec![],
        ),
        (
            "a position after the range",
            query(RequestStatus::Pending, None, Some(at(&pending)), None),
            ListPosition {
                rank: Some(3),
                after: Some(sort_key(&pending, "PENDING")),
            },
            vec![("until", pending["createdAt"].as_str().unwrap().to_owned())],
        ),
        (
            "a position before the range",
            query(
                RequestStatus::Pending,
                Some(at(&pending) + Duration::seconds(1)),
                None,
                None,
            ),
            ListPosition {
                rank: Some(3),
                after: Some(sort_key(&pending, "PENDING")),
            },
            vec![(
                "since",
                (at(&pending) + Duration::seconds(1))
                    .format(&Rfc3339)
                    .unwrap(),
            )],
        ),
        (
            "a position of another priority",
            query(RequestStatus::Pending, None, None, Some(Priority::Urgent)),
            ListPosition {
                rank: None,
                after: Some(sort_key(&pending, "PENDING")),
            },
            vec![("priority", "URGENT".to_owned())],
        ),
        (
            "a key that is no queue key",
            query(RequestStatus::Pending, None, None, None),
            ListPosition {
                rank: None,
                after: Some(format!("PENDING#3#{}", id_of(&pending))),
            },
            vec![],
        ),
    ];
    for (why, query, position, params) in cases {
        let cursor = app.cursor_key().unwrap().seal(
            &query.cursor_binding("associate-1"),
            &position,
            OffsetDateTime::now_utc(),
        );
        let mut params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if query.status == RequestStatus::NotPending {
            params.push(("status", "NOT_PENDING"));
        }
        params.push(("cursor", &cursor));
        let (status, body) = list(&app, &store, &params).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert_eq!(body["error"]["code"], "invalid_cursor", "{why}");
    }
    // The same key sealed for a query it fits continues it.
    let fitting = ListPosition {
        rank: None,
        after: Some(sort_key(&pending, "PENDING")),
    };
    let cursor = app.cursor_key().unwrap().seal(
        &query(RequestStatus::Pending, None, None, None).cursor_binding("associate-1"),
        &fitting,
        OffsetDateTime::now_utc(),
    );
    let (status, body) = list(&app, &store, &[("cursor", &cursor)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn responding_moves_a_request_from_the_queue_to_history() {
    let app = app().await;
    let store = fresh_store();
    let id = id_of(&create(&app, &store, new_request("HIGH", "void line 3")).await);

    let (status, answered) = respond(&app, &store, &id, "DENIED").await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["statusCode"], "RESPONSE_RECEIVED");
    assert_eq!(answered["status"], "NOT_PENDING");
    assert_eq!(answered["response"]["decision"], "DENIED");
    assert_eq!(answered["response"]["respondedBy"], "supervisor-1");
    assert_eq!(answered["version"], 2);

    let (_, pending) = list(&app, &store, &[]).await;
    assert!(ids(&pending).is_empty());
    let (_, history) = list(&app, &store, &[("status", "NOT_PENDING")]).await;
    assert_eq!(history["items"], json!([answered]));
    // One queue entry and one record: nothing left behind under the old sort key.
    assert_eq!(partition_items(&app, &store).await.len(), 2);

    let (status, body) = respond(&app, &store, &id, "APPROVED").await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "request_not_pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_concurrent_responders_exactly_one_wins() {
    let app = Arc::new(app().await);
    let store = fresh_store();
    let id = id_of(&create(&app, &store, new_request("URGENT", "refund 40.00")).await);

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let app = Arc::clone(&app);
        let request = event("respond-to-request")
            .store(&store)
            .request_id(&id)
            .principal(&format!("supervisor-{i}"), "supervisor", &[&store])
            .json(json!({"decision": if i % 2 == 0 { "APPROVED" } else { "DENIED" }}))
            .build();
        tasks.spawn(async move { parts(handle(&app, request).await) });
    }
    let results = tasks.join_all().await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    let losers = results.iter().filter(|(s, _)| *s == 409).count();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(losers, 19, "{results:?}");

    let (_, history) = list(&app, &store, &[("status", "NOT_PENDING")]).await;
    assert_eq!(history["items"], json!([winners[0]]));
    let (_, stored) = get(&app, &store, &id).await;
    assert_eq!(&stored, winners[0]);
    assert_eq!(partition_items(&app, &store).await.len(), 2);
}

#[tokio::test]
async fn a_new_priority_moves_the_request_in_the_queue() {
    let app = integration_tests::app_with_stepping_clock().await;
    let store = fresh_store();
    let first = id_of(&create(&app, &store, new_request("NORMAL", "first")).await);
    let second = id_of(&create(&app, &store, new_request("NORMAL", "second")).await);
    let (_, before) = list(&app, &store, &[]).await;
    assert_eq!(ids(&before), vec![first.clone(), second.clone()]);

    let request = as_associate("update-request", &store)
        .request_id(&second)
        .header("if-match", "\"1\"")
        .json(json!({"priority": "URGENT", "details": "second, now urgent"}))
        .build();
    let response = handle(&app, request).await;
    assert_eq!(response.headers()["etag"], "\"2\"");
    let (status, updated) = parts(response);
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["priority"], "URGENT");
    assert_eq!(updated["details"], "second, now urgent");
    assert_eq!(updated["version"], 2);

    let (_, after) = list(&app, &store, &[]).await;
    assert_eq!(ids(&after), vec![second.clone(), first]);
    assert_eq!(partition_items(&app, &store).await.len(), 4);

    // `version` in the body works as well as If-Match.
    let request = as_associate("update-request", &store)
        .request_id(&second)
        .without_header("if-match")
        .json(json!({"priority": "LOW", "version": 2}))
        .build();
    let (status, updated) = parts(handle(&app, request).await);
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["version"], 3);
}

#[tokio::test]
async fn a_stale_version_is_refused_and_changes_nothing() {
    let app = app().await;
    let store = fresh_store();
    let id = id_of(&create(&app, &store, new_request("NORMAL", "original")).await);
    let edit = |version: &str, details: &str| {
        as_associate("update-request", &store)
            .request_id(&id)
            .header("if-match", version)
            .json(json!({"details": details}))
            .build()
    };
    let (status, _) = parts(handle(&app, edit("\"1\"", "first edit")).await);
    assert_eq!(status, 200);
    let (_, before) = get(&app, &store, &id).await;
    let items_before = partition_items(&app, &store).await;

    let (status, body) = parts(handle(&app, edit("\"1\"", "stale edit")).await);
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["error"]["code"], "version_mismatch");
    let (_, after) = get(&app, &store, &id).await;
    assert_eq!(after, before);
    assert_eq!(partition_items(&app, &store).await, items_before);

    // No version at all: 428, not a blind overwrite.
    let request = as_associate("update-request", &store)
        .request_id(&id)
        .without_header("if-match")
        .json(json!({"details": "blind"}))
        .build();
    let (status, _) = parts(handle(&app, request).await);
    assert_eq!(status, 428);
}

#[tokio::test]
async fn answered_requests_cannot_be_edited_and_associates_edit_only_their_own() {
    let app = app().await;
    let store = fresh_store();
    let id = id_of(&create(&app, &store, new_request("NORMAL", "mine")).await);
    let request = event("update-request")
        .store(&store)
        .request_id(&id)
        .principal("associate-2", "associate", &[&store])
        .json(json!({"priority": "URGENT"}))
        .build();
    let (status, _) = parts(handle(&app, request).await);
    assert_eq!(status, 403);

    respond(&app, &store, &id, "APPROVED").await;
    let request = as_supervisor("update-request", &store)
        .request_id(&id)
        .header("if-match", "\"2\"")
        .json(json!({"priority": "URGENT"}))
        .build();
    let (status, body) = parts(handle(&app, request).await);
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "request_not_pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_idempotency_key_creates_one_request_with_the_same_body() {
    let app = Arc::new(app().await);
    let store = fresh_store();
    let send = |key: &str, body: Value| {
        as_associate("create-request", &store)
            .header("idempotency-key", key)
            .json(body)
            .build()
    };
    let body = new_request("HIGH", "price check aisle 4");
    let first = handle(&app, send("key-1", body.clone())).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = parts(first);
    assert_eq!(status, 201);

    let again = handle(&app, send("key-1", body.clone())).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(parts(again), (201, first.clone()));
    // A client that re-serialises the same JSON (other whitespace and key order) retries the
    // same create: bodies are compared parsed, not byte for byte.
    let reserialised = as_associate("create-request", &store)
        .header("idempotency-key", "key-1")
        .raw_body(
            "{\n  \"details\" : \"price check aisle 4\",\n  \"priority\" : \"HIGH\",\n  \"requestType\" : \"REFUND\"\n}",
        )
        .build();
    assert_ne!(body.to_string().as_bytes(), reserialised.body());
    let again = handle(&app, reserialised).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(parts(again), (201, first.clone()));

    // Concurrent retries of a fresh key.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let app = Arc::clone(&app);
        let request = send("key-2", new_request("LOW", "bag of ice"));
        tasks.spawn(async move { parts(handle(&app, request).await) });
    }
    let results = tasks.join_all().await;
    assert!(
        results.iter().all(|(status, _)| *status == 201),
        "{results:?}"
    );
    assert!(
        results.iter().all(|(_, b)| b == &results[0].1),
        "{results:?}"
    );

    let (_, listed) = list(&app, &store, &[]).await;
    assert_eq!(ids(&listed), vec![id_of(&first), id_of(&results[0].1)]);

    // The same key with another body is refused and creates nothing.
    let (status, error) =
        parts(handle(&app, send("key-1", new_request("HIGH", "something else"))).await);
    assert_eq!(status, 422, "{error}");
    let (_, listed) = list(&app, &store, &[]).await;
    assert_eq!(ids(&listed).len(), 2);

    // A key belongs to its caller: another associate's same key and body is their own.
    let theirs = event("create-request")
        .store(&store)
        .principal("associate-2", "associate", &[&store])
        .header("idempotency-key", "key-1")
        .json(body)
        .build();
    let (status, other) = parts(handle(&app, theirs).await);
    assert_eq!(status, 201, "{other}");
    assert_ne!(id_of(&other), id_of(&first));
    assert_eq!(other["requestedBy"], "associate-2");
}

#[tokio::test]
async fn an_idempotency_key_past_its_window_creates_a_new_request_though_ttl_has_not_run() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = app().await;
    let store = fresh_store();
    // What a create an hour past its 24 h window left behind, before TTL removed it.
    let expired = OffsetDateTime::now_utc() - Duration::hours(25);
    app.requests
        .client()
        .put_item()
        .table_name(app.requests.table())
        .item(
            shared::store::keys::PARTITION_KEY,
            AttributeValue::S(store.clone()),
        )
        .item(
            shared::store::keys::SORT_KEY,
            AttributeValue::S(shared::store::keys::idempotency_sort_key(
                // The same caller's key (keys are scoped to their caller).
                &shared::store::idempotency::IdempotencyKey::parse("key-old", "associate-1")
                    .unwrap()
                    .scoped(),
            )),
        )
        .item("fingerprint", AttributeValue::S("an earlier body".into()))
        .item(
            "location",
            AttributeValue::S(format!(
                "/stores/{store}/supervisor-requests/01KAQ3Z9V8M4N6P2R5T7W9Y1B3"
            )),
        )
        .item("responseBody", AttributeValue::S("{}".into()))
        .item(
            shared::store::keys::EXPIRES_AT,
            AttributeValue::N((expired + Duration::hours(24)).unix_timestamp().to_string()),
        )
        .send()
        .await
        .unwrap();
    let send = || {
        as_associate("create-request", &store)
            .header("idempotency-key", "key-old")
            .json(new_request("HIGH", "price check aisle 4"))
            .build()
    };

    let first = handle(&app, send()).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = parts(first);
    assert_eq!(status, 201, "{first}");
    assert_ne!(id_of(&first), "01KAQ3Z9V8M4N6P2R5T7W9Y1B3");
    let (_, listed) = list(&app, &store, &[]).await;
    assert_eq!(ids(&listed), vec![id_of(&first)]);

    // The key now protects the new request for a full window.
    let again = handle(&app, send()).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(parts(again), (201, first));
}

/// The sweeper's fixture, scheduled at `at`.
fn sweep_event(at: OffsetDateTime) -> timeout_sweeper::ScheduledEvent {
    let mut fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/timeout-sweeper.json"
        ))
        .unwrap(),
    )
    .unwrap();
    fixture["time"] = Value::from(at.format(&Rfc3339).unwrap());
    serde_json::from_value(fixture).unwrap()
}

#[tokio::test]
async fn the_sweeper_times_out_exactly_the_pending_requests_past_their_deadline() {
    let app = app_with_fresh_table().await;
    let (store_a, store_b) = (fresh_store(), fresh_store());
    let short =
        |details: &str| json!({"requestType": "VOID", "details": details, "timeoutSeconds": 30});
    let long =
        |details: &str| json!({"requestType": "VOID", "details": details, "timeoutSeconds": 3600});
    let expired_a = id_of(&create(&app, &store_a, short("a, expires")).await);
    let expired_b = id_of(&create(&app, &store_b, short("b, expires")).await);
    let live = id_of(&create(&app, &store_a, long("a, lives")).await);
    let answered = id_of(&create(&app, &store_b, short("b, answered")).await);
    respond(&app, &store_b, &answered, "APPROVED").await;

    let sweep_at = sweep_event;

    // Before any deadline: nothing moves.
    let now = OffsetDateTime::now_utc();
    let report = timeout_sweeper::handler(&app, sweep_at(now), unlimited())
        .await
        .unwrap();
    assert_eq!((report.timed_out, report.skipped), (0, 0));

    let report = timeout_sweeper::handler(&app, sweep_at(now + Duration::seconds(60)), unlimited())
        .await
        .unwrap();
    assert_eq!(report.timed_out, 2);

    for (store, id, code) in [
        (&store_a, &expired_a, "TIMEOUT"),
        (&store_b, &expired_b, "TIMEOUT"),
        (&store_a, &live, "PENDING_RESPONSE"),
        (&store_b, &answered, "RESPONSE_RECEIVED"),
    ] {
        let (_, request) = get(&app, store, id).await;
        assert_eq!(request["statusCode"], code, "{id}");
    }
    let (_, history) = list(&app, &store_a, &[("status", "NOT_PENDING")]).await;
    assert_eq!(ids(&history), vec![expired_a.clone()]);
    let (_, queue) = list(&app, &store_a, &[]).await;
    assert_eq!(ids(&queue), vec![live]);

    // A second run finds nothing left to do.
    let report = timeout_sweeper::handler(&app, sweep_at(now + Duration::seconds(61)), unlimited())
        .await
        .unwrap();
    assert_eq!(report.timed_out, 0);
}

/// A sweep out of time takes no new work, says what it left and that it did not finish,
/// and still reports the run (`Sweeps`); the next run carries on.
#[tokio::test]
async fn a_sweep_out_of_time_stops_reports_what_it_left_and_the_next_run_finishes() {
    let app = app_with_fresh_table().await;
    let store = fresh_store();
    let short = json!({"requestType": "VOID", "details": "expires", "timeoutSeconds": 30});
    for _ in 0..3 {
        create(&app, &store, short.clone()).await;
    }
    let later = OffsetDateTime::now_utc() + Duration::seconds(31);
    let sweep = || sweep_event(later);

    let spent = timeout_sweeper::Budget::until(std::time::Instant::now());
    let before = integration_tests::emf_lines().len();
    let report = timeout_sweeper::handler(&app, sweep(), spent)
        .await
        .unwrap();
    assert_eq!(
        (report.timed_out, report.left, report.finished),
        (0, 3, false)
    );
    // Other tests sweep their own tables meanwhile; only this run is out of time.
    assert!(
        integration_tests::emf_lines()[before..].iter().any(|line| {
            let metrics: Value = serde_json::from_str(line).unwrap();
            metrics["SweepUnfinished"] == 1.0 && metrics["Sweeps"] == 1.0
        }),
        "an unfinished sweep is still reported"
    );
    let (_, history) = list(&app, &store, &[("status", "NOT_PENDING")]).await;
    assert!(ids(&history).is_empty(), "nothing moved by the spent run");

    let report = timeout_sweeper::handler(&app, sweep(), unlimited())
        .await
        .unwrap();
    assert_eq!(
        (report.timed_out, report.left, report.finished),
        (3, 0, true)
    );
    let (_, history) = list(&app, &store, &[("status", "NOT_PENDING")]).await;
    assert_eq!(ids(&history).len(), 3);
}

#[tokio::test]
async fn deleting_removes_the_request_from_every_view() {
    let app = app().await;
    let store = fresh_store();
    let id = id_of(&create(&app, &store, new_request("NORMAL", "to delete")).await);
    let delete = |if_match: Option<&str>| {
        let mut e = event("delete-request")
            .store(&store)
            .request_id(&id)
            .principal("admin-1", "admin", &[&store]);
        if let Some(v) = if_match {
            e = e.header("if-match", v);
        }
        e.build()
    };
    let (status, _) = parts(handle(&app, delete(Some("\"7\""))).await);
    assert_eq!(status, 412);
    let (status, body) = parts(handle(&app, delete(None)).await);
    assert_eq!(status, 204, "{body}");
    assert_eq!(get(&app, &store, &id).await.0, 404);
    assert!(partition_items(&app, &store).await.is_empty());
    assert_eq!(parts(handle(&app, delete(None)).await).0, 404);
}

#[tokio::test]
async fn bad_input_gets_a_json_error_and_leaves_the_table_unchanged() {
    let app = app().await;
    let store = fresh_store();
    let post = |body: &str| {
        as_associate("create-request", &store)
            .without_header("idempotency-key")
            .raw_body(body.to_owned())
    };
    let cases: Vec<(Event, u16, &str)> = vec![
        (post("{\"requestType\": \"REFUND\","), 400, "malformed_json"),
        (post("not json"), 400, "malformed_json"),
        (post("{} trailing"), 400, "malformed_json"),
        (
            post("{\"requestType\": 7, \"details\": \"x\"}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": 12}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"BRIBE\", \"details\": \"x\"}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\", \"priority\": \"SOON\"}"),
            422,
            "validation_failed",
        ),
        (
            // An explicit null is not "absent": the document says an integer.
            post("{\"requestType\": \"REFUND\", \"details\": \"x\", \"timeoutSeconds\": null}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\", \"extra\": 1}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"   \"}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\", \"timeoutSeconds\": 5}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\", \"timeoutSeconds\": -5}"),
            422,
            "validation_failed",
        ),
        (
            post("{\"requestType\": \"REFUND\"}"),
            422,
            "validation_failed",
        ),
        (post(""), 400, "missing_body"),
        (
            post(&format!(
                "{{\"requestType\": \"REFUND\", \"details\": \"{}\"}}",
                "x".repeat(20_000)
            )),
            413,
            "payload_too_large",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\"}")
                .header("content-type", "text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\"}").header("idempotency-key", ""),
            400,
            "invalid_idempotency_key",
        ),
        (
            post("{\"requestType\": \"REFUND\", \"details\": \"x\"}").store("bad#store"),
            400,
            "invalid_store_id",
        ),
    ];
    for (request, status, code) in cases {
        let (got, body) = parts(handle(&app, request.build()).await);
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["error"]["message"].is_string());
    }

    let id = id_of(&create(&app, &store, new_request("NORMAL", "the only one")).await);
    let items_before = partition_items(&app, &store).await;
    let bad_ids = [
        "not-a-ulid",
        "01kaq3z9v8m4n6p2r5t7w9y1b3",
        "01KAQ3Z9V8M4N6P2R5T7W9Y1B3X",
    ];
    for bad in bad_ids {
        let (status, body) = get(&app, &store, bad).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request_id"))
        );
        let (status, _) = respond(&app, &store, bad, "APPROVED").await;
        assert_eq!(status, 400);
    }
    for (body, status) in [
        (json!({"decision": "MAYBE"}), 422),
        (json!({"decision": "APPROVED", "note": ""}), 422),
        (json!({"decision": true}), 422),
    ] {
        let request = as_supervisor("respond-to-request", &store)
            .request_id(&id)
            .json(body.clone())
            .build();
        let (got, error) = parts(handle(&app, request).await);
        assert_eq!(got, status, "{body} -> {error}");
    }
    for (body, status) in [
        (json!({}), 422),
        (json!({"priority": "NOW", "version": 1}), 422),
        (json!({"priority": "LOW", "version": "one"}), 422),
    ] {
        let request = as_associate("update-request", &store)
            .request_id(&id)
            .json(body.clone())
            .build();
        let (got, error) = parts(handle(&app, request).await);
        assert_eq!(got, status, "{body} -> {error}");
    }
    for query in [
        vec![("status", "DONE")],
        vec![("limit", "0")],
        vec![("limit", "101")],
        vec![("limit", "ten")],
        vec![("since", "yesterday")],
        vec![
            ("since", "2026-11-23T10:00:00Z"),
            ("until", "2026-11-23T09:00:00Z"),
        ],
    ] {
        let (status, body) = list(&app, &store, &query).await;
        assert_eq!(status, 400, "{query:?} -> {body}");
    }
    let (status, _) = get(
        &app,
        &store,
        &shared::domain::ids::RequestId::generate().to_string(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(partition_items(&app, &store).await, items_before);
}

#[tokio::test]
async fn handlers_deny_without_authorizer_context_or_outside_the_callers_stores() {
    let app = app().await;
    let store = fresh_store();
    let id = id_of(&create(&app, &store, new_request("NORMAL", "private")).await);

    let no_context = event("get-request")
        .store(&store)
        .request_id(&id)
        .authorizer_context(Default::default())
        .build();
    let (status, body) = parts(handle(&app, no_context).await);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    let other_store = event("get-request")
        .store(&store)
        .request_id(&id)
        .principal("associate-9", "associate", &["another-store"])
        .build();
    let (status, body) = parts(handle(&app, other_store).await);
    assert_eq!(status, 403);
    assert!(!body.to_string().contains("private"));

    let associate_answers = as_associate("respond-to-request", &store)
        .request_id(&id)
        .json(json!({"decision": "APPROVED"}))
        .build();
    assert_eq!(parts(handle(&app, associate_answers).await).0, 403);
    let (_, still) = get(&app, &store, &id).await;
    assert_eq!(still["statusCode"], "PENDING_RESPONSE");
}

/// Every fixture in `events/` runs its own function's handler as it is.
#[tokio::test]
async fn each_fixture_runs_its_function() {
    // The fixtures name store-1 and a fixed request id: give them a table of their own.
    let app = app_with_fresh_table().await;
    let (status, created) = parts(handle(&app, event("create-request").build()).await);
    assert_eq!(status, 201, "{created}");
    // Put a request under the fixtures' ids so get, update, respond and delete find it.
    let request = shared::store::codec::request_from_item(
        &partition_items(&app, "store-1")
            .await
            .into_iter()
            .find(|i| i["sk"].as_s().unwrap().starts_with("REQUEST#"))
            .unwrap(),
    )
    .unwrap();
    // The delete fixture names a request of its own: the others answer theirs.
    for fixture in ["get-request", "delete-request"] {
        let mut request = request.clone();
        request.request_id = shared::domain::ids::RequestId::parse(
            &event(fixture).build().path_parameters()["requestId"],
        )
        .unwrap();
        let created = shared::domain::audit::RequestEvent::of(
            shared::domain::audit::EventType::Created,
            None,
            Some(&request),
            shared::domain::audit::Actor {
                subject: request.requested_by.clone(),
                role: shared::domain::audit::ActorRole::Associate,
            },
            request.created_at,
        );
        app.requests.create(&request, &created, None).await.unwrap();
    }

    assert_eq!(
        parts(handle(&app, event("get-request").build()).await).0,
        200
    );
    assert_eq!(
        parts(handle(&app, event("list-requests").build()).await).0,
        200
    );
    assert_eq!(
        parts(handle(&app, event("update-request").build()).await).0,
        200
    );
    assert_eq!(
        parts(handle(&app, event("respond-to-request").build()).await).0,
        200
    );
    assert_eq!(
        parts(handle(&app, event("delete-request").build()).await).0,
        204
    );
    let sweep: timeout_sweeper::ScheduledEvent = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/timeout-sweeper.json"
        ))
        .unwrap(),
    )
    .unwrap();
    timeout_sweeper::handler(&app, sweep, unlimited())
        .await
        .unwrap();
}

/// The filters a till app and a supervisor screen reach for: one priority (a key condition),
/// the caller's own requests (an index), both with time ranges and pages; a misspelt
/// parameter is a 400 naming it, never an empty filter.
#[tokio::test]
async fn filters_by_priority_and_requester_and_unknown_parameters_are_refused() {
    let app = app().await;
    let store = fresh_store();
    let by = |sub: &str, priority: &str, details: &str| {
        event("create-request")
            .store(&store)
            .principal(sub, "associate", &[&store])
            .without_header("idempotency-key")
            .json(new_request(priority, details))
            .build()
    };
    let mut mine = Vec::new();
    let mut urgent = Vec::new();
    for (n, (sub, priority)) in [
        ("associate-1", "URGENT"),
        ("associate-2", "URGENT"),
        ("associate-1", "LOW"),
        ("associate-2", "LOW"),
        ("associate-1", "URGENT"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) =
            call_function(&app, "create-request", by(sub, priority, &format!("n{n}"))).await;
        assert_eq!(status, 201, "{body}");
        if sub == "associate-1" {
            mine.push(id_of(&body));
        }
        if priority == "URGENT" {
            urgent.push(id_of(&body));
        }
    }
    // Queue order within each filter: most urgent first, then oldest first.
    assert_eq!(
        list_all(&app, &store, &[("priority", "URGENT"), ("limit", "1")]).await,
        urgent
    );
    let own = |query: &[(&str, &str)]| {
        let mut q = vec![("requestedBy", "me")];
        q.extend_from_slice(query);
        call_function(
            &app,
            "list-requests",
            event("list-requests")
                .store(&store)
                .principal("associate-1", "associate", &[&store])
                .query(&q)
                .build(),
        )
    };
    let (status, page) = own(&[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        ids(&page),
        [mine[0].clone(), mine[2].clone(), mine[1].clone()]
    );
    let (_, page) = own(&[("priority", "LOW")]).await;
    assert_eq!(ids(&page), [mine[1].clone()]);
    let (_, page) = own(&[("since", "2020-01-01T00:00:00Z"), ("limit", "2")]).await;
    assert_eq!(ids(&page), [mine[0].clone(), mine[2].clone()]);
    assert!(page["nextCursor"].is_string());

    for (name, value) in [
        ("priorty", "URGENT"),
        ("requestedBy", "associate-2"),
        ("priority", "SOON"),
    ] {
        let (status, body) = list(&app, &store, &[(name, value)]).await;
        assert_eq!(status, 400, "{name}={value}: {body}");
    }
    let (_, body) = list(
        &app,
        &store,
        &[("priorty", "URGENT"), ("stauts", "PENDING")],
    )
    .await;
    assert_eq!(body["error"]["code"], "unknown_query_parameter");
    let named: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["priorty", "stauts"]);
    // A route without query parameters refuses any.
    let (status, body) = call_function(
        &app,
        "get-request",
        as_associate("get-request", &store)
            .request_id(&mine[0])
            .query(&[("verbose", "1")])
            .build(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_query_parameter"))
    );
}

/// History newest first (by when each request left the queue) is its own access pattern;
/// history by decision a filter on it or on queue order.
#[tokio::test]
async fn history_newest_first_and_by_decision() {
    let app = integration_tests::app_with_stepping_clock().await;
    let store = fresh_store();
    let mut closed = Vec::new();
    for (details, decision) in [("a", "APPROVED"), ("b", "DENIED"), ("c", "APPROVED")] {
        let id = id_of(&create(&app, &store, new_request("LOW", details)).await);
        let (status, _) = respond(&app, &store, &id, decision).await;
        assert_eq!(status, 200);
        closed.push(id);
    }
    let newest = list_all(
        &app,
        &store,
        &[
            ("status", "NOT_PENDING"),
            ("order", "newest"),
            ("limit", "1"),
        ],
    )
    .await;
    assert_eq!(
        newest,
        [closed[2].clone(), closed[1].clone(), closed[0].clone()]
    );
    let approved = list_all(
        &app,
        &store,
        &[
            ("status", "NOT_PENDING"),
            ("order", "newest"),
            ("decision", "APPROVED"),
        ],
    )
    .await;
    assert_eq!(approved, [closed[2].clone(), closed[0].clone()]);
    let denied = list_all(
        &app,
        &store,
        &[("status", "NOT_PENDING"), ("decision", "DENIED")],
    )
    .await;
    assert_eq!(denied, [closed[1].clone()]);
    for query in [
        vec![("order", "newest")],
        vec![("decision", "APPROVED")],
        vec![
            ("status", "NOT_PENDING"),
            ("order", "newest"),
            ("priority", "LOW"),
        ],
        vec![("status", "NOT_PENDING"), ("order", "oldest")],
    ] {
        assert_eq!(list(&app, &store, &query).await.0, 400, "{query:?}");
    }
}
