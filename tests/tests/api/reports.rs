//! Reports (issue 27): a store with a known history across a daylight-saving change, its
//! report's numbers, and their agreement with the events routes; the report's input rules
//! and who may read it. And the history as CSV: neutralised formulas, every row exactly once
//! through `Link`, JSON still the default.

use integration_tests::{Event, app, app_with_fresh_table, call_function, event, fresh_store};
use serde_json::{Value, json};
use shared::App;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn at(raw: &str) -> OffsetDateTime {
    OffsetDateTime::parse(raw, &Rfc3339).unwrap()
}

fn as_role(fixture: &str, store: &str, subject: &str, role: &str) -> Event {
    event(fixture)
        .store(store)
        .principal(subject, role, &[store])
}

/// A store's history written through the handlers, each change at the instant the clock is
/// set to.
struct History<'a> {
    app: &'a App,
    store: String,
}

impl History<'_> {
    async fn create(&self, when: &str, priority: &str, kind: &str, timeout: u32) -> String {
        self.app.clock.set(at(when));
        let (status, body) = call_function(
            self.app,
            "create-request",
            as_role("create-request", &self.store, "assoc-1", "associate")
                .without_header("idempotency-key")
                .json(json!({"requestType": kind, "priority": priority, "details": "d", "timeoutSeconds": timeout}))
                .build(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["requestId"].as_str().unwrap().to_owned()
    }

    async fn answer(&self, when: &str, id: &str, who: &str, decision: &str) -> u16 {
        self.app.clock.set(at(when));
        let (status, body) = call_function(
            self.app,
            "respond-to-request",
            as_role("respond-to-request", &self.store, who, "supervisor")
                .request_id(id)
                .json(json!({"decision": decision}))
                .build(),
        )
        .await;
        assert!(status == 200 || status == 409, "{body}");
        status
    }

    async fn remove(&self, when: &str, id: &str, who: &str, role: &str) {
        self.app.clock.set(at(when));
        let (status, body) = call_function(
            self.app,
            "delete-request",
            as_role("delete-request", &self.store, who, role)
                .request_id(id)
                .build(),
        )
        .await;
        assert_eq!(status, 204, "{body}");
    }

    async fn edit(&self, when: &str, id: &str) {
        self.app.clock.set(at(when));
        let (status, body) = call_function(
            self.app,
            "update-request",
            as_role("update-request", &self.store, "assoc-1", "associate")
                .request_id(id)
                .json(json!({"priority": "URGENT"}))
                .build(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn sweep(&self, when: &str) {
        let event = integration_tests::sweep_at(at(when));
        timeout_sweeper::handler(self.app, event, integration_tests::unlimited())
            .await
            .unwrap();
    }

    async fn report(&self, query: &[(&str, &str)]) -> (u16, Value) {
        call_function(
            self.app,
            "get-request-report",
            as_role("get-request-report", &self.store, "sup-9", "supervisor")
                .query(query)
                .build(),
        )
        .await
    }

    /// Every event of the store, through the admins' events route, page by page.
    async fn events(&self) -> Vec<Value> {
        integration_tests::all_pages(self.app, "list-store-events", |cursor| {
            let mut query = vec![("limit", "100")];
            query.extend(cursor.map(|c| ("cursor", c)));
            as_role("list-store-events", &self.store, "admin-1", "admin")
                .query(&query)
                .build()
        })
        .await
    }
}

/// What the events routes count in `[start, end)`: the report's six counts.
fn counts_from_events(events: &[Value], start: &str, end: &str) -> [u64; 6] {
    let (start, end) = (at(start), at(end));
    let mut counts = [0; 6];
    for event in events {
        let when = at(event["at"].as_str().unwrap());
        if when < start || when >= end {
            continue;
        }
        let slot = match (event["type"].as_str().unwrap(), event["decision"].as_str()) {
            ("created", _) => 0,
            ("answered", Some("APPROVED")) => 1,
            ("answered", Some("DENIED")) => 2,
            ("timed_out", _) => 3,
            ("withdrawn", _) => 4,
            ("discarded", _) => 5,
            _ => continue,
        };
        counts[slot] += 1;
    }
    counts
}

fn counts_of(tally: &Value) -> [u64; 6] {
    shared::domain::report::COUNT_NAMES.map(|name| tally[name].as_u64().unwrap())
}

#[tokio::test]
async fn a_report_counts_a_known_history_across_a_daylight_saving_change() {
    // A table of its own: the history is in the past, and only this test's sweeps run on it.
    let mut app = app_with_fresh_table().await;
    app.clock = shared::edge::config::Clock::manual(at("2026-10-30T00:00:00Z"));
    let h = History {
        app: &app,
        store: fresh_store(),
    };
    // America/Denver: 2026-10-31 is a Saturday at -06:00; on Sunday 2026-11-01 clocks fall
    // back from 02:00 -06:00 to 01:00 -07:00.
    // Raised the evening before the range, answered in it: its creation is read apart.
    let r10 = h
        .create("2026-10-30T23:50:00-06:00", "LOW", "RETURN", 1800)
        .await;
    assert_eq!(
        h.answer("2026-10-31T00:10:00-06:00", &r10, "sup-1", "DENIED")
            .await,
        200
    );
    let r1 = h
        .create("2026-10-31T09:00:00-06:00", "URGENT", "PRICE_OVERRIDE", 600)
        .await;
    assert_eq!(
        h.answer("2026-10-31T09:00:30-06:00", &r1, "sup-1", "APPROVED")
            .await,
        200
    );
    // Raised HIGH, escalated: it counts as raised.
    let r2 = h
        .create("2026-10-31T09:10:00-06:00", "HIGH", "REFUND", 600)
        .await;
    h.edit("2026-10-31T09:11:00-06:00", &r2).await;
    assert_eq!(
        h.answer("2026-10-31T09:12:00-06:00", &r2, "sup-2", "DENIED")
            .await,
        200
    );
    // Answered a millisecond before its deadline: answered.
    let r3 = h
        .create("2026-10-31T10:00:00-06:00", "NORMAL", "VOID", 600)
        .await;
    assert_eq!(
        h.answer("2026-10-31T10:09:59.999-06:00", &r3, "sup-1", "APPROVED")
            .await,
        200
    );
    // Answered at its deadline: too late, it timed out then.
    let r4 = h
        .create("2026-10-31T11:00:00-06:00", "LOW", "DISCOUNT", 600)
        .await;
    assert_eq!(
        h.answer("2026-10-31T11:10:00-06:00", &r4, "sup-2", "APPROVED")
            .await,
        409
    );
    // Nobody answered: the sweeper times it out.
    h.create("2026-10-31T12:00:00-06:00", "NORMAL", "OTHER", 600)
        .await;
    h.sweep("2026-10-31T12:30:00-06:00").await;
    let r6 = h
        .create("2026-10-31T13:00:00-06:00", "NORMAL", "OTHER", 600)
        .await;
    h.remove("2026-10-31T13:05:00-06:00", &r6, "assoc-1", "associate")
        .await;
    let r7 = h
        .create("2026-10-31T14:00:00-06:00", "NORMAL", "OTHER", 600)
        .await;
    h.remove("2026-10-31T14:01:00-06:00", &r7, "sup-2", "supervisor")
        .await;
    // Across local midnight.
    let r8 = h
        .create("2026-10-31T23:55:00-06:00", "NORMAL", "REFUND", 1200)
        .await;
    assert_eq!(
        h.answer("2026-11-01T00:05:00-06:00", &r8, "sup-2", "APPROVED")
            .await,
        200
    );
    // Raised at the first 01:30, answered at the second: an hour later.
    let r9 = h
        .create("2026-11-01T01:30:00-06:00", "HIGH", "REFUND", 7200)
        .await;
    assert_eq!(
        h.answer("2026-11-01T01:30:00-07:00", &r9, "sup-1", "APPROVED")
            .await,
        200
    );
    // The range's last minute, and the first instant after it.
    h.create("2026-11-01T23:59:59.999-07:00", "NORMAL", "OTHER", 600)
        .await;
    h.create("2026-11-02T00:00:00-07:00", "NORMAL", "OTHER", 600)
        .await;

    let range = [
        ("from", "2026-10-31"),
        ("to", "2026-11-01"),
        ("tz", "America/Denver"),
    ];
    let (status, daily) = h.report(&range).await;
    assert_eq!(status, 200, "{daily}");
    assert_eq!(daily["groupBy"], "day");
    let totals = &daily["totals"];
    assert_eq!(counts_of(totals), [10, 4, 2, 2, 1, 1]);
    // Times to answer: 30 s, 2 min, 10 min - 1 ms, 10 min, 20 min, 1 h.
    assert_eq!(
        totals["timeToAnswerMs"],
        json!({"count": 6, "p50": 599_999, "p90": 3_600_000, "max": 3_600_000})
    );
    assert_eq!(totals["byPriority"]["URGENT"]["created"], 1);
    assert_eq!(totals["byPriority"]["HIGH"]["denied"], 1);
    assert_eq!(
        totals["byPriority"]["HIGH"]["timeToAnswerMs"]["p50"],
        120_000
    );
    assert_eq!(totals["byPriority"]["LOW"]["timedOut"], 1);
    // Raised before the range: its type and time from its created event.
    assert_eq!(totals["byRequestType"]["RETURN"]["denied"], 1);
    assert_eq!(totals["byRequestType"]["RETURN"]["created"], 0);
    assert_eq!(
        totals["byRequestType"]["RETURN"]["timeToAnswerMs"]["max"],
        1_200_000
    );
    let days = daily["buckets"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["start"], "2026-10-31T00:00:00-06:00");
    assert_eq!(days[1]["start"], "2026-11-01T00:00:00-06:00");
    assert_eq!(days[1]["end"], "2026-11-02T00:00:00-07:00");
    assert_eq!(counts_of(&days[0]), [8, 2, 2, 2, 1, 1]);
    assert_eq!(counts_of(&days[1]), [2, 2, 0, 0, 0, 0]);
    assert_eq!(days[0]["timeToAnswerMs"]["p50"], 120_000);
    assert_eq!(days[0]["timeToAnswerMs"]["p90"], 1_200_000);
    assert_eq!(
        daily["supervisors"],
        json!([
            {"subject": "sup-1", "answers": 4, "approved": 3, "denied": 1, "medianTimeToAnswerMs": 599_999},
            {"subject": "sup-2", "answers": 2, "approved": 1, "denied": 1, "medianTimeToAnswerMs": 120_000},
        ])
    );
    let busy = &daily["busyHours"]["created"];
    assert_eq!(daily["busyHours"]["weekdays"][5], "SAT");
    assert_eq!(busy[5][9], 2);
    assert_eq!(busy[5][23], 1);
    assert_eq!(busy[6][1], 1);
    let all: u64 = (0..7)
        .flat_map(|d| (0..24).map(move |h| (d, h)))
        .map(|(d, h)| busy[d][h].as_u64().unwrap())
        .sum();
    assert_eq!(all, 10);

    // Each day's counts are the events the events route returns for that day.
    let events = h.events().await;
    for day in days {
        let (start, end) = (day["start"].as_str().unwrap(), day["end"].as_str().unwrap());
        assert_eq!(
            counts_of(day),
            counts_from_events(&events, start, end),
            "{start}"
        );
    }
    assert_eq!(
        counts_of(totals),
        counts_from_events(
            &events,
            "2026-10-31T00:00:00-06:00",
            "2026-11-02T00:00:00-07:00"
        )
    );

    // Hourly: 24 + 25 buckets; the repeated 01:00 twice, with its two offsets.
    let (status, hourly) = h
        .report(&[range[0], range[1], range[2], ("groupBy", "hour")])
        .await;
    assert_eq!(status, 200, "{hourly}");
    let hours = hourly["buckets"].as_array().unwrap();
    assert_eq!(hours.len(), 49);
    assert_eq!(hours[25]["start"], "2026-11-01T01:00:00-06:00");
    assert_eq!(hours[26]["start"], "2026-11-01T01:00:00-07:00");
    assert_eq!(hours[25]["created"], 1);
    assert_eq!(hours[26]["approved"], 1);
    assert_eq!(hours[26]["timeToAnswerMs"]["max"], 3_600_000);
    // Sums of hours are the day's.
    let summed = hours.iter().fold([0u64; 6], |mut sum, hour| {
        for (s, c) in sum.iter_mut().zip(counts_of(hour)) {
            *s += c;
        }
        sum
    });
    assert_eq!(summed, counts_of(totals));
    for hour in hours {
        let (start, end) = (
            hour["start"].as_str().unwrap(),
            hour["end"].as_str().unwrap(),
        );
        assert_eq!(
            counts_of(hour),
            counts_from_events(&events, start, end),
            "{start}"
        );
    }
}

#[tokio::test]
async fn a_report_refuses_bad_input_naming_the_parameter() {
    let app = app().await;
    let store = fresh_store();
    let ask = |query: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let store = store.clone();
        async move {
            call_function(
                app,
                "get-request-report",
                as_role("get-request-report", &store, "admin-1", "admin")
                    .query(&query)
                    .build(),
            )
            .await
        }
    };
    for (query, field) in [
        (vec![("to", "2026-11-30")], "from"),
        (vec![("from", "2026-11-01")], "to"),
        (vec![("from", "2026-11-31"), ("to", "2026-12-01")], "from"),
        (vec![("from", "2026-11-01"), ("to", "01/12/2026")], "to"),
        (vec![("from", "2026-11-02"), ("to", "2026-11-01")], "to"),
        // 93 days, counting both ends.
        (vec![("from", "2026-01-01"), ("to", "2026-04-03")], "to"),
        (
            vec![
                ("from", "2026-11-01"),
                ("to", "2026-11-01"),
                ("tz", "Mars/Olympus_Mons"),
            ],
            "tz",
        ),
        (
            vec![
                ("from", "2026-11-01"),
                ("to", "2026-11-01"),
                ("tz", "+02:00"),
            ],
            "tz",
        ),
        (
            vec![
                ("from", "2026-11-01"),
                ("to", "2026-11-01"),
                ("groupBy", "week"),
            ],
            "groupBy",
        ),
        // Hours of more than a month would outgrow Lambda's 6 MB answer.
        (
            vec![
                ("from", "2026-01-01"),
                ("to", "2026-02-01"),
                ("groupBy", "hour"),
            ],
            "groupBy",
        ),
        (
            vec![
                ("from", "2026-11-01"),
                ("to", "2026-11-01"),
                ("group", "day"),
            ],
            "group",
        ),
    ] {
        let (status, body) = ask(query.clone()).await;
        assert_eq!(status, 400, "{query:?}: {body}");
        let code = if field == "group" {
            "unknown_query_parameter"
        } else {
            "invalid_query_parameter"
        };
        assert_eq!(body["error"]["code"], code, "{query:?}");
        assert_eq!(
            body["error"]["fields"][0]["field"], field,
            "{query:?}: {body}"
        );
    }
    // 92 days is the most; no events is all zeros.
    let (status, body) = ask(vec![("from", "2026-01-01"), ("to", "2026-04-02")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["buckets"].as_array().unwrap().len(), 92);
    assert_eq!(body["tz"], "UTC");
    assert_eq!(body["totals"]["timeToAnswerMs"]["p50"], Value::Null);
}

#[tokio::test]
async fn only_supervisors_and_admins_of_the_store_read_its_report() {
    let app = app().await;
    let store = fresh_store();
    let query = [("from", "2026-11-01"), ("to", "2026-11-01")];
    for (role, stores, allowed) in [
        ("associate", vec![store.as_str()], false),
        ("supervisor", vec!["another-store"], false),
        ("admin", vec!["another-store"], false),
        ("supervisor", vec![store.as_str()], true),
        ("admin", vec![store.as_str()], true),
    ] {
        let (status, body) = call_function(
            &app,
            "get-request-report",
            event("get-request-report")
                .store(&store)
                .principal("someone", role, &stores)
                .query(&query)
                .build(),
        )
        .await;
        assert_eq!(
            status,
            if allowed { 200 } else { 403 },
            "{role} {stores:?}: {body}"
        );
    }
}

#[tokio::test]
async fn history_exports_as_csv_page_by_page_with_formulas_neutralised() {
    let app = integration_tests::app_with_stepping_clock().await;
    let store = fresh_store();
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, created) = integration_tests::create_request(
            &app,
            &store,
            json!({"requestType": "REFUND", "details": format!("Till {i}, aisle \"4\"\nsecond line")}),
        )
        .await;
        assert_eq!(status, 201);
        let id = created["requestId"].as_str().unwrap().to_owned();
        let (status, body) = call_function(
            &app,
            "respond-to-request",
            as_role("respond-to-request", &store, "sup-1", "supervisor")
                .request_id(&id)
                .json(json!({"decision": "APPROVED", "note": "=HYPERLINK(\"http://evil.example\",\"ok\")"}))
                .build(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        ids.push(id);
    }
    let history = |query: Vec<(String, String)>, accept: &str| {
        let pairs: Vec<(&str, &str)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        as_role("list-requests", &store, "sup-1", "supervisor")
            .header("accept", accept)
            .query(&pairs)
            .build()
    };
    let mut query = vec![
        ("status".to_owned(), "NOT_PENDING".to_owned()),
        ("limit".to_owned(), "2".to_owned()),
    ];
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let response = integration_tests::handle(&app, history(query.clone(), "text/csv")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            shared::domain::export::CONTENT_TYPE
        );
        let body = response.body();
        // A byte-order mark on the first page only: the pages are one file.
        assert_eq!(body.starts_with('\u{feff}'), pages == 0);
        let rows = shared::domain::export::read(body);
        assert_eq!(rows[0], shared::domain::export::COLUMNS);
        for row in &rows[1..] {
            assert_eq!(row.len(), 12);
            assert_eq!(row[11], "'=HYPERLINK(\"http://evil.example\",\"ok\")");
            assert!(row[5].ends_with("aisle \"4\"\nsecond line"), "{row:?}");
            assert_eq!(
                (row[6].as_str(), row[7].as_str()),
                ("RESPONSE_RECEIVED", "APPROVED")
            );
            seen.push(row[0].clone());
        }
        pages += 1;
        let Some(link) = response.headers().get("link") else {
            break;
        };
        // `<path?query>; rel="next"`: the same route and filters, the next cursor.
        let link = link.to_str().unwrap();
        let target = link
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .unwrap();
        let (path, raw) = target.split_once('?').unwrap();
        assert_eq!(path, format!("/stores/{store}/supervisor-requests"));
        query = shared::edge::http::parse_query(raw);
        assert!(query.contains(&("limit".to_owned(), "2".to_owned())));
    }
    assert_eq!(pages, 3);
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "every request exactly once");

    // JSON stays the default: no Accept, */*, and JSON preferred over CSV.
    for accept in [
        "*/*",
        "application/json",
        "application/json, text/csv",
        "text/csv;q=0.5, application/json",
    ] {
        let first = vec![("status".to_owned(), "NOT_PENDING".to_owned())];
        let (status, body) =
            integration_tests::parts(integration_tests::handle(&app, history(first, accept)).await);
        assert_eq!(status, 200);
        assert_eq!(body["items"].as_array().unwrap().len(), 5, "{accept}");
    }
    let (status, body) = call_function(
        &app,
        "list-requests",
        as_role("list-requests", &store, "sup-1", "supervisor")
            .without_header("accept")
            .query(&[("status", "NOT_PENDING")])
            .build(),
    )
    .await;
    assert_eq!((status, body["items"].as_array().unwrap().len()), (200, 5));
}
