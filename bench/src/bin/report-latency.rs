//! Times reports on a store with a year of busy history, against DynamoDB Local
//! (BENCHMARKS.md, "Reports").
//!
//! `report-latency seed STORE [DAYS] [PER_DAY]` writes DAYS (365) days of PER_DAY (200)
//! requests' events, ending yesterday, straight into the events table (BatchWriteItem):
//! each request's life as the handlers write it (created; sometimes edited; answered,
//! timed out, withdrawn or discarded), from the domain's own transitions.
//!
//! `report-latency time STORE [RUNS]` times the report handler in-process (92 days ending
//! yesterday by day, 31 days by hour, one day by hour), RUNS (7) times each, and the event reads alone
//! with the range cut into 1, 4, 8 and 16 concurrent sub-ranges; prints medians.
//!
//! With `AWS_ENDPOINT_URL_DYNAMODB` set; the tables take their local names unless
//! `REQUESTS_TABLE`, `EVENTS_TABLE`... say otherwise (created if missing). Build with `--profile bench-tools`.

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use futures_util::{StreamExt, TryStreamExt, stream};
use shared::auth::principal::{Principal, Role};
use shared::domain::audit::{Actor, ActorRole, EventType, RequestEvent};
use shared::domain::ids::StoreId;
use shared::domain::report::ReportQuery;
use shared::domain::supervisor_request::{
    Decision, Details, NewRequest, Note, Priority, RequestType, SupervisorRequest,
};
use shared::edge::http::ApiRequest;
use shared::edge::routes::Operation;
use shared::store::keys;
use shared::store::requests::{DEFAULT_HISTORY_RETENTION, RequestStore};
use shared::telemetry::metrics::RequestLog;
use time::{Duration, OffsetDateTime};

/// The store's zone: trading hours 08:00-21:00 local.
const ZONE: &str = "America/Denver";

fn actor(subject: &str, role: ActorRole) -> Actor {
    Actor {
        subject: subject.into(),
        role,
    }
}

/// One request's events: a realistic life, from the domain's transitions.
fn life(store: &StoreId, created: OffsetDateTime, rng: &mut fastrand::Rng) -> Vec<RequestEvent> {
    let priority = match rng.u8(0..100) {
        0..5 => Priority::Urgent,
        5..25 => Priority::High,
        25..90 => Priority::Normal,
        _ => Priority::Low,
    };
    let request_type = RequestType::ALL[rng.usize(0..RequestType::ALL.len())];
    let requester = format!("assoc-{}", rng.u8(1..=12));
    let request = SupervisorRequest::new(
        store.clone(),
        NewRequest {
            request_type,
            priority,
            details: Details::parse(
                "details",
                format!(
                    "Till {}: shelf tag says {}.49, till rings {}.99 (aisle {})",
                    rng.u8(1..9),
                    rng.u8(1..30),
                    rng.u8(1..30),
                    rng.u8(1..20)
                ),
            )
            .expect("valid details"),
            timeout: None,
        },
        requester.clone(),
        created,
        Duration::minutes(10),
    );
    let mut events = vec![RequestEvent::of(
        EventType::Created,
        None,
        Some(&request),
        actor(&requester, ActorRole::Associate),
        request.created_at,
    )];
    let mut current = request;
    let mut at = created;
    if rng.u8(0..100) < 15 {
        at += Duration::seconds(rng.i64(5..60));
        let edit = shared::domain::supervisor_request::RequestEdit {
            priority: Some(Priority::Urgent),
            details: None,
        };
        let step = current
            .edit(&edit, actor(&requester, ActorRole::Associate), at)
            .expect("open");
        events.push(step.event);
        current = step.after.expect("edited");
    }
    let supervisor = actor(&format!("sup-{}", rng.u8(1..=4)), ActorRole::Supervisor);
    let step = match rng.u8(0..100) {
        // Answered: mostly within two minutes, a tail to the deadline.
        0..85 => {
            let wait = if rng.u8(0..10) < 8 {
                rng.i64(5_000..120_000)
            } else {
                rng.i64(120_000..590_000)
            };
            at = (created + Duration::milliseconds(wait)).max(at + Duration::seconds(1));
            let decision = if rng.u8(0..100) < 82 {
                Decision::Approved
            } else {
                Decision::Denied
            };
            let note = (rng.u8(0..3) == 0).then(|| {
                Note::parse("note", "Checked the shelf tag; honour it".into()).expect("note")
            });
            current.respond(decision, note, supervisor, at)
        }
        85..93 => Ok(current
            .time_out(current.deadline + Duration::seconds(rng.i64(1..60)))
            .expect("expired")),
        93..97 => current.withdraw(
            actor(&requester, ActorRole::Associate),
            at + Duration::seconds(rng.i64(10..200)),
        ),
        _ => current.withdraw(supervisor, at + Duration::seconds(rng.i64(10..200))),
    };
    events.push(step.expect("a legal step").event);
    events
}

/// Creation instants of one local day: 200 a day over trading hours, busiest at midday.
fn day_of_creations(
    day: jiff::civil::Date,
    per_day: usize,
    rng: &mut fastrand::Rng,
) -> Vec<OffsetDateTime> {
    let tz = jiff::tz::TimeZone::get(ZONE).expect("zone");
    let open = day
        .to_zoned_datetime(tz)
        .expect("date")
        .timestamp()
        .as_millisecond();
    (0..per_day)
        .map(|_| {
            // Two uniform draws over 08:00-21:00: a triangle peaking at 14:30.
            let hours = 8.0 + 6.5 * (rng.f64() + rng.f64());
            let millis = open + (hours * 3_600_000.0) as i64;
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .expect("in range")
        })
        .collect()
}

async fn seed(app: &shared::App, store: &StoreId, days: i64, per_day: usize) {
    let client = app.requests.client().clone();
    let table = app.requests.events_table().to_owned();
    let yesterday = today().yesterday().expect("date");
    let first = yesterday
        .checked_sub(jiff::Span::new().days(days - 1))
        .expect("date");
    let mut rng = fastrand::Rng::with_seed(27);
    let mut items = Vec::new();
    for day in first.series(jiff::Span::new().days(1)).take(days as usize) {
        for created in day_of_creations(day, per_day, &mut rng) {
            for event in life(store, created, &mut rng) {
                let expires = (event.at + Duration::days(400)).unix_timestamp();
                items.push(
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(keys::event_item(&event, expires)))
                                .build()
                                .expect("item"),
                        )
                        .build(),
                );
            }
        }
    }
    let total = items.len();
    let started = Instant::now();
    let batches: Vec<Vec<WriteRequest>> = items.chunks(25).map(<[_]>::to_vec).collect();
    stream::iter(batches)
        .map(|batch| {
            let (client, table) = (client.clone(), table.clone());
            async move {
                let mut pending = batch;
                while !pending.is_empty() {
                    let output = client
                        .batch_write_item()
                        .request_items(&table, pending)
                        .send()
                        .await?;
                    pending = output
                        .unprocessed_items
                        .and_then(|mut t| t.remove(&table))
                        .unwrap_or_default();
                }
                Ok::<_, aws_sdk_dynamodb::Error>(())
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await
        .expect("seeded");
    println!(
        "seeded {total} events ({days} days x {per_day} requests) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Today in the store's zone.
fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get(ZONE).expect("zone"))
        .date()
}

/// This process's CPU time (user and system), in milliseconds: the handler's own work, apart
/// from DynamoDB Local's.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn time(app: &shared::App, log: &RequestLog, store: &StoreId, runs: usize) {
    let yesterday = today().yesterday().expect("date");
    let quarter_start = yesterday
        .checked_sub(jiff::Span::new().days(91))
        .expect("date")
        .to_string();
    let route = Operation::GetRequestReport.route();
    let principal = Principal {
        subject: "bench".into(),
        role: Role::Admin,
        stores: vec![store.clone()],
    };
    let month_start = yesterday
        .checked_sub(jiff::Span::new().days(30))
        .expect("date")
        .to_string();
    let cases = [
        ("92 days by day", quarter_start.clone(), "day"),
        ("31 days by hour", month_start, "hour"),
        ("1 day by hour", yesterday.to_string(), "hour"),
    ];
    for (name, from, group_by) in cases {
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let request = ApiRequest::new(
                route,
                HashMap::from([("storeId".to_owned(), store.to_string())]),
            )
            .with_principal(Some(principal.clone()))
            .with_query(vec![
                ("from".into(), from.clone()),
                ("to".into(), yesterday.to_string()),
                ("tz".into(), ZONE.into()),
                ("groupBy".into(), group_by.into()),
            ]);
            log.take();
            log.take_units();
            let (started, cpu_before) = (Instant::now(), cpu_ms());
            let response = get_request_report::handler(app, request).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            cpu.push(cpu_ms() - cpu_before);
            assert_eq!(response.status(), 200, "{}", response.body());
            bytes = response.body().len();
        }
        let mut sent = std::collections::BTreeMap::<String, usize>::new();
        for operation in log.take() {
            *sent.entry(operation).or_default() += 1;
        }
        println!(
            "{name}: median {:.0} ms (min {:.0}, max {:.0}, {runs} runs), CPU median {:.0} ms, \
             body {bytes} bytes; last run: {:.1} read units, requests {sent:?}",
            median(times.clone()),
            times.iter().copied().fold(f64::INFINITY, f64::min),
            times.iter().copied().fold(0.0, f64::max),
            median(cpu),
            log.take_units().read,
        );
    }
    // The reads alone, by how many sub-ranges run at once.
    let query = ReportQuery::parse(
        Some(&quarter_start),
        Some(&yesterday.to_string()),
        Some(ZONE),
        None,
    )
    .expect("query");
    // Eight at once at most (CONCURRENT_QUERIES): 16 sub-ranges show what smaller ones cost.
    for days_per_query in [92, 23, 12, 6] {
        let spans = query.spans(days_per_query);
        let mut times = Vec::new();
        let mut events = 0;
        for _ in 0..runs {
            let started = Instant::now();
            events = app
                .requests
                .events_in_spans(store, &spans)
                .await
                .expect("read")
                .len();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "92-day read, {} sub-ranges of {days_per_query} days: median {:.0} ms ({events} events)",
            spans.len(),
            median(times)
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "report-latency seed STORE [DAYS] [PER_DAY] | time STORE [RUNS]";
    let store = StoreId::parse(args.get(1).expect(usage)).expect("store id");
    let number = |i: usize, default: usize| {
        args.get(i)
            .map_or(default, |raw| raw.parse().expect("a number"))
    };
    let sdk = shared::edge::config::load_sdk_config().await;
    let settings = shared::edge::config::Settings::local_from_env().expect("settings");
    let mut app = shared::App::from_settings(&sdk, settings)
        .await
        .expect("app");
    // Every request and the read units DynamoDB Local reports for it.
    let log = RequestLog::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        shared::edge::config::dynamodb_config(&sdk)
            .interceptor(log.clone())
            .build(),
    );
    app.requests = RequestStore::new(
        client,
        app.requests.table(),
        app.requests.events_table(),
        DEFAULT_HISTORY_RETENTION,
    );
    app.ensure_tables().await.expect("tables");
    match args[0].as_str() {
        "seed" => seed(&app, &store, number(2, 365) as i64, number(3, 200)).await,
        "time" => time(&app, &log, &store, number(2, 7)).await,
        _ => panic!("{usage}"),
    }
}
