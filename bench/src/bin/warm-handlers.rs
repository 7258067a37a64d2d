//! Warm handler overhead without the store: each handler runs in-process with its fixture
//! event, over an SDK client whose HTTP layer answers at once with a canned DynamoDB
//! response. What is left is our work: parsing the event, the authorizer context, the body,
//! building the DynamoDB request, the SDK's pipeline (endpoint, retries, signing),
//! parsing the answer, serializing the response.
//!
//! Beside each handler runs its bare twin (`sdk:<handler>`): the very DynamoDB calls the
//! handler made (captured from one call of it: the same GetItem, Query or
//! TransactWriteItems, with the same input), replayed through the same client with nothing
//! around them. Absolute microseconds move with the machine from one hour to the next; the
//! ratio of a handler to its own SDK calls, measured in the same rounds, does not.
//!
//! After every round of a case runs as much pure arithmetic, each piece as long as that
//! round's median (no allocation, no SDK, no I/O): its p99 is the tail this machine adds to
//! any work of that length (interrupts, a virtual CPU descheduled), so a case's p99 can be
//! read against it.
//!
//! Metrics are on, as deployed: every EMF line is written to `/dev/null` with one `write`, as
//! a function writes it to the pipe Lambda reads. `WARM_SAMPLED=1` runs every call as a
//! sampled X-Ray invocation (a subsegment per DynamoDB call, sent to a UDP socket of the
//! bench's own).
//!
//! Verdicts (issue #23): a route passes with a p50 ≤ 1.3 × the p50 of its bare SDK calls and
//! a p99 ≤ 1.5 × the p99 of pure work of the same median, measured in the same rounds (on
//! this VM a p99 of a 40–90 µs call measures the machine as much as the code).
//!
//! `cargo run --release -p benchmarks --bin warm-handlers [-- ITERATIONS [CASE]]`: the
//! release profile, so that what is timed is the code the functions deploy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::get_item::GetItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use lambda_http::Request;
use serde_json::{Value, json};
use shared::App;
use shared::domain::ids::StoreId;
use shared::domain::supervisor_request::{
    Details, NewRequest, Priority, RequestType, SupervisorRequest,
};
use shared::store::catalog::CatalogStore;
use shared::store::cursor::CursorKey;
use shared::store::requests::RequestStore;

/// Answers every DynamoDB operation with a fixed body, chosen by `X-Amz-Target`.
#[derive(Clone, Debug)]
struct Canned(Arc<HashMap<&'static str, String>>);

impl HttpConnector for Canned {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default();
        let body = self
            .0
            .get(operation)
            .cloned()
            .unwrap_or_else(|| "{}".into());
        let mut response = Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from(body));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for Canned {
    fn http_connector(
        &self,
        _: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// An item in DynamoDB's JSON wire format.
fn wire(item: &HashMap<String, AttributeValue>) -> Value {
    item.iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::S(s) => json!({ "S": s }),
                AttributeValue::N(n) => json!({ "N": n }),
                other => panic!("no wire form for {other:?}"),
            };
            (name.clone(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// The function's `events/` fixture, naming `request_id`.
fn fixture(name: &str, request_id: &str) -> String {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.replace("01KAQ3Z9V8M4N6P2R5T7W9Y1B3", request_id)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The handlers timed, each beside its bare SDK calls.
const HANDLERS: [&str; 4] = [
    "get-request",
    "list-requests",
    "create-request",
    "respond-to-request",
];

/// Pure arithmetic, `steps` dependent xorshift steps: no memory traffic to speak of, so its
/// time varies only with what the machine does around it.
fn pure_work(steps: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..std::hint::black_box(steps) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Steps of [`pure_work`] per nanosecond on this machine (the fastest of a few tries).
fn pure_work_speed() -> f64 {
    const STEPS: u64 = 2_000_000;
    (0..5)
        .map(|_| {
            let started = Instant::now();
            pure_work(STEPS);
            STEPS as f64 / started.elapsed().as_nanos() as f64
        })
        .fold(0.0, f64::max)
}

/// A DynamoDB call a handler made, with its input, to replay bare.
#[derive(Clone, Debug)]
enum SdkCall {
    GetItem(GetItemInput),
    Query(Box<QueryInput>),
    TransactWriteItems(TransactWriteItemsInput),
}

/// Records the input of every call made through the client it is installed on.
#[derive(Clone, Debug, Default)]
struct Capture(Arc<Mutex<Vec<SdkCall>>>);

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "Capture"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let call = if let Some(input) = input.downcast_ref::<GetItemInput>() {
            SdkCall::GetItem(input.clone())
        } else if let Some(input) = input.downcast_ref::<QueryInput>() {
            SdkCall::Query(Box::new(input.clone()))
        } else if let Some(input) = input.downcast_ref::<TransactWriteItemsInput>() {
            SdkCall::TransactWriteItems(input.clone())
        } else {
            return Err("a call warm-handlers cannot replay yet".into());
        };
        self.0.lock().unwrap().push(call);
        Ok(())
    }
}

/// Replays `calls` through `client`, one after another, as the handler made them.
async fn replay(client: &aws_sdk_dynamodb::Client, calls: &[SdkCall]) {
    for call in calls {
        match call.clone() {
            SdkCall::GetItem(input) => client
                .get_item()
                .set_table_name(input.table_name)
                .set_key(input.key)
                .set_consistent_read(input.consistent_read)
                .set_projection_expression(input.projection_expression)
                .set_expression_attribute_names(input.expression_attribute_names)
                .set_return_consumed_capacity(input.return_consumed_capacity)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            SdkCall::Query(input) => client
                .query()
                .set_table_name(input.table_name)
                .set_index_name(input.index_name)
                .set_key_condition_expression(input.key_condition_expression)
                .set_filter_expression(input.filter_expression)
                .set_projection_expression(input.projection_expression)
                .set_expression_attribute_names(input.expression_attribute_names)
                .set_expression_attribute_values(input.expression_attribute_values)
                .set_exclusive_start_key(input.exclusive_start_key)
                .set_limit(input.limit)
                .set_scan_index_forward(input.scan_index_forward)
                .set_consistent_read(input.consistent_read)
                .set_select(input.select)
                .set_return_consumed_capacity(input.return_consumed_capacity)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            SdkCall::TransactWriteItems(input) => client
                .transact_write_items()
                .set_transact_items(input.transact_items)
                .set_client_request_token(input.client_request_token)
                .set_return_consumed_capacity(input.return_consumed_capacity)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
        .expect("the canned answer parses");
    }
}

/// One invocation as a deployed function runs it: the adapter from API Gateway's event, the
/// handler, the answer back to API Gateway's shape.
async fn call(app: &App, name: &str, event: Request) -> lambda_http::Response<lambda_http::Body> {
    let route = shared::edge::lambda::route_of(&event).expect("a fixture of a route");
    let request = shared::edge::lambda::api_request(route, event).expect("its route's event");
    let response = match name {
        "get-request" => get_request::handler(app, request).await,
        "list-requests" => list_requests::handler(app, request).await,
        "create-request" => create_request::handler(app, request).await,
        "respond-to-request" => respond_to_request::handler(app, request).await,
        other => panic!("no handler {other}"),
    };
    shared::edge::lambda::lambda_response(response)
}

fn main() {
    // `warm-handlers [ITERATIONS [CASE]]`: ITERATIONS timed calls per case, in ROUNDS rounds
    // that take the cases in turn, so that machine noise (a 2-vCPU VM) falls on every case
    // alike; CASE runs one case alone (for profiling it).
    const ROUNDS: usize = 5;
    let null = std::sync::Mutex::new(std::fs::File::create("/dev/null").expect("/dev/null"));
    shared::telemetry::emf::set_sink(move |line| {
        use std::io::Write;
        let mut buffer = Vec::with_capacity(line.len() + 1);
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
        let _ = null.lock().unwrap().write_all(&buffer);
    });
    // A daemon's socket for the subsegments; what it receives is dropped with it.
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let tracer = shared::telemetry::Tracer::to(daemon.local_addr().unwrap());
    let sampled = std::env::var("WARM_SAMPLED").is_ok_and(|v| v == "1");
    let trace_header = sampled
        .then_some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
    let mut args = std::env::args().skip(1);
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let only = args.next();
    let request = SupervisorRequest::new(
        StoreId::parse("store-1").unwrap(),
        NewRequest {
            request_type: RequestType::PriceOverride,
            priority: Priority::High,
            details: Details::parse("details", "Shelf tag says 2.49".into()).unwrap(),
            timeout: None,
        },
        "user-ana".into(),
        time::OffsetDateTime::now_utc(),
        time::Duration::minutes(10),
    );
    let record = wire(&shared::store::keys::record_item(&request));
    // A page of the queue as DynamoDB answers the list's Query: only the projected attributes.
    let projected: Vec<&str> = shared::store::codec::REQUEST_PROJECTION
        .split(", ")
        .collect();
    let mut entry = shared::store::keys::queue_item(&request);
    entry.retain(|name, _| projected.contains(&name.as_str()));
    let entries: Vec<Value> = (0..10).map(|_| wire(&entry)).collect();
    let canned = Canned(Arc::new(HashMap::from([
        ("GetItem", json!({ "Item": record }).to_string()),
        (
            "Query",
            json!({ "Items": entries, "Count": 10, "ScannedCount": 10 }).to_string(),
        ),
        ("TransactWriteItems", "{}".to_owned()),
    ])));
    let runtime = benchmarks::runtime();
    let capture = Capture::default();
    let (app, capturing) = runtime.block_on(async {
        // The functions' own SDK configuration (retries, timeouts, HTTPS client settings),
        // with the canned HTTP layer in place of the network.
        let sdk = shared::edge::config::sdk_config_loader()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::for_tests())
            .endpoint_url("http://127.0.0.1:1")
            .http_client(SharedHttpClient::new(canned))
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::from_conf(
            shared::edge::config::dynamodb_config(&sdk).build(),
        );
        // A second client that records each call's input: one call of each handler through
        // it says what its bare twin replays.
        let recorder = aws_sdk_dynamodb::Client::from_conf(
            shared::edge::config::dynamodb_config(&sdk)
                .interceptor(capture.clone())
                .build(),
        );
        (app_on(client), app_on(recorder))
    });
    let id = request.request_id.to_string();
    let handlers: Vec<&str> = HANDLERS
        .into_iter()
        .filter(|case| only.as_deref().is_none_or(|only| only == *case))
        .collect();
    let fixtures: Vec<String> = handlers.iter().map(|h| fixture(h, &id)).collect();
    // What each handler calls, in order.
    let bare: Vec<Vec<SdkCall>> = runtime.block_on(async {
        let mut bare = Vec::new();
        for (handler, fixture) in handlers.iter().zip(&fixtures) {
            capture.0.lock().unwrap().clear();
            let event = lambda_http::request::from_str(fixture).unwrap();
            let response = call(&capturing, handler, event).await;
            assert!(
                response.status().is_success(),
                "{handler}: {}",
                response.status()
            );
            bare.push(std::mem::take(&mut *capture.0.lock().unwrap()));
        }
        bare
    });
    // Cases in turn: each handler, then its bare twin.
    let cases: Vec<(String, usize, bool)> = handlers
        .iter()
        .enumerate()
        .flat_map(|(index, h)| {
            [
                (h.to_string(), index, false),
                (format!("sdk:{h}"), index, true),
            ]
        })
        .collect();
    let per_round = iterations.div_ceil(ROUNDS);
    let events = |index: usize| -> Request {
        // Each event is parsed just before its call, outside the timed region: API Gateway
        // hands the function a parsed payload.
        lambda_http::request::from_str(&fixtures[index]).unwrap()
    };
    let timed = |case: usize, event: Request| {
        let (name, handler, is_bare) = &cases[case];
        let (app, tracer, bare, handlers) = (&app, &tracer, &bare, &handlers);
        async move {
            let started = Instant::now();
            if *is_bare {
                tracer
                    .scope(
                        name,
                        trace_header,
                        replay(app.requests.client(), &bare[*handler]),
                    )
                    .await;
            } else {
                let response = tracer
                    .scope(name, trace_header, call(app, handlers[*handler], event))
                    .await;
                assert!(
                    response.status().is_success(),
                    "{name}: {}",
                    response.status()
                );
            }
            started.elapsed()
        }
    };
    let speed = pure_work_speed();
    let mut samples = vec![Vec::with_capacity(iterations); cases.len()];
    let mut work_samples = vec![Vec::with_capacity(iterations); cases.len()];
    let mut round_p99s: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    runtime.block_on(async {
        for _ in 0..ROUNDS {
            for case in 0..cases.len() {
                let handler = cases[case].1;
                // A tenth more calls than timed: the first warm caches and are dropped.
                for _ in 0..per_round / 10 {
                    timed(case, events(handler)).await;
                }
                let mut round = Vec::with_capacity(per_round);
                for _ in 0..per_round {
                    round.push(timed(case, events(handler)).await);
                }
                round.sort();
                // Right after, pure work as long as this round's median: the same machine.
                let steps = (percentile(&round, 0.5).as_nanos() as f64 * speed) as u64;
                for _ in 0..per_round {
                    let started = Instant::now();
                    pure_work(steps);
                    work_samples[case].push(started.elapsed());
                }
                round_p99s[case].push(percentile(&round, 0.99));
                samples[case].extend(round);
            }
        }
    });
    for list in samples.iter_mut().chain(work_samples.iter_mut()) {
        list.sort();
    }
    println!(
        "| handler | DynamoDB calls | p50 µs | p99 µs | p99 of each round µs | bare SDK calls p50 µs | p50 ÷ bare p50 | pure work of the same median: p50, p99 µs | p99 ÷ pure work's p99 | budget: p50 ≤ 1.3× bare, p99 ≤ 1.5× pure work |"
    );
    println!("| --- | --- | ---: | ---: | --- | ---: | ---: | --- | ---: | --- |");
    for (case, (name, handler, is_bare)) in cases.iter().enumerate() {
        if *is_bare {
            continue;
        }
        let all = &samples[case];
        let twin = &samples[case + 1];
        let work = &work_samples[case];
        let (p50, p99) = (percentile(all, 0.5), percentile(all, 0.99));
        let rounds: Vec<String> = round_p99s[case]
            .iter()
            .map(|p| format!("{:.0}", micros(*p)))
            .collect();
        let over_bare = micros(p50) / micros(percentile(twin, 0.5));
        let tail = micros(p99) / micros(percentile(work, 0.99));
        let verdict = if over_bare <= 1.3 && tail <= 1.5 {
            "PASS"
        } else {
            "FAIL"
        };
        let calls: Vec<&str> = bare[*handler]
            .iter()
            .map(|call| match call {
                SdkCall::GetItem(_) => "GetItem",
                SdkCall::Query(_) => "Query",
                SdkCall::TransactWriteItems(_) => "TransactWriteItems",
            })
            .collect();
        println!(
            "| {name} | {} | {:.1} | {:.1} | {} | {:.1} | {over_bare:.2} | {:.1}, {:.1} | {tail:.2} | {verdict} |",
            calls.join(" + "),
            micros(p50),
            micros(p99),
            rounds.join(", "),
            micros(percentile(twin, 0.5)),
            micros(percentile(work, 0.5)),
            micros(percentile(work, 0.99)),
        );
    }
}

/// The app the functions build, on `client`.
fn app_on(client: aws_sdk_dynamodb::Client) -> App {
    App {
        connections: shared::store::connections::ConnectionStore::new(
            client.clone(),
            "websocket-connections-test",
        ),
        catalog: CatalogStore::new(client.clone(), "preferred-items"),
        requests: RequestStore::new(
            client,
            "supervisor-requests",
            shared::edge::config::DEFAULT_EVENTS_TABLE,
            shared::store::requests::DEFAULT_HISTORY_RETENTION,
        ),
        cursor_key: Some(CursorKey::from_secret(&[7; 32]).unwrap()),
        default_request_timeout: time::Duration::minutes(10),
        clock: shared::edge::config::Clock::System,
    }
}
