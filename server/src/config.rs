//! The server's own settings (what a container platform tunes); the app's settings (tables,
//! identity, cursor key) are the functions' own ([`shared::edge::config::Settings`]).

use std::time::Duration;

/// Checked at start: a setting out of range refuses to start, as the functions do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// `PORT` (8080).
    pub port: u16,
    /// `SHUTDOWN_GRACE_SECONDS` (20): how long in-flight requests may take to finish after
    /// SIGTERM. Below ECS's default 30 s stop timeout and Kubernetes' termination grace.
    pub shutdown_grace: Duration,
    /// `RATE_LIMIT_PER_SECOND` (20) and `RATE_LIMIT_BURST` (40): each caller's token bucket
    /// per store, per replica. 0 turns rate limiting off.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// `MAX_CONCURRENT_REQUESTS` (256): past it, 503 with `Retry-After` at once instead of a
    /// queue without bound.
    pub max_concurrent_requests: usize,
    /// `SERVER_REQUEST_TIMEOUT_SECONDS` (10, as the functions' timeout): a request still
    /// running then is answered 503.
    pub request_timeout: Duration,
    /// `HEADER_READ_TIMEOUT_SECONDS` (5): a client that sends half a request is dropped.
    pub header_read_timeout: Duration,
    /// `MAX_BODY_BYTES` (1 MiB, as the local gateway; the handlers' own limit is smaller): a
    /// larger declared `Content-Length` is refused before the body is read.
    pub max_body_bytes: u64,
    /// How long a readiness answer is reused (5 s): probes from every zone of a load
    /// balancer and the kubelet must not each cost DynamoDB reads.
    pub readiness_ttl: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            port: 8080,
            shutdown_grace: Duration::from_secs(20),
            rate_per_second: 20,
            rate_burst: 40,
            max_concurrent_requests: 256,
            request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            readiness_ttl: Duration::from_secs(5),
        }
    }
}

impl ServerConfig {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let defaults = Self::default();
        let number = |name: &str, default: u64, low: u64, high: u64| {
            shared::edge::config::whole_number(name, lookup(name), default, low..=high)
        };
        let seconds = |name: &str, default: Duration, low: u64, high: u64| {
            number(name, default.as_secs(), low, high).map(Duration::from_secs)
        };
        Ok(Self {
            port: number("PORT", u64::from(defaults.port), 1, 65_535)? as u16,
            shutdown_grace: seconds("SHUTDOWN_GRACE_SECONDS", defaults.shutdown_grace, 1, 3_600)?,
            rate_per_second: number(
                "RATE_LIMIT_PER_SECOND",
                u64::from(defaults.rate_per_second),
                0,
                100_000,
            )? as u32,
            rate_burst: number(
                "RATE_LIMIT_BURST",
                u64::from(defaults.rate_burst),
                1,
                100_000,
            )? as u32,
            max_concurrent_requests: number(
                "MAX_CONCURRENT_REQUESTS",
                defaults.max_concurrent_requests as u64,
                1,
                100_000,
            )? as usize,
            request_timeout: seconds(
                "SERVER_REQUEST_TIMEOUT_SECONDS",
                defaults.request_timeout,
                1,
                300,
            )?,
            header_read_timeout: seconds(
                "HEADER_READ_TIMEOUT_SECONDS",
                defaults.header_read_timeout,
                1,
                300,
            )?,
            max_body_bytes: number(
                "MAX_BODY_BYTES",
                defaults.max_body_bytes,
                1024,
                10 * 1024 * 1024,
            )?,
            readiness_ttl: defaults.readiness_ttl,
        })
    }
}
