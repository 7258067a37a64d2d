//! What every DynamoDB call tells an operator: its retries and throttles as metrics (EMF), and,
//! when the invocation is sampled by X-Ray, a subsegment of its own in the trace.
//!
//! One SDK interceptor ([`DynamoDbTelemetry`]) on every client the functions build
//! (installed by the edge's `dynamodb_config`). It sees every attempt, so it counts what the
//! `DynamoDbUnavailable` metric (errors left after the retries) cannot: the retries that
//! succeeded, and how many of them were throttling.
//!
//! Subsegments are sent the way the X-Ray SDKs send them: a JSON document over UDP to the
//! X-Ray daemon Lambda runs beside the function (`AWS_XRAY_DAEMON_ADDRESS`), parented on the
//! function's segment named by the invocation's trace header (`Root=…;Parent=…;Sampled=1`).
//! No X-Ray SDK exists for Rust; OpenTelemetry with a collector layer would cost a second
//! process and its cold start. An unsampled invocation (`Tracing=PassThrough`, or X-Ray's
//! sampling said no) costs one task-local lookup per call and sends nothing.

pub mod emf;
/// Development only: counting DynamoDB requests (tests, benchmarks).
#[cfg(feature = "dev")]
pub mod metrics;

use std::future::Future;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::json;

use crate::telemetry::emf::{Event, Unit};

/// DynamoDB's throttling error codes: retried by the SDK, counted here, and classified by
/// the store as unavailable when the retries run out.
pub(crate) const THROTTLING_CODES: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

/// The other errors the SDK retries: DynamoDB's own faults.
pub(crate) const SERVER_ERROR_CODES: [&str; 3] = [
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

tokio::task_local! {
    /// The X-Ray trace of the invocation being served, when it is sampled.
    static TRACE: Arc<SampledTrace>;
}

/// Where subsegments go: the X-Ray daemon's UDP address.
#[derive(Clone, Debug)]
pub struct Tracer {
    daemon: Option<SocketAddr>,
}

/// A sampled invocation's trace: the root trace id and the (handler's) subsegment DynamoDB
/// calls are parented on.
#[derive(Debug)]
struct SampledTrace {
    root: String,
    parent: String,
    daemon: SocketAddr,
}

impl Tracer {
    /// From `AWS_XRAY_DAEMON_ADDRESS` (`host:port`, or `tcp:… udp:host:port`), which Lambda
    /// sets when active tracing is on; without it nothing is ever sent.
    pub fn from_env() -> Self {
        let daemon = std::env::var("AWS_XRAY_DAEMON_ADDRESS")
            .ok()
            .and_then(|raw| parse_daemon_address(&raw));
        Self { daemon }
    }

    /// Sends to the daemon at `daemon` (tests listen on a socket of their own).
    pub fn to(daemon: SocketAddr) -> Self {
        Self {
            daemon: Some(daemon),
        }
    }

    /// Runs `invocation` (the handler `name`) in the trace its header names (Lambda's
    /// `Lambda-Runtime-Trace-Id`, the context's `xray_trace_id`). Sampled, the handler becomes
    /// a subsegment of the function's segment, and each DynamoDB call one of the handler's.
    pub async fn scope<F: Future>(
        &self,
        name: &str,
        trace_header: Option<&str>,
        invocation: F,
    ) -> F::Output {
        let Some(mut trace) = self
            .daemon
            .zip(trace_header)
            .and_then(|(daemon, header)| SampledTrace::parse(header, daemon))
        else {
            return invocation.await;
        };
        let (started, clock) = (SystemTime::now(), Instant::now());
        let id = subsegment_id();
        let function_segment = std::mem::replace(&mut trace.parent, id.clone());
        let trace = Arc::new(trace);
        let output = TRACE.scope(trace.clone(), invocation).await;
        let handler = json!({
            "name": name,
            "id": id,
            "trace_id": trace.root,
            "parent_id": function_segment,
            "type": "subsegment",
            "start_time": epoch_seconds(started),
            "end_time": epoch_seconds(started + clock.elapsed()),
        });
        trace.send(&format!("{DAEMON_HEADER}\n{handler}"));
        output
    }
}

/// The daemon's wire format: this header line, then one segment document.
const DAEMON_HEADER: &str = r#"{"format":"json","version":1}"#;

fn subsegment_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

/// Runs one invocation of this function in its X-Ray trace, with the daemon named by the
/// environment (read once per process); the handler's subsegment is named after the function
/// (`AWS_LAMBDA_FUNCTION_NAME`).
pub fn traced<'a, F: Future + 'a>(
    trace_header: Option<&'a str>,
    invocation: F,
) -> impl Future<Output = F::Output> + 'a {
    static NAME: OnceLock<String> = OnceLock::new();
    let name = NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "handler".into())
    });
    traced_as(name, trace_header, invocation)
}

/// As [`traced`], the handler's subsegment named `name` (the local gateway names the route's
/// function). Plain functions, not `async`: every layer of future is one more level of the
/// handler's type, whose layout rustc computes to a bounded depth.
pub fn traced_as<'a, F: Future + 'a>(
    name: &'a str,
    trace_header: Option<&'a str>,
    invocation: F,
) -> impl Future<Output = F::Output> + 'a {
    static TRACER: OnceLock<Tracer> = OnceLock::new();
    TRACER
        .get_or_init(Tracer::from_env)
        .scope(name, trace_header, invocation)
}

fn parse_daemon_address(raw: &str) -> Option<SocketAddr> {
    let udp = raw
        .split_whitespace()
        .find_map(|part| part.strip_prefix("udp:"))
        .unwrap_or(raw.trim());
    udp.parse().ok()
}

impl SampledTrace {
    /// `Root=1-…;Parent=…;Sampled=1`; `None` unless sampled with a root and a parent.
    fn parse(header: &str, daemon: SocketAddr) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for field in header.split(';') {
            match field.trim().split_once('=') {
                Some(("Root", value)) => root = Some(value),
                Some(("Parent", value)) => parent = Some(value),
                Some(("Sampled", value)) => sampled = value == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root?.to_owned(),
            parent: parent?.to_owned(),
            daemon,
        })
        .filter(|_| sampled)
    }
}

/// One DynamoDB call, across its attempts (kept in the operation's config bag).
#[derive(Debug)]
struct Call {
    started: SystemTime,
    clock: Instant,
    attempts: u32,
    throttles: u32,
    /// Only read when the call is traced.
    table: Option<String>,
}

impl Storable for Call {
    type Storer = StoreReplace<Self>;
}

fn is_throttling(status: u16, body: Option<&[u8]>) -> bool {
    status == 400
        && body.is_some_and(|body| {
            THROTTLING_CODES.iter().any(|code| {
                body.windows(code.len())
                    .any(|window| window == code.as_bytes())
            })
        })
}

/// DynamoDB's error code in an error body (`{"__type":"com.amazonaws.dynamodb.v20120810#Code"}`)
/// when it is one the SDK retries: throttling, or DynamoDB's own fault.
fn unavailable_code(body: Option<&[u8]>) -> Option<&'static str> {
    #[derive(serde::Deserialize)]
    struct ErrorBody<'a> {
        #[serde(rename = "__type", borrow)]
        kind: &'a str,
    }
    let error: ErrorBody = serde_json::from_slice(body?).ok()?;
    let code = error.kind.rsplit('#').next()?;
    THROTTLING_CODES
        .into_iter()
        .chain(SERVER_ERROR_CODES)
        .find(|known| *known == code)
}

/// The interceptor: retries and throttles per call as metrics, sampled calls as subsegments.
#[derive(Clone, Copy, Debug, Default)]
pub struct DynamoDbTelemetry;

impl Intercept for DynamoDbTelemetry {
    fn name(&self) -> &'static str {
        "DynamoDbTelemetry"
    }

    fn read_before_execution(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Call {
            started: SystemTime::now(),
            clock: Instant::now(),
            attempts: 0,
            throttles: 0,
            table: None,
        });
        Ok(())
    }

    fn read_before_attempt(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(call) = cfg.get_mut_from_interceptor_state::<Call>() else {
            return Ok(());
        };
        if call.attempts == 0 && TRACE.try_with(|_| ()).is_ok() {
            call.table = context
                .request()
                .body()
                .bytes()
                .and_then(|body| serde_json::from_slice::<TableName>(body).ok())
                .and_then(|named| named.table_name);
        }
        call.attempts += 1;
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        // The body is in memory by now (DynamoDB's answers are not streamed).
        if is_throttling(response.status().as_u16(), response.body().bytes())
            && let Some(call) = cfg.get_mut_from_interceptor_state::<Call>()
        {
            call.throttles += 1;
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(call) = cfg.load::<Call>() else {
            return Ok(());
        };
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        let trace = TRACE.try_with(Arc::clone).ok();
        let retries = call.attempts.saturating_sub(1);
        if retries > 0 || call.throttles > 0 {
            let mut event = Event::new("dynamodb")
                .dimension("Operation", operation)
                .metric("DynamoDbRetries", Unit::Count, f64::from(retries))
                .metric("DynamoDbThrottles", Unit::Count, f64::from(call.throttles));
            // A sampled call's line names its trace, to find the trace from the metric.
            if let Some(trace) = &trace {
                event = event.property("traceId", trace.root.as_str());
            }
            event.emit();
        }
        // Failed after the SDK's retries with DynamoDB throttling or its own fault: the store
        // answers 503, and an alarm on throttling counts this, whoever handles the error.
        if matches!(context.output_or_error(), Some(Err(_)))
            && let Some(code) = context
                .response()
                .and_then(|r| unavailable_code(r.body().bytes()))
        {
            Event::new("dynamodb")
                .dimension("Code", code)
                .metric("DynamoDbUnavailable", Unit::Count, 1.0)
                .emit();
        }
        let status = context.response().map(|r| r.status().as_u16());
        tracing::debug!(
            operation,
            attempts = call.attempts,
            status,
            elapsed_us = call.clock.elapsed().as_micros() as u64,
            "dynamodb call"
        );
        if let Some(trace) = trace {
            let request_id = context
                .response()
                .and_then(|r| r.headers().get("x-amzn-requestid"));
            let subsegment = Subsegment {
                operation,
                call,
                status,
                request_id,
            };
            trace.send(&subsegment.document(&trace.root, &trace.parent));
        }
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct TableName {
    #[serde(rename = "TableName")]
    table_name: Option<String>,
}

struct Subsegment<'a> {
    operation: &'a str,
    call: &'a Call,
    status: Option<u16>,
    request_id: Option<&'a str>,
}

fn epoch_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

impl Subsegment<'_> {
    /// The daemon's wire format: a header line, then the subsegment as an independent
    /// document (`type: subsegment`, with its trace and parent), as the X-Ray SDKs send it.
    fn document(&self, root: &str, parent: &str) -> String {
        let ended = self.call.started + self.call.clock.elapsed();
        let mut aws = json!({
            "operation": self.operation,
            "retries": self.call.attempts.saturating_sub(1),
        });
        if let Some(table) = &self.call.table {
            aws["table_name"] = json!(table);
        }
        if let Some(id) = self.request_id {
            aws["request_id"] = json!(id);
        }
        static REGION: OnceLock<Option<String>> = OnceLock::new();
        if let Some(region) = REGION.get_or_init(|| std::env::var("AWS_REGION").ok()) {
            aws["region"] = json!(region);
        }
        let mut segment = json!({
            "name": "DynamoDB",
            "id": subsegment_id(),
            "trace_id": root,
            "parent_id": parent,
            "type": "subsegment",
            "namespace": "aws",
            "start_time": epoch_seconds(self.call.started),
            "end_time": epoch_seconds(ended),
            "aws": aws,
        });
        match self.status {
            Some(status) => {
                segment["http"] = json!({"response": {"status": status}});
                if self.call.throttles > 0 && status == 400 {
                    segment["throttle"] = json!(true);
                }
                if (400..500).contains(&status) {
                    segment["error"] = json!(true);
                } else if status >= 500 {
                    segment["fault"] = json!(true);
                }
            }
            // No answer at all (timeout, connection refused): the call failed.
            None => segment["fault"] = json!(true),
        }
        format!("{DAEMON_HEADER}\n{segment}")
    }
}

impl SampledTrace {
    fn send(&self, document: &str) {
        static SOCKET: OnceLock<Option<UdpSocket>> = OnceLock::new();
        let socket = SOCKET.get_or_init(|| UdpSocket::bind("0.0.0.0:0").ok());
        // A trace is best effort: a lost datagram never fails the call.
        if let Some(socket) = socket {
            let _ = socket.send_to(document.as_bytes(), self.daemon);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_and_dynamodbs_own_faults_count_as_unavailable() {
        let body = |kind: &str| {
            format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"m"}}"#)
        };
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "InternalServerError",
        ] {
            assert_eq!(unavailable_code(Some(body(code).as_bytes())), Some(code));
        }
        for other in [
            "ConditionalCheckFailedException",
            "TransactionCanceledException",
            "ValidationException",
        ] {
            assert_eq!(
                unavailable_code(Some(body(other).as_bytes())),
                None,
                "{other}"
            );
        }
        assert_eq!(unavailable_code(Some(b"not json")), None);
        assert_eq!(unavailable_code(None), None);
    }

    #[test]
    fn a_trace_header_is_sampled_only_with_root_parent_and_sampled_1() {
        let daemon: SocketAddr = "127.0.0.1:2000".parse().unwrap();
        let trace = SampledTrace::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            daemon,
        )
        .expect("sampled");
        assert_eq!(trace.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(trace.parent, "53995c3f42cd8ad8");
        for unsampled in [
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "",
        ] {
            assert!(
                SampledTrace::parse(unsampled, daemon).is_none(),
                "{unsampled}"
            );
        }
    }

    #[test]
    fn the_daemon_address_is_read_in_both_of_its_forms() {
        let expected: SocketAddr = "169.254.79.129:2000".parse().unwrap();
        assert_eq!(parse_daemon_address("169.254.79.129:2000"), Some(expected));
        assert_eq!(
            parse_daemon_address("tcp:127.0.0.1:2000 udp:169.254.79.129:2000"),
            Some(expected)
        );
        assert_eq!(parse_daemon_address("not an address"), None);
    }

    #[test]
    fn throttling_is_a_400_naming_a_throttling_code() {
        let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}"#;
        assert!(is_throttling(400, Some(body)));
        assert!(!is_throttling(500, Some(body)));
        let conditional =
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}"#;
        assert!(!is_throttling(400, Some(conditional)));
    }
}
