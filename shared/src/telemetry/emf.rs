//! Business and health metrics in CloudWatch Embedded Metric Format: one JSON line on stdout
//! per event, which CloudWatch Logs turns into metrics with no API call from the function.
//!
//! A small writer of its own rather than `metrics_cloudwatch_embedded`: that crate brings the
//! `metrics` facade and a global recorder, writes one dimension set per line (three lines
//! for one of our events) and keeps properties across invocations; it adds five times the
//! size for the same cold start (BENCHMARKS.md, "The EMF writer"). Lines follow the specification
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! `_aws.Timestamp` in epoch milliseconds, one `CloudWatchMetrics` directive naming the
//! namespace, the dimension sets and each metric's unit; every dimension and metric a member
//! of the root object.
//!
//! Dimensions are chosen for cost (each distinct combination is a billed metric): `Service`,
//! and one business dimension per set. The store id is a property, queryable in Logs Insights,
//! not a dimension, unless `METRICS_STORE_DIMENSION=true` asks for per-store metrics (a store
//! chain of 500 stores would then pay for 500 × every metric).

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "StoreServices";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric event: dimension values, metrics, properties.
pub struct Event {
    service: &'static str,
    dimension_sets: Vec<Vec<&'static str>>,
    values: Map<String, Value>,
    metrics: Vec<(&'static str, Unit)>,
}

type Sink = Box<dyn Fn(&str) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Where lines go instead of stdout (tests capture them). The first call wins.
pub fn set_sink(sink: impl Fn(&str) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(sink));
}

fn store_dimension() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("METRICS_STORE_DIMENSION").is_ok_and(|v| v == "true"))
}

impl Event {
    /// An event of `service` (`supervisor-requests`, `identity`, `dynamodb`, `api`).
    pub fn new(service: &'static str) -> Self {
        let mut values = Map::new();
        values.insert("Service".into(), json!(service));
        Self {
            service,
            dimension_sets: vec![vec!["Service"]],
            values,
            metrics: Vec::new(),
        }
    }

    /// A business dimension: metrics by `name` too (`Service` + `name`).
    pub fn dimension(mut self, name: &'static str, value: &str) -> Self {
        self.values.insert(name.into(), json!(value));
        self.dimension_sets.push(vec!["Service", name]);
        self
    }

    pub fn metric(mut self, name: &'static str, unit: Unit, value: f64) -> Self {
        self.values.insert(name.into(), json!(value));
        self.metrics.push((name, unit));
        self
    }

    /// A property: in the log line, not a dimension.
    pub fn property(mut self, name: &'static str, value: impl Into<Value>) -> Self {
        self.values.insert(name.into(), value.into());
        self
    }

    /// The store: a property, or a dimension when configured.
    pub fn store(self, store: &str) -> Self {
        if store_dimension() {
            self.dimension("StoreId", store)
        } else {
            self.property("storeId", store)
        }
    }

    /// The EMF line.
    pub fn line(&self, timestamp_ms: i64) -> String {
        let mut root = self.values.clone();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": self.dimension_sets,
                    "Metrics": self.metrics.iter()
                        .map(|(name, unit)| json!({"Name": name, "Unit": unit.as_str()}))
                        .collect::<Vec<_>>(),
                }],
            }),
        );
        debug_assert_eq!(root["Service"], json!(self.service));
        Value::Object(root).to_string()
    }

    pub fn emit(self) {
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let line = self.line(now_ms as i64);
        match SINK.get() {
            Some(sink) => sink(&line),
            None => println!("{line}"),
        }
    }
}

/// Counts this process's first invocation as a cold start (once).
pub fn cold_start(service: &'static str) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !DONE.swap(true, std::sync::atomic::Ordering::Relaxed) {
        Event::new(service)
            .dimension(
                "Function",
                &std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()),
            )
            .metric("ColdStart", Unit::Count, 1.0)
            .emit();
    }
}
