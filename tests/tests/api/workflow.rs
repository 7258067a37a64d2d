//! The workflow a till can rely on: deadlines enforced at answer time, no self-approval,
//! history kept, and an audit trail written with every change. Against DynamoDB Local.

use std::sync::Arc;

use integration_tests::{
    Event, app, app_with_fresh_table, call_function, event, fresh_store, partition_items,
};
use serde_json::{Value, json};
use shared::App;
use shared::domain::audit::{Actor, ActorRole, EventType, RequestEvent};
use shared::domain::ids::StoreId;
use shared::domain::supervisor_request::{
    Details, NewRequest, Priority, RequestType, SupervisorRequest,
};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

async fn call(app: &App, function: &str, request: Event) -> (u16, Value) {
    call_function(app, function, request.build()).await
}

fn as_role(fixture: &str, store: &str, sub: &str, role: &str) -> Event {
    event(fixture).store(store).principal(sub, role, &[store])
}

/// A pending request raised by `by`, whose deadline is `deadline_in` from now (negative:
/// already past), written through the store with its `created` event as the create route
/// writes it. (The route refuses timeouts under 30 s, so tests plant short ones.)
async fn plant(app: &App, store: &str, by: &str, deadline_in: Duration) -> String {
    let timeout = Duration::seconds(30);
    let request = SupervisorRequest::new(
        StoreId::parse(store).unwrap(),
        NewRequest {
            request_type: RequestType::Refund,
            priority: Priority::High,
            details: Details::parse("details", "receipt 4411, 12.90".into()).unwrap(),
            timeout: Some(timeout),
        },
        by.into(),
        OffsetDateTime::now_utc() + deadline_in - timeout,
        timeout,
    );
    let created = RequestEvent::of(
        EventType::Created,
        None,
        Some(&request),
        Actor {
            subject: by.into(),
            role: ActorRole::Associate,
        },
        request.created_at,
    );
    app.requests.create(&request, &created, None).await.unwrap();
    request.request_id.to_string()
}

async fn create_as(app: &App, store: &str, sub: &str, role: &str) -> String {
    let (status, body) = call(
        app,
        "create-request",
        as_role("create-request", store, sub, role)
            .without_header("idempotency-key")
            .json(json!({"requestType": "REFUND", "priority": "NORMAL", "details": "receipt 7"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["requestId"].as_str().unwrap().to_owned()
}

async fn answer(app: &App, store: &str, id: &str, sub: &str, role: &str) -> (u16, Value) {
    call(
        app,
        "respond-to-request",
        as_role("respond-to-request", store, sub, role)
            .request_id(id)
            .json(json!({"decision": "APPROVED", "note": "ok"})),
    )
    .await
}

async fn get(app: &App, store: &str, id: &str) -> (u16, Value) {
    call(
        app,
        "get-request",
        as_role("get-request", store, "supervisor-1", "supervisor").request_id(id),
    )
    .await
}

async fn remove(app: &App, store: &str, id: &str, sub: &str, role: &str) -> (u16, Value) {
    call(
        app,
        "delete-request",
        as_role("delete-request", store, sub, role)
            .request_id(id)
            .without_header("if-match"),
    )
    .await
}

/// The request's audit trail, every page.
async fn trail(app: &App, store: &str, id: &str) -> Vec<Value> {
    integration_tests::all_pages(app, "list-request-events", |cursor| {
        let mut query = vec![("limit", "2")];
        query.extend(cursor.map(|c| ("cursor", c)));
        as_role("list-request-events", store, "associate-9", "associate")
            .request_id(id)
            .query(&query)
            .build()
    })
    .await
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_late_answer_edit_or_withdrawal_is_refused_and_times_the_request_out() {
    let app = app().await;
    let store = fresh_store();
    let late_answer = plant(&app, &store, "associate-1", Duration::seconds(-1)).await;
    let late_edit = plant(&app, &store, "associate-1", Duration::seconds(-1)).await;
    let late_withdrawal = plant(&app, &store, "associate-1", Duration::seconds(-1)).await;

    let (status, body) = answer(&app, &store, &late_answer, "supervisor-1", "supervisor").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("request_timed_out"))
    );
    let (status, body) = call(
        &app,
        "update-request",
        as_role("update-request", &store, "associate-1", "associate")
            .request_id(&late_edit)
            .header("if-match", "\"1\"")
            .json(json!({"priority": "URGENT"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("request_timed_out"))
    );
    let (status, body) = remove(&app, &store, &late_withdrawal, "associate-1", "associate").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("request_timed_out"))
    );

    for id in [&late_answer, &late_edit, &late_withdrawal] {
        // Moved to history by the refusing transaction itself, not left for the sweeper.
        let (_, request) = get(&app, &store, id).await;
        assert_eq!(request["statusCode"], "TIMEOUT");
        assert_eq!(request["version"], 2);
        let events = trail(&app, &store, id).await;
        assert_eq!(types(&events), ["created", "timed_out"]);
        assert_eq!(events[1]["actor"]["role"], "system");
        assert_eq!(
            events[1]["changes"],
            json!([{"field": "statusCode", "from": "PENDING_RESPONSE", "to": "TIMEOUT"}])
        );
    }
    // Answering again changes nothing and records nothing more.
    let (status, body) = answer(&app, &store, &late_answer, "supervisor-2", "supervisor").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("request_timed_out"))
    );
    assert_eq!(trail(&app, &store, &late_answer).await.len(), 2);
}

#[tokio::test]
async fn no_response_shows_a_request_past_its_deadline_as_pending() {
    let app = app().await;
    let store = fresh_store();
    let expired = plant(&app, &store, "associate-1", Duration::milliseconds(-1)).await;
    let live = plant(&app, &store, "associate-1", Duration::minutes(5)).await;
    // The sweeper has not run: the table still holds the expired request in the queue.
    assert!(
        partition_items(&app, &store)
            .await
            .iter()
            .any(|item| item["sk"].as_s().unwrap().starts_with("PENDING#")
                && item["requestId"].as_s().unwrap() == &expired)
    );

    let (status, request) = get(&app, &store, &expired).await;
    assert_eq!(status, 200);
    assert_eq!(request["status"], "NOT_PENDING");
    assert_eq!(request["statusCode"], "TIMEOUT");
    assert_eq!(request["updatedAt"], request["deadline"]);

    let (status, page) = call(
        &app,
        "list-requests",
        as_role("list-requests", &store, "supervisor-1", "supervisor"),
    )
    .await;
    assert_eq!(status, 200);
    let queued: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(queued, [live.as_str()]);
}

#[tokio::test]
async fn an_answer_racing_the_sweeper_ends_in_exactly_one_outcome() {
    let app = Arc::new(app_with_fresh_table().await);
    let store = fresh_store();
    let mut outcomes = std::collections::BTreeMap::new();
    for round in 0..12 {
        // Before the deadline in real time, so the answer can win; the sweeper is told it is
        // the deadline, so it can win too.
        let id = plant(&app, &store, "associate-1", Duration::seconds(5)).await;
        let deadline = OffsetDateTime::parse(
            get(&app, &store, &id).await.1["deadline"].as_str().unwrap(),
            &Rfc3339,
        )
        .unwrap();
        let answering = {
            let (app, store, id) = (Arc::clone(&app), store.clone(), id.clone());
            tokio::spawn(
                async move { answer(&app, &store, &id, "supervisor-1", "supervisor").await },
            )
        };
        let sweeping = {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                timeout_sweeper::handler(
                    &app,
                    integration_tests::sweep_at(deadline),
                    integration_tests::unlimited(),
                )
                .await
            })
        };
        let (answered, swept) = (answering.await.unwrap(), sweeping.await.unwrap().unwrap());
        let stored = app
            .requests
            .get(
                &StoreId::parse(&store).unwrap(),
                &shared::domain::ids::RequestId::parse(&id).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        let events = trail(&app, &store, &id).await;
        let terminal = types(&events)[1..].to_vec();
        match stored.status_code().as_str() {
            "RESPONSE_RECEIVED" => {
                assert_eq!(answered.0, 200, "round {round}");
                assert_eq!(swept.timed_out, 0, "round {round}");
                assert_eq!(terminal, ["answered"], "round {round}");
            }
            "TIMEOUT" => {
                assert_eq!(answered.0, 409, "round {round}: {}", answered.1);
                assert_eq!(terminal, ["timed_out"], "round {round}");
            }
            other => panic!("round {round}: left {other}"),
        }
        *outcomes.entry(stored.status_code().as_str()).or_insert(0) += 1;
    }
    // Which one wins is a race; that each round ends once is the point.
    assert_eq!(outcomes.values().sum::<i32>(), 12, "{outcomes:?}");
}

#[tokio::test]
async fn of_fifty_concurrent_answers_one_is_recorded() {
    let app = Arc::new(app().await);
    let store = fresh_store();
    let id = create_as(&app, &store, "associate-1", "associate").await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..50 {
        let (app, store, id) = (Arc::clone(&app), store.clone(), id.clone());
        tasks.spawn(async move {
            answer(&app, &store, &id, &format!("supervisor-{n}"), "supervisor")
                .await
                .0
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 49);
    let events = trail(&app, &store, &id).await;
    assert_eq!(types(&events), ["created", "answered"]);
}

#[tokio::test]
async fn nobody_answers_a_request_they_raised_whatever_their_role() {
    let app = app().await;
    let store = fresh_store();
    for (role, code) in [
        ("associate", "forbidden"),
        ("supervisor", "own_request"),
        ("admin", "own_request"),
    ] {
        let id = create_as(&app, &store, "user-1", role).await;
        let (status, body) = answer(&app, &store, &id, "user-1", role).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some(code)),
            "{role}"
        );
        let (_, request) = get(&app, &store, &id).await;
        assert_eq!(request["statusCode"], "PENDING_RESPONSE", "{role}");
        assert_eq!(
            types(&trail(&app, &store, &id).await),
            ["created"],
            "{role}"
        );
        // Someone else may.
        assert_eq!(
            answer(&app, &store, &id, "user-2", "supervisor").await.0,
            200
        );
    }
}

#[tokio::test]
async fn the_creator_withdraws_supervisors_discard_and_both_are_recorded() {
    let app = app().await;
    let store = fresh_store();
    let mine = create_as(&app, &store, "associate-1", "associate").await;
    // Another associate may not remove it.
    let (status, _) = remove(&app, &store, &mine, "associate-2", "associate").await;
    assert_eq!(status, 403);
    assert_eq!(get(&app, &store, &mine).await.0, 200);

    assert_eq!(
        remove(&app, &store, &mine, "associate-1", "associate")
            .await
            .0,
        204
    );
    assert_eq!(get(&app, &store, &mine).await.0, 404);
    let events = trail(&app, &store, &mine).await;
    assert_eq!(types(&events), ["created", "withdrawn"]);
    assert_eq!(
        events[1]["actor"],
        json!({"subject": "associate-1", "role": "associate"})
    );
    assert_eq!(events[1]["version"], 2);

    let theirs = create_as(&app, &store, "associate-1", "associate").await;
    assert_eq!(
        remove(&app, &store, &theirs, "supervisor-1", "supervisor")
            .await
            .0,
        204
    );
    let events = trail(&app, &store, &theirs).await;
    assert_eq!(types(&events), ["created", "discarded"]);
    assert_eq!(events[1]["actor"]["subject"], "supervisor-1");
}

#[tokio::test]
async fn history_is_kept_and_the_trail_lists_exactly_the_changes_in_order() {
    let app = app().await;
    let store = fresh_store();
    let id = create_as(&app, &store, "associate-1", "associate").await;
    let edit = |sub: &'static str, role: &'static str, version: &'static str, body: Value| {
        as_role("update-request", &store, sub, role)
            .request_id(&id)
            .header("if-match", version)
            .json(body)
    };
    let (status, _) = call(
        &app,
        "update-request",
        edit(
            "associate-1",
            "associate",
            "\"1\"",
            json!({"priority": "URGENT"}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        "update-request",
        edit(
            "supervisor-1",
            "supervisor",
            "\"2\"",
            json!({"details": "receipt 7, 2 items"}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer(&app, &store, &id, "supervisor-1", "supervisor")
            .await
            .0,
        200
    );

    for (sub, role) in [
        ("supervisor-1", "supervisor"),
        ("admin-1", "admin"),
        ("associate-1", "associate"),
    ] {
        let (status, body) = remove(&app, &store, &id, sub, role).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (409, Some("request_is_history")),
            "{role}"
        );
    }
    assert_eq!(
        get(&app, &store, &id).await.1["statusCode"],
        "RESPONSE_RECEIVED"
    );

    let events = trail(&app, &store, &id).await;
    assert_eq!(types(&events), ["created", "edited", "edited", "answered"]);
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3, 4]);
    assert_eq!(
        events[0]["actor"],
        json!({"subject": "associate-1", "role": "associate"})
    );
    assert_eq!(
        events[1]["changes"],
        json!([{"field": "priority", "from": "NORMAL", "to": "URGENT"}])
    );
    assert_eq!(
        events[2]["changes"],
        json!([{"field": "details", "from": "receipt 7", "to": "receipt 7, 2 items"}])
    );
    assert_eq!(events[2]["actor"]["role"], "supervisor");
    assert_eq!(
        (events[3]["decision"].as_str(), events[3]["note"].as_str()),
        (Some("APPROVED"), Some("ok"))
    );

    // The store's trail, for admins: the same events, newest first.
    let (status, body) = call(
        &app,
        "list-store-events",
        as_role("list-store-events", &store, "admin-1", "admin"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut newest_first = events.clone();
    newest_first.reverse();
    assert_eq!(body["items"], Value::from(newest_first));
    let (status, _) = call(
        &app,
        "list-store-events",
        as_role("list-store-events", &store, "supervisor-1", "supervisor"),
    )
    .await;
    assert_eq!(status, 403);
    // A request that never existed has no trail.
    let (status, _) = call(
        &app,
        "list-request-events",
        as_role("list-request-events", &store, "associate-1", "associate")
            .request_id(&shared::domain::ids::RequestId::generate().to_string()),
    )
    .await;
    assert_eq!(status, 404);
}

/// `make run`'s schedule: the real sweeper handler, on an interval, times requests out.
#[tokio::test]
async fn the_local_schedule_runs_the_real_sweeper() {
    let app = Arc::new(app_with_fresh_table().await);
    let store = fresh_store();
    let id = plant(&app, &store, "associate-1", Duration::milliseconds(500)).await;
    let schedule = {
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            local_gateway::scheduler::run(&app, std::time::Duration::from_secs(1)).await
        })
    };
    let mut moved = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (_, history) = call(
            &app,
            "list-requests",
            as_role("list-requests", &store, "supervisor-1", "supervisor")
                .query(&[("status", "NOT_PENDING")]),
        )
        .await;
        if history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["requestId"] == id.as_str())
        {
            moved = true;
            break;
        }
    }
    schedule.abort();
    assert!(moved, "the request was not moved to history within 10 s");
    let events = trail(&app, &store, &id).await;
    assert_eq!(types(&events), ["created", "timed_out"]);
}
