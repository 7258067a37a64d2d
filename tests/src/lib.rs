//! Test support: an [`App`] on DynamoDB Local, and API Gateway events built from the
//! fixtures in `events/`.
//!
//! `make test` starts DynamoDB Local and sets `AWS_ENDPOINT_URL_DYNAMODB`; tests share that
//! one instance and isolate themselves with fresh store ids (and a fresh table where a test
//! reads across stores, as the sweeper does).

pub mod faults;
pub mod schema;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::{HeaderName, HeaderValue, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde_json::Value;
use shared::App;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::routes::Route;
use shared::store::catalog::CatalogStore;
use shared::store::cursor::CursorKey;
use shared::store::requests::RequestStore;
use shared::telemetry::metrics::RequestLog;
use time::Duration;

/// The tables most tests share; each test uses its own store ids.
pub const SHARED_TABLE: &str = "supervisor-requests-test";
pub const SHARED_ITEMS_TABLE: &str = "preferred-items-test";
/// Events are keyed by store and request, so every test can share one audit table.
pub const SHARED_EVENTS_TABLE: &str = "supervisor-request-events-test";

pub async fn client() -> aws_sdk_dynamodb::Client {
    client_with(|config| config).await
}

/// A client on DynamoDB Local, its configuration adjusted by `configure` (interceptors).
async fn client_with(
    configure: impl FnOnce(aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder,
) -> aws_sdk_dynamodb::Client {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_some(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `make test`, which starts DynamoDB Local"
    );
    let config = shared::edge::config::sdk_config_loader().load().await;
    let builder = configure(shared::edge::config::dynamodb_config(&config));
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

/// An app on the shared tables whose DynamoDB requests are recorded and can be made to fail.
/// Requests failed by the injector reach DynamoDB, and the log, as `DescribeLimits`.
pub async fn app_with_faults() -> (App, RequestLog, faults::FaultInjector) {
    let log = RequestLog::default();
    let injector = faults::FaultInjector::default();
    // The production policy's attempts with short waits, and a retry quota of its own so
    // other tests' faults do not drain it.
    let retry = aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(shared::edge::config::SDK_MAX_ATTEMPTS)
        .with_initial_backoff(std::time::Duration::from_millis(5))
        .with_max_backoff(std::time::Duration::from_millis(20));
    let partition = aws_sdk_dynamodb::config::retry::RetryPartition::new(format!(
        "faults-{}",
        ulid::Ulid::new()
    ));
    let client = client_with(|config| {
        config
            .retry_config(retry)
            .retry_partition(partition)
            .interceptor(injector.clone())
            .interceptor(log.clone())
    })
    .await;
    let app = app_with_client(client, SHARED_TABLE, SHARED_EVENTS_TABLE).await;
    log.take();
    (app, log, injector)
}

/// An app on the shared tables whose every DynamoDB request is recorded.
pub async fn app_with_request_log() -> (App, RequestLog) {
    let log = RequestLog::default();
    let client = client_with(|config| config.interceptor(log.clone())).await;
    let app = app_with_client(client, SHARED_TABLE, SHARED_EVENTS_TABLE).await;
    log.take();
    (app, log)
}

/// An app on the shared test table.
pub async fn app() -> App {
    app_with_client(client().await, SHARED_TABLE, SHARED_EVENTS_TABLE).await
}

/// An app on the shared tables whose clock never reads the same millisecond twice: what
/// it creates or answers one after another is ordered in time without sleeping.
pub async fn app_with_stepping_clock() -> App {
    let mut app = app().await;
    app.clock = shared::edge::config::Clock::stepping();
    app
}

/// An app on tables of its own, for tests that read across stores or use fixed ids.
pub async fn app_with_fresh_table() -> App {
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    app_with_client(
        client().await,
        &format!("supervisor-requests-{suffix}"),
        &format!("supervisor-request-events-{suffix}"),
    )
    .await
}

/// Every EMF line the handlers of this test process wrote (the sink is process-wide; tests
/// pick theirs out by store or request id).
pub fn emf_lines() -> Vec<String> {
    EMF.lock().unwrap().clone()
}

static EMF: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn capture_emf() {
    shared::telemetry::emf::set_sink(|line| EMF.lock().unwrap().push(line.to_owned()));
    capture_logs();
}

/// Every log line the handlers of this process wrote, as JSON (as Lambda writes them with
/// `LogFormat: JSON`), also appended to `target/test-logs/api.log`: `make test` searches the
/// whole suite's lines for tokens and secrets afterwards.
pub fn log_lines() -> Vec<String> {
    LOGS.lock().unwrap().clone()
}

static LOGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        static FILE: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> =
            std::sync::OnceLock::new();
        let file = FILE.get_or_init(|| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-logs");
            std::fs::create_dir_all(dir).ok()?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(format!("{dir}/api.log"))
                .ok()
                .map(std::sync::Mutex::new)
        });
        if let Some(file) = file {
            let _ = file.lock().unwrap().write_all(bytes);
        }
        LOGS.lock().unwrap().extend(text.lines().map(str::to_owned));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,aws=warn,hyper=warn,h2=warn,rustls=warn,tower=warn",
            ))
            .with_writer(|| LogWriter)
            .try_init();
    });
}

async fn app_with_client(client: aws_sdk_dynamodb::Client, table: &str, events_table: &str) -> App {
    let app = App {
        connections: shared::store::connections::ConnectionStore::new(
            client.clone(),
            "websocket-connections-test",
        ),
        catalog: CatalogStore::new(client.clone(), SHARED_ITEMS_TABLE),
        requests: RequestStore::new(
            client,
            table,
            events_table,
            shared::store::requests::DEFAULT_HISTORY_RETENTION,
        ),
        cursor_key: Some(
            CursorKey::from_secret(b"integration-tests-cursor-secret-0123456789").unwrap(),
        ),
        default_request_timeout: Duration::minutes(10),
        clock: shared::edge::config::Clock::System,
    };
    app.ensure_tables().await.expect("tables");
    capture_emf();
    app
}

/// The scheduled event that runs the sweeper as of `at`.
pub fn sweep_at(at: time::OffsetDateTime) -> timeout_sweeper::ScheduledEvent {
    serde_json::from_value(local_gateway::scheduler::scheduled_event(at)).unwrap()
}

/// Every item of a paged list: `page(cursor)` is the request of one page (`None`: the
/// first); follows `nextCursor` to the last page.
pub async fn all_pages(
    app: &App,
    function: &str,
    page: impl Fn(Option<&str>) -> ApiRequest,
) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (status, body) = call_function(app, function, page(cursor.as_deref())).await;
        assert_eq!(status, 200, "{body}");
        items.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// A sweep with all the time it needs (a Lambda's budget ends at its deadline).
pub fn unlimited() -> timeout_sweeper::Budget {
    timeout_sweeper::Budget::until(std::time::Instant::now() + std::time::Duration::from_secs(3600))
}

pub fn fresh_store() -> String {
    format!("store-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Every item in a store's partition of the supervisor-requests table, straight from it.
pub async fn partition_items(app: &App, store: &str) -> Vec<HashMap<String, AttributeValue>> {
    table_partition(app.requests.client(), app.requests.table(), store).await
}

/// Every item in a store's partition of the preferred-items table, straight from it.
pub async fn catalog_items(app: &App, store: &str) -> Vec<HashMap<String, AttributeValue>> {
    table_partition(app.catalog.client(), app.catalog.table(), store).await
}

async fn table_partition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    store: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let output = client
        .query()
        .table_name(table)
        .key_condition_expression("storeId = :s")
        .expression_attribute_values(":s", AttributeValue::S(store.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("query partition");
    output.items.unwrap_or_default()
}

/// An API Gateway v2 event from `events/<name>.json`, to adjust and send.
pub struct Event(Request);

pub fn event(fixture: &str) -> Event {
    let path = format!("{}/../events/{fixture}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Event(lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}")))
}

impl Event {
    pub fn path(mut self, name: &str, value: &str) -> Self {
        let mut params: HashMap<String, String> = self
            .0
            .path_parameters()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        params.insert(name.into(), value.into());
        self.0 = self.0.with_path_parameters(params);
        self
    }

    pub fn store(self, store: &str) -> Self {
        self.path("storeId", store)
    }

    pub fn request_id(self, id: &str) -> Self {
        self.path("requestId", id)
    }

    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let params: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0 = self.0.with_query_string_parameters(params);
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.raw_body(body.to_string())
    }

    pub fn raw_body(mut self, body: impl Into<String>) -> Self {
        *self.0.body_mut() = Body::Text(body.into());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.0.headers_mut().remove(name);
        self
    }

    pub fn method(mut self, method: Method) -> Self {
        *self.0.method_mut() = method;
        self
    }

    /// The principal the authorizer would have passed.
    pub fn principal(self, sub: &str, role: &str, stores: &[&str]) -> Self {
        self.authorizer_context(HashMap::from([
            ("sub".to_owned(), Value::from(sub)),
            ("role".to_owned(), Value::from(role)),
            ("stores".to_owned(), Value::from(stores.join(","))),
        ]))
    }

    pub fn authorizer_context(mut self, fields: HashMap<String, Value>) -> Self {
        let RequestContext::ApiGatewayV2(mut context) = self.0.request_context() else {
            panic!("fixtures are API Gateway v2 events");
        };
        let mut authorizer = context.authorizer.take().unwrap_or_default();
        authorizer.fields = fields;
        context.authorizer = Some(authorizer);
        self.0 = self
            .0
            .with_request_context(RequestContext::ApiGatewayV2(context));
        self
    }

    /// API Gateway's id of this request (the fixture's otherwise).
    pub fn gateway_request_id(mut self, id: &str) -> Self {
        let RequestContext::ApiGatewayV2(mut context) = self.0.request_context() else {
            panic!("fixtures are API Gateway v2 events");
        };
        context.request_id = Some(id.to_owned());
        self.0 = self
            .0
            .with_request_context(RequestContext::ApiGatewayV2(context));
        self
    }

    /// The request as the handler sees it: the event through the adapter every deployed
    /// function runs ([`shared::edge::lambda::api_request`]), for the route its `routeKey` names.
    pub fn build(self) -> ApiRequest {
        let route =
            shared::edge::lambda::route_of(&self.0).expect("the fixture's routeKey is a route");
        shared::edge::lambda::api_request(route, self.0).expect("the event is for its route")
    }

    /// The API Gateway event itself.
    pub fn build_event(self) -> Request {
        self.0
    }
}

/// A Lambda body's bytes (empty for none).
fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Polls `check` until it holds; fails the test after `patience`. For what happens in
/// another process or task (a browser, a stream reader, a server), never to order events.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    patience: std::time::Duration,
    mut check: impl FnMut() -> F,
) {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < patience, "did not happen in time");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// An answer as API Gateway sends it (the local gateway's), as status and JSON body.
pub fn gateway_parts(response: lambda_http::Response<Body>) -> (u16, Value) {
    let text = std::str::from_utf8(body_bytes(response.body()))
        .expect("a text body")
        .to_owned();
    let (head, _) = response.into_parts();
    parts(ApiResponse::from_parts(head, text))
}

/// A response's status and JSON body (`Null` when empty).
pub fn parts(response: ApiResponse) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.body();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).expect("JSON body")
    };
    (status, body)
}

/// A response's body as JSON (`Null` when empty).
fn json_of(body: &str) -> Value {
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).expect("JSON body")
    }
}

/// Holds an answer to a request of `route` to the OpenAPI document: its status must be
/// documented for the route, its body must match that status's schema (so an error code the
/// operation does not list for it fails), and its headers must be the declared ones. Handler
/// answers and the gateway's own (401, 403, 413…) alike.
pub fn hold_to_document<B: AsRef<[u8]>>(route: &Route, response: &http::Response<B>) {
    let status = response.status().as_u16();
    let text = std::str::from_utf8(response.body().as_ref()).expect("a text body");
    let body = match schema::csv_media(response.headers()) {
        Some(_) => Value::from(text),
        None => json_of(text),
    };
    let problems =
        schema::response_problems(route.method, route.path, status, response.headers(), &body);
    assert!(
        problems.is_empty(),
        "{} {} answered {status} off the OpenAPI document: {problems:?}\n{body}",
        route.method,
        route.path
    );
}

/// Runs the handler of the request's route through the one-process router (the local
/// gateway's and the server's), and holds the response to the document
/// ([`hold_to_document`]).
pub async fn handle(app: &App, request: ApiRequest) -> ApiResponse {
    let route = request.route();
    let response = Box::pin(api_router::handle(app, request)).await;
    hold_to_document(route, &response);
    response
}

/// Holds an answer of the local gateway to `method path` to the document, when the path is
/// a route's (the gateway's own 404s and 405s, and its documentation pages, belong to no
/// operation).
pub fn hold_gateway_answer(method: &str, path: &str, response: &lambda_http::Response<Body>) {
    if let Ok((route, _)) = shared::edge::routes::find(method, path) {
        let mut copy = http::Response::new(body_bytes(response.body()).to_vec());
        *copy.status_mut() = response.status();
        *copy.headers_mut() = response.headers().clone();
        hold_to_document(route, &copy);
    }
}

/// Holds an answer over HTTP to `method path` (the server's) to the document, when the path
/// is a route's.
pub fn hold_http_answer(method: &str, path: &str, response: &http::Response<Vec<u8>>) {
    if let Ok((route, _)) = shared::edge::routes::find(method, path) {
        hold_to_document(route, response);
    }
}

/// Runs `function`'s handler with `request` ([`handle`]): its status and JSON body. Handler
/// tests go through here or [`handle`], so the document cannot drift from what the handlers
/// answer.
pub async fn call_function(app: &App, function: &str, request: ApiRequest) -> (u16, Value) {
    assert_eq!(
        request.route().function,
        function,
        "the request is for another route"
    );
    parts(handle(app, request).await)
}

/// Creates a supervisor request in `store` as associate `associate-1` (no Idempotency-Key).
pub async fn create_request(app: &App, store: &str, body: Value) -> (u16, Value) {
    call_function(
        app,
        "create-request",
        event("create-request")
            .store(store)
            .principal("associate-1", "associate", &[store])
            .without_header("idempotency-key")
            .json(body)
            .build(),
    )
    .await
}

/// The live queue's local path, started as `make run` starts it: the local issuer, a gateway
/// on tables of its own trusting that issuer, the WebSocket API twin on a free port, and the
/// stream reader feeding `notify` (polling every 50 ms).
pub struct LiveStack {
    pub issuer: std::sync::Arc<local_gateway::oidc::LocalIssuer>,
    pub gateway: std::sync::Arc<local_gateway::Gateway>,
    pub ws_port: u16,
    /// notify's client of the `@connections` management API.
    pub management: aws_sdk_apigatewaymanagement::Client,
}

pub async fn live_stack() -> LiveStack {
    live_stack_with_clock(shared::edge::config::Clock::System).await
}

/// [`live_stack`] with the gateway's app on `clock`: a [`Clock::manual`] one writes a history
/// through the API at instants the test chooses (tokens are still checked against the system's
/// clock).
///
/// [`Clock::manual`]: shared::edge::config::Clock::manual
pub async fn live_stack_with_clock(clock: shared::edge::config::Clock) -> LiveStack {
    let issuer = local_gateway::oidc::LocalIssuer::spawn().await.unwrap();
    let mut app = app_with_fresh_table().await;
    app.clock = clock;
    let gateway = std::sync::Arc::new(local_gateway::Gateway {
        app,
        authenticator: issuer.authenticator("store-services"),
        issuer: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_port = listener.local_addr().unwrap().port();
    let sdk = shared::edge::config::sdk_config_loader().load().await;
    let started = local_gateway::live::start(
        std::sync::Arc::clone(&gateway),
        &sdk,
        listener,
        Some(format!("http://127.0.0.1:{ws_port}")),
        std::time::Duration::from_millis(50),
    )
    .await
    .unwrap();
    LiveStack {
        issuer,
        gateway,
        ws_port,
        management: started.management,
    }
}
