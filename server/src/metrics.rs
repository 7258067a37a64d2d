//! `/metrics` in Prometheus' text format, for Kubernetes: the server's own HTTP figures, and
//! the business metrics the handlers emit as EMF lines (which still go to stdout, where
//! CloudWatch Logs extracts them on ECS). One source, two readers.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// A business metric's series: its labels (the EMF dimensions) and running totals.
type Series = BTreeMap<(String, Vec<(String, String)>), (f64, u64)>;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    in_flight: AtomicI64,
    rate_limited: AtomicU64,
    shed: AtomicU64,
    business: Mutex<Series>,
}

impl Metrics {
    pub fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request answered: `route` is the route's key, or what answered it (`not_found`...).
    pub fn finished(&self, route: &str, status: u16, elapsed: Duration) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route.to_owned(), status))
            .or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let mut durations = self.durations.lock().expect("metrics lock");
        let histogram = durations.entry(route.to_owned()).or_default();
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds an EMF line's metrics: each metric a series labelled by the line's dimensions.
    pub fn record_emf(&self, line: &str) {
        let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let directive = &root["_aws"]["CloudWatchMetrics"][0];
        let mut dimensions: Vec<String> = directive["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        dimensions.sort();
        dimensions.dedup();
        let labels: Vec<(String, String)> = dimensions
            .iter()
            .filter_map(|name| Some((name.clone(), root.get(name)?.as_str()?.to_owned())))
            .collect();
        let mut business = self.business.lock().expect("metrics lock");
        for metric in directive["Metrics"].as_array().into_iter().flatten() {
            let (Some(name), Some(unit)) = (metric["Name"].as_str(), metric["Unit"].as_str())
            else {
                continue;
            };
            let Some(value) = root.get(name).and_then(Value::as_f64) else {
                continue;
            };
            let series = business
                .entry((prometheus_name(name, unit), labels.clone()))
                .or_default();
            series.0 += value;
            series.1 += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP store_http_requests_total Requests answered, by route and status.\n# TYPE store_http_requests_total counter\n");
        for ((route, status), count) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "store_http_requests_total{{route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str("# HELP store_http_request_duration_seconds Time to answer, by route.\n# TYPE store_http_request_duration_seconds histogram\n");
        for (route, histogram) in self.durations.lock().expect("metrics lock").iter() {
            let route = escape(route);
            for (bound, count) in BUCKETS.iter().zip(histogram.counts) {
                let _ = writeln!(
                    out,
                    "store_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "store_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nstore_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nstore_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP store_http_requests_in_flight Requests being answered.\n# TYPE store_http_requests_in_flight gauge\nstore_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP store_http_rate_limited_total Requests answered 429 by the per-caller limit.\n# TYPE store_http_rate_limited_total counter\nstore_http_rate_limited_total {}",
            self.rate_limited.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP store_http_shed_total Requests answered 503 at the concurrency limit.\n# TYPE store_http_shed_total counter\nstore_http_shed_total {}",
            self.shed.load(Ordering::Relaxed)
        );
        let business = self.business.lock().expect("metrics lock");
        let mut typed = String::new();
        for ((name, labels), (sum, count)) in business.iter() {
            if *name != typed {
                let kind = if name.ends_with("_total") {
                    "counter"
                } else {
                    "summary"
                };
                let _ = writeln!(out, "# TYPE {name} {kind}");
                typed.clone_from(name);
            }
            let labels = labels
                .iter()
                .map(|(k, v)| format!("{}=\"{}\"", k.to_lowercase(), escape(v)))
                .collect::<Vec<_>>()
                .join(",");
            if name.ends_with("_total") {
                let _ = writeln!(out, "{name}{{{labels}}} {sum}");
            } else {
                let _ = writeln!(
                    out,
                    "{name}_sum{{{labels}}} {sum}\n{name}_count{{{labels}}} {count}"
                );
            }
        }
        out
    }
}

/// `RequestsCreated` (Count) → `store_requests_created_total`; `TimeToAnswer`
/// (Milliseconds) → `store_time_to_answer_milliseconds`.
fn prometheus_name(metric: &str, unit: &str) -> String {
    let mut snake = String::from("store_");
    for (i, c) in metric.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    match unit {
        "Count" => snake + "_total",
        other => format!("{snake}_{}", other.to_lowercase()),
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_become_prometheus_series() {
        let metrics = Metrics::default();
        let line = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"StoreServices","Dimensions":[["Service"],["Service","Priority"]],"Metrics":[{"Name":"RequestsCreated","Unit":"Count"}]}]},"Service":"supervisor-requests","Priority":"HIGH","RequestsCreated":1,"storeId":"s1"}"#;
        metrics.record_emf(line);
        metrics.record_emf(line);
        metrics.finished("GET /x", 200, Duration::from_millis(3));
        let text = metrics.render();
        assert!(
            text.contains(
                "store_requests_created_total{priority=\"HIGH\",service=\"supervisor-requests\"} 2"
            ),
            "{text}"
        );
        assert!(text.contains("store_http_requests_total{route=\"GET /x\",status=\"200\"} 1"));
        assert!(text.contains(
            "store_http_request_duration_seconds_bucket{route=\"GET /x\",le=\"0.005\"} 1"
        ));
    }
}
