//! What every function builds once at init and borrows on every invocation.

use std::env;
use std::time::Duration as StdDuration;

use aws_config::BehaviorVersion;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::Region;
use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::Duration;

use crate::catalog_store::CatalogStore;
use crate::connections::ConnectionStore;
use crate::cursor::CursorKey;
use crate::store::RequestStore;

pub const DEFAULT_REQUESTS_TABLE: &str = "supervisor-requests";
pub const DEFAULT_ITEMS_TABLE: &str = "preferred-items";
pub const DEFAULT_EVENTS_TABLE: &str = "supervisor-request-events";
pub const DEFAULT_CONNECTIONS_TABLE: &str = "websocket-connections";
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u32 = 10 * 60;
/// Attempts per DynamoDB call (the first and two retries) before a 503.
pub const SDK_MAX_ATTEMPTS: u32 = 3;

#[derive(Debug)]
pub struct App {
    pub requests: RequestStore,
    pub catalog: CatalogStore,
    /// The open WebSocket connections (live notifications).
    pub connections: ConnectionStore,
    pub cursor_key: CursorKey,
    /// How long a request waits for an answer when its creator does not say.
    pub default_request_timeout: Duration,
}

/// The roots that sign AWS service endpoints (Amazon Trust Services, and the Starfield root
/// that cross-signs them), from the OS store they were copied from.
const AWS_TRUST_ROOTS: &[u8] = include_bytes!("../certs/aws-roots.pem");

/// The SDK's bounded retries and timeouts: a throttled or unreachable store costs a client
/// at most a few seconds before the 503.
pub fn sdk_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        // Bodies are small JSON documents and every attempt has a timeout; stall detection
        // would only add a timer and a body wrapper to each call.
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .retry_config(RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(StdDuration::from_secs(1))
                .operation_attempt_timeout(StdDuration::from_secs(2))
                .operation_timeout(StdDuration::from_secs(5))
                .build(),
        )
}

/// The SDK's own HTTPS client (rustls on aws-lc), trusting the AWS roots compiled in.
///
/// The default client loads the whole OS store at start-up: on Debian the bundle and then
/// every file of `/etc/ssl/certs` again, about 2.5 ms of a cold start (BENCHMARKS.md). Only
/// AWS endpoints are called, so their five roots are enough. Setting `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` (e.g. behind a TLS-inspecting proxy) selects the OS store instead.
pub fn https_client() -> SharedHttpClient {
    let os_store = env::var_os("SSL_CERT_FILE").is_some() || env::var_os("SSL_CERT_DIR").is_some();
    let trust_store = if os_store {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AWS_TRUST_ROOTS)
    };
    let tls = TlsContext::builder()
        .with_trust_store(trust_store)
        .build()
        .expect("the compiled-in roots parse");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(tls)
        .build_https()
}

/// The DynamoDB client's configuration: the SDK configuration, and the interceptor that
/// reports each call's retries and throttles and traces sampled calls
/// ([`crate::telemetry`]).
pub fn dynamodb_config(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(crate::telemetry::DynamoDbTelemetry)
}

/// On Lambda the region and the credentials are always in the environment (`AWS_REGION`,
/// `AWS_ACCESS_KEY_ID`, ...): naming them skips building the default provider chains
/// (profile, web identity, ECS, IMDS), about a tenth of the function's init. Elsewhere (the
/// local gateway, tests) the SDK's default chains apply.
fn lambda_environment(loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
    let on_lambda = env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    match env::var("AWS_REGION") {
        Ok(region) if on_lambda && env::var_os("AWS_ACCESS_KEY_ID").is_some() => loader
            .region(Region::new(region))
            .credentials_provider(EnvironmentVariableCredentialsProvider::new()),
        _ => loader,
    }
}

/// The SDK configuration every function loads once at init: bounded retries and timeouts,
/// the AWS roots, and on Lambda the environment's region and credentials.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    lambda_environment(sdk_config_loader()).load().await
}

impl App {
    /// Reads the environment:
    /// - `REQUESTS_TABLE` (default `supervisor-requests`)
    /// - `ITEMS_TABLE` (default `preferred-items`)
    /// - `CURSOR_SECRET`: base64 of at least 32 random bytes; required
    /// - `REQUEST_TIMEOUT_SECONDS` (default 600)
    /// - `EVENTS_TABLE` (default `supervisor-request-events`): the audit trail
    /// - `CONNECTIONS_TABLE` (default `websocket-connections`): live notifications
    /// - `HISTORY_RETENTION_DAYS` (default 400): how long answered and timed-out requests
    ///   and every event are kept before DynamoDB's TTL removes them
    /// - the SDK's own variables (`AWS_REGION`, `AWS_ENDPOINT_URL_DYNAMODB`, credentials).
    pub async fn from_env() -> Result<Self, String> {
        Self::from_sdk_config(&load_sdk_config().await)
    }

    /// As [`App::from_env`], on an SDK configuration loaded already (a function that calls
    /// another AWS service too builds its client from the same one).
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Result<Self, String> {
        let client = aws_sdk_dynamodb::Client::from_conf(dynamodb_config(sdk).build());
        let table = env::var("REQUESTS_TABLE").unwrap_or_else(|_| DEFAULT_REQUESTS_TABLE.into());
        let items_table = env::var("ITEMS_TABLE").unwrap_or_else(|_| DEFAULT_ITEMS_TABLE.into());
        let events_table = env::var("EVENTS_TABLE").unwrap_or_else(|_| DEFAULT_EVENTS_TABLE.into());
        let retention = match env::var("HISTORY_RETENTION_DAYS") {
            Ok(raw) => raw
                .parse::<u16>()
                .ok()
                .filter(|days| *days > 0)
                .map(|days| Duration::days(i64::from(days)))
                .ok_or_else(|| "HISTORY_RETENTION_DAYS is not a number of days".to_owned())?,
            Err(_) => crate::store::DEFAULT_HISTORY_RETENTION,
        };
        let secret = env::var("CURSOR_SECRET")
            .map_err(|_| "CURSOR_SECRET is not set".to_owned())
            .and_then(|s| {
                STANDARD
                    .decode(s.trim())
                    .map_err(|_| "CURSOR_SECRET is not base64".to_owned())
            })?;
        let timeout = match env::var("REQUEST_TIMEOUT_SECONDS") {
            Ok(raw) => raw
                .parse::<u32>()
                .map_err(|_| "REQUEST_TIMEOUT_SECONDS is not a number".to_owned())?,
            Err(_) => DEFAULT_REQUEST_TIMEOUT_SECONDS,
        };
        Ok(Self {
            catalog: CatalogStore::new(client.clone(), items_table),
            connections: ConnectionStore::new(
                client.clone(),
                env::var("CONNECTIONS_TABLE").unwrap_or_else(|_| DEFAULT_CONNECTIONS_TABLE.into()),
            ),
            requests: RequestStore::new(client, table, events_table, retention),
            cursor_key: CursorKey::from_secret(&secret)?,
            default_request_timeout: Duration::seconds(i64::from(timeout)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DER certificates of a PEM bundle.
    fn certificates(pem: &str) -> Vec<Vec<u8>> {
        pem.split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|block| {
                let body = block
                    .split("-----END CERTIFICATE-----")
                    .next()
                    .expect("an END line");
                let base64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                STANDARD.decode(base64).expect("base64 certificate")
            })
            .collect()
    }

    #[test]
    fn the_compiled_in_trust_store_is_the_aws_roots() {
        let pem = std::str::from_utf8(AWS_TRUST_ROOTS).expect("PEM is text");
        let certificates = certificates(pem);
        // A subject's common name appears verbatim in its DER encoding.
        let names = [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ];
        assert_eq!(certificates.len(), names.len());
        for (der, name) in certificates.iter().zip(names) {
            assert!(
                der.windows(name.len()).any(|w| w == name.as_bytes()),
                "expected {name}"
            );
        }
    }
}
