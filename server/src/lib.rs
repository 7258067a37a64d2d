//! The whole HTTP API as one long-running process, for steady traffic (a container on ECS or
//! Kubernetes), beside the Lambda functions of the same codebase, on the same tables.
//!
//! Every route is answered by the same handler the route's function deploys (through
//! [`api_router::handle`], with an [`ApiRequest`] built here: no API Gateway event is made or
//! read). What API Gateway and the Lambda authorizer do for the functions, this process does
//! itself, with the same code and answers: routing (404 and 405 as the gateway's
//! `{"message"}`), the token's verification ([`shared::auth::Authenticator::authorize`]: 401
//! without `Authorization`, 403 when denied), CORS, the OpenAPI document.
//!
//! And what a container platform expects of a server:
//! - `/healthz` (the process answers) and `/readyz` (the tables answer a read; not while
//!   draining), `/metrics` in Prometheus' text format;
//! - SIGTERM: not ready at once, no new connections, in-flight requests finish within the
//!   grace, exit 0;
//! - a header read timeout, a request timeout, a body limit enforced from `Content-Length`
//!   before the body is read;
//! - a concurrency limit answered 503 with `Retry-After`, never an unbounded queue;
//! - a token bucket per caller and store, answered 429 with `Retry-After` and the
//!   `RateLimit-*` headers of the IETF draft (per replica);
//! - JSON logs with the request's id (`X-Request-Id`, accepted or made, and returned), EMF
//!   metric lines on stdout as the functions write them.

pub mod config;
pub mod limits;
pub mod metrics;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use shared::App;
use shared::auth::Authenticator;
use shared::edge::cors::Cors;
use shared::edge::http::{ApiRequest, ApiResponse};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use config::ServerConfig;
use limits::{RateLimiter, Verdict};
use metrics::Metrics;

type Answer = Response<Full<Bytes>>;

pub struct Server {
    app: &'static App,
    authenticator: &'static Authenticator,
    config: ServerConfig,
    cors: Cors,
    limiter: RateLimiter,
    in_flight: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    /// Set at SIGTERM: readiness fails from then on.
    draining: AtomicBool,
    readiness: Mutex<Option<(Instant, bool)>>,
    /// The OpenAPI document, serialized once: each answer shares its bytes.
    document: Bytes,
}

impl Server {
    /// The app and the verifier live as long as the process (built once at start, as the
    /// functions build theirs).
    pub fn new(
        app: &'static App,
        authenticator: &'static Authenticator,
        config: ServerConfig,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            app,
            authenticator,
            cors: Cors::from_env(""),
            limiter: RateLimiter::new(config.rate_per_second, config.rate_burst),
            in_flight: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            config,
            metrics,
            draining: AtomicBool::new(false),
            readiness: Mutex::new(None),
            document: Bytes::from(api_router::openapi::document().to_string()),
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves `listener` until `shutdown` completes; then drains: readiness fails, no new
    /// connection is accepted, in-flight requests get the grace to finish. `Ok` when they
    /// all did.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), String> {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    // Small JSON answers on kept-alive connections: no Nagle delay.
                    let _ = stream.set_nodelay(true);
                    let server = Arc::clone(&self);
                    let service = service_fn(move |request| {
                        let server = Arc::clone(&server);
                        async move { Ok::<_, Infallible>(server.answer(request).await) }
                    });
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(self.config.header_read_timeout)
                        .serve_connection(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
                () = &mut shutdown => break,
            }
        }
        self.draining.store(true, Ordering::SeqCst);
        drop(listener);
        tracing::info!(
            grace_seconds = self.config.shutdown_grace.as_secs(),
            "draining"
        );
        tokio::time::timeout(self.config.shutdown_grace, graceful.shutdown())
            .await
            .map_err(|_| "in-flight requests outlived the grace".to_owned())
    }

    /// Marks the process as draining (readiness fails) before its listener stops.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    async fn answer(self: Arc<Self>, request: Request<Incoming>) -> Answer {
        let started = Instant::now();
        let request_id = request_id(request.headers());
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let span = tracing::info_span!("api", request_id = %request_id);
        self.metrics.started();
        let (label, mut response) = tracing::Instrument::instrument(
            Arc::clone(&self).route(request, &request_id, origin.as_deref()),
            span.clone(),
        )
        .await;
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            headers.insert("x-request-id", value);
        }
        self.cors.simple(origin.as_deref(), headers);
        let status = response.status().as_u16();
        self.metrics.finished(label, status, started.elapsed());
        span.in_scope(|| {
            tracing::info!(route = %label, status, micros = started.elapsed().as_micros() as u64, "answered")
        });
        response
    }

    /// The answer, and what answered it (a route's key, or the server's own part).
    async fn route(
        self: Arc<Self>,
        request: Request<Incoming>,
        request_id: &str,
        origin: Option<&str>,
    ) -> (&'static str, Answer) {
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        match (&method, path.as_str()) {
            (&Method::GET, "/healthz") => {
                return ("healthz", json(StatusCode::OK, r#"{"status":"alive"}"#));
            }
            (&Method::GET, "/readyz") => {
                let ready = self.ready().await;
                let (status, body) = if ready {
                    (StatusCode::OK, r#"{"status":"ready"}"#)
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"not ready"}"#)
                };
                return ("readyz", json(status, body));
            }
            (&Method::GET, "/metrics") => {
                let mut answer = Response::new(Full::new(Bytes::from(self.metrics.render())));
                answer.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                return ("metrics", answer);
            }
            (&Method::GET, "/openapi.json") => {
                return ("openapi", json(StatusCode::OK, self.document.clone()));
            }
            _ => {}
        }
        // A preflight is answered before any authorization, as API Gateway does.
        if method == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            let mut answer = empty(StatusCode::NO_CONTENT);
            self.cors.preflight(origin, answer.headers_mut());
            return ("preflight", answer);
        }
        let (route, path_parameters) = match shared::edge::routes::find(method.as_str(), &path) {
            Ok(found) => found,
            Err(allowed) if allowed.is_empty() => {
                return ("not_found", message(StatusCode::NOT_FOUND, "Not Found"));
            }
            Err(allowed) => {
                let mut answer = message(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
                    answer.headers_mut().insert(header::ALLOW, allow);
                }
                return ("method_not_allowed", answer);
            }
        };
        let label = label_of(route);
        // A declared body over the limit is refused before a byte of it is read.
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.config.max_body_bytes) {
            return (label, too_large());
        }
        // Backpressure: a permit or an immediate 503, never a queue without bound.
        let Ok(_permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            self.metrics.shed();
            return (label, busy());
        };
        let Some(authorization) = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        else {
            return (label, message(StatusCode::UNAUTHORIZED, "Unauthorized"));
        };
        let Ok(principal) = self
            .authenticator
            .authorize(Some(&authorization), Some(label))
            .await
        else {
            return (label, message(StatusCode::FORBIDDEN, "Forbidden"));
        };
        let store = path_parameters.get("storeId").cloned().unwrap_or_default();
        let remaining = match self
            .limiter
            .check(&principal.subject, &store, Instant::now())
        {
            Verdict::Allowed { remaining } => remaining,
            Verdict::Limited { retry_after } => {
                self.metrics.rate_limited();
                return (label, self.rate_limited(retry_after));
            }
        };
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, self.config.max_body_bytes as usize)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes().to_vec(),
            Err(_) => return (label, too_large()),
        };
        let query = shared::edge::http::parse_query(parts.uri.query().unwrap_or(""));
        let api_request = ApiRequest::new(route, path_parameters)
            .with_principal(Some(principal))
            .with_query(query)
            .with_headers(parts.headers)
            .with_body(body)
            .with_request_id(Some(request_id.to_owned()));
        let handled = tokio::time::timeout(
            self.config.request_timeout,
            api_router::handle(self.app, api_request),
        )
        .await;
        let mut answer = match handled {
            Ok(response) => hyper_answer(response),
            Err(_) => {
                tracing::warn!(route = %label, "request timed out");
                busy()
            }
        };
        if self.limiter.enabled() {
            let headers = answer.headers_mut();
            headers.insert("ratelimit-limit", self.limiter.burst().into());
            headers.insert("ratelimit-remaining", remaining.into());
        }
        (label, answer)
    }

    fn rate_limited(&self, retry_after: Duration) -> Answer {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        let mut answer = message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        let headers = answer.headers_mut();
        headers.insert(header::RETRY_AFTER, seconds.into());
        headers.insert("ratelimit-limit", self.limiter.burst().into());
        headers.insert("ratelimit-remaining", 0.into());
        headers.insert("ratelimit-reset", seconds.into());
        answer
    }

    /// Ready when not draining and both tables answer a read of a key that is never written
    /// (a GetItem the server's role already allows); the answer is kept a few seconds.
    async fn ready(&self) -> bool {
        if self.draining.load(Ordering::SeqCst) {
            return false;
        }
        if let Some((at, ready)) = *self.readiness.lock().expect("readiness lock")
            && at.elapsed() < self.config.readiness_ttl
        {
            return ready;
        }
        let probe = |table: &str| {
            self.app
                .requests
                .client()
                .get_item()
                .table_name(table)
                .key(
                    shared::store::keys::PARTITION_KEY,
                    aws_sdk_dynamodb_value("__readiness__"),
                )
                .key(
                    shared::store::keys::SORT_KEY,
                    aws_sdk_dynamodb_value("PROBE"),
                )
                .send()
        };
        let (requests, items) = tokio::join!(
            probe(self.app.requests.table()),
            probe(self.app.catalog.table())
        );
        let ready = requests.is_ok() && items.is_ok();
        if !ready {
            tracing::warn!("not ready: the tables did not answer");
        }
        *self.readiness.lock().expect("readiness lock") = Some((Instant::now(), ready));
        ready
    }
}

fn aws_sdk_dynamodb_value(text: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(text.to_owned())
}

/// The caller's `X-Request-Id` when it is a sensible id, or a new one.
fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| ulid::Ulid::new().to_string())
}

fn hyper_answer(response: ApiResponse) -> Answer {
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Full::new(Bytes::from(body)))
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    let mut answer = Response::new(Full::new(body.into()));
    *answer.status_mut() = status;
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    answer
}

fn empty(status: StatusCode) -> Answer {
    let mut answer = Response::new(Full::new(Bytes::new()));
    *answer.status_mut() = status;
    answer
}

/// An answer of the server's own, in API Gateway's shape (`{"message"}`).
fn message(status: StatusCode, text: &str) -> Answer {
    json(status, serde_json::json!({ "message": text }).to_string())
}

fn too_large() -> Answer {
    message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
}

fn busy() -> Answer {
    let mut answer = message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    answer
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    answer
}

/// Resolves at SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// A route's metrics label (`GET /stores/{storeId}/…`), made once for every route.
fn label_of(route: &'static shared::edge::routes::Route) -> &'static str {
    static LABELS: std::sync::OnceLock<
        std::collections::HashMap<shared::edge::routes::Operation, String>,
    > = std::sync::OnceLock::new();
    LABELS.get_or_init(|| {
        shared::edge::routes::ROUTES
            .iter()
            .map(|route| (route.operation, route.key()))
            .collect()
    })[&route.operation]
        .as_str()
}
