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

use crate::store::catalog::CatalogStore;
use crate::store::connections::ConnectionStore;
use crate::store::cursor::CursorKey;
use crate::store::requests::RequestStore;

/// The tables' names in local runs and tests (`scripts/dev-env.sh`); a deployed function is
/// always told its tables' names and refuses to start without them.
pub const DEFAULT_REQUESTS_TABLE: &str = "supervisor-requests";
pub const DEFAULT_ITEMS_TABLE: &str = "preferred-items";
pub const DEFAULT_EVENTS_TABLE: &str = "supervisor-request-events";
pub const DEFAULT_CONNECTIONS_TABLE: &str = "websocket-connections";
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u32 = 10 * 60;
pub const DEFAULT_HISTORY_RETENTION_DAYS: u32 = 400;
/// Attempts per DynamoDB call (the first and two retries) before a 503.
pub const SDK_MAX_ATTEMPTS: u32 = 3;

#[derive(Debug)]
pub struct App {
    pub requests: RequestStore,
    pub catalog: CatalogStore,
    /// The open WebSocket connections (live notifications).
    pub connections: ConnectionStore,
    /// Seals and opens pagination cursors: only the functions that list are given the
    /// secret ([`CursorSecret`]), so the others hold none.
    pub cursor_key: Option<CursorKey>,
    /// How long a request waits for an answer when its creator does not say.
    pub default_request_timeout: Duration,
    /// Where handlers read "now".
    pub clock: Clock,
}

/// Where "now" comes from: the system's clock, or (tests) one that never reads the same
/// millisecond twice, so events order themselves without a test sleeping between them.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// Each reading at least 1 ms after the previous one, and never behind the system clock.
    Stepping(std::sync::Arc<std::sync::Mutex<time::OffsetDateTime>>),
    /// Tests of a history at chosen instants (a report over a daylight-saving change): reads
    /// where it was last [`Clock::set`], then 1 ms later each time, whatever the system's
    /// clock says.
    Manual(std::sync::Arc<std::sync::Mutex<time::OffsetDateTime>>),
}

impl Clock {
    pub fn stepping() -> Self {
        Self::Stepping(std::sync::Arc::new(std::sync::Mutex::new(
            time::OffsetDateTime::UNIX_EPOCH,
        )))
    }

    pub fn manual(at: time::OffsetDateTime) -> Self {
        Self::Manual(std::sync::Arc::new(std::sync::Mutex::new(at)))
    }

    /// Where a [`Clock::Manual`] reads next; the others follow the system's clock.
    pub fn set(&self, at: time::OffsetDateTime) {
        if let Self::Manual(next) = self {
            *next.lock().expect("clock lock") = at;
        }
    }

    pub fn now(&self) -> time::OffsetDateTime {
        let system = time::OffsetDateTime::now_utc();
        match self {
            Self::System => system,
            Self::Manual(next) => {
                let mut next = next.lock().expect("clock lock");
                let now = *next;
                *next = now + Duration::milliseconds(1);
                now
            }
            Self::Stepping(last) => {
                let mut last = last.lock().expect("clock lock");
                *last = system.max(*last + Duration::milliseconds(1));
                *last
            }
        }
    }
}

impl App {
    /// The cursor key; a listing function started without one is misconfigured (its `main`
    /// refuses to start first, see [`crate::edge::lambda::serve_pages`]).
    pub fn cursor_key(&self) -> Result<&CursorKey, crate::edge::error::ApiError> {
        self.cursor_key.as_ref().ok_or_else(|| {
            crate::edge::error::ApiError::Internal("no cursor key: set CURSOR_SECRET_ARN".into())
        })
    }
}

/// Where the cursor key comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorSecret {
    /// `CURSOR_SECRET_ARN`: a Secrets Manager secret, read once at init; its `SecretString`
    /// (at least 32 bytes, e.g. the 64 random characters the stack generates) is the key
    /// material. What deployed functions use: no secret sits in their configuration.
    SecretsManager(String),
    /// `CURSOR_SECRET`: base64 of at least 32 random bytes, in plain configuration. For
    /// local runs and tests.
    Plain(String),
}

/// Everything [`App`] reads from configuration, checked: a missing table name or a value out
/// of range refuses to start rather than running quietly wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub requests_table: String,
    pub items_table: String,
    pub events_table: String,
    pub connections_table: String,
    pub request_timeout_seconds: u32,
    pub history_retention_days: u32,
    pub cursor_secret: Option<CursorSecret>,
}

/// Bounds of `REQUEST_TIMEOUT_SECONDS` (as the API's `timeoutSeconds` and the template's
/// parameter): a request born expired, or waiting days, is a configuration mistake.
pub const REQUEST_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 30..=86_400;
/// Bounds of `HISTORY_RETENTION_DAYS` (as the template's parameter).
pub const HISTORY_RETENTION_RANGE: std::ops::RangeInclusive<u32> = 1..=36_500;

impl Settings {
    /// Reads the environment:
    /// - `REQUESTS_TABLE`, `ITEMS_TABLE`, `EVENTS_TABLE` (the audit trail) and
    ///   `CONNECTIONS_TABLE` (live notifications): required, no fallback names;
    /// - `REQUEST_TIMEOUT_SECONDS` (default 600, 30–86400);
    /// - `HISTORY_RETENTION_DAYS` (default 400, 1–36500): how long answered and timed-out
    ///   requests and every event are kept before DynamoDB's TTL removes them;
    /// - `CURSOR_SECRET_ARN` or `CURSOR_SECRET` (not both), for the functions that list.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| env::var(name).ok())
    }

    /// As [`Settings::from_env`] for local runs (the local gateway, table creation,
    /// harnesses): a table not named takes its local name ([`DEFAULT_REQUESTS_TABLE`]...).
    pub fn local_from_env() -> Result<Self, String> {
        Self::from_lookup(|name| {
            env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .or_else(|| {
                    let local = match name {
                        "REQUESTS_TABLE" => DEFAULT_REQUESTS_TABLE,
                        "ITEMS_TABLE" => DEFAULT_ITEMS_TABLE,
                        "EVENTS_TABLE" => DEFAULT_EVENTS_TABLE,
                        "CONNECTIONS_TABLE" => DEFAULT_CONNECTIONS_TABLE,
                        _ => return None,
                    };
                    Some(local.to_owned())
                })
        })
    }

    /// As [`Settings::from_env`], from any source of variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let value = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let table = |name: &str| {
            value(name).ok_or_else(|| format!("{name} is not set: name the DynamoDB table"))
        };
        let number = |name: &str, default: u32, range: std::ops::RangeInclusive<u32>| {
            whole_number(name, value(name), default, range)
        };
        let cursor_secret = match (value("CURSOR_SECRET_ARN"), value("CURSOR_SECRET")) {
            (Some(arn), None) => Some(CursorSecret::SecretsManager(arn)),
            (None, Some(secret)) => Some(CursorSecret::Plain(secret)),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err("set CURSOR_SECRET_ARN or CURSOR_SECRET, not both".into());
            }
        };
        Ok(Self {
            requests_table: table("REQUESTS_TABLE")?,
            items_table: table("ITEMS_TABLE")?,
            events_table: table("EVENTS_TABLE")?,
            connections_table: table("CONNECTIONS_TABLE")?,
            request_timeout_seconds: number(
                "REQUEST_TIMEOUT_SECONDS",
                DEFAULT_REQUEST_TIMEOUT_SECONDS,
                REQUEST_TIMEOUT_RANGE,
            )?,
            history_retention_days: number(
                "HISTORY_RETENTION_DAYS",
                DEFAULT_HISTORY_RETENTION_DAYS,
                HISTORY_RETENTION_RANGE,
            )?,
            cursor_secret,
        })
    }
}

/// A whole-number setting: `default` when unset (blank counts as unset), else within
/// `range`, or a refusal that names the setting, what it was and what it may be.
pub fn whole_number<T>(
    name: &str,
    raw: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(raw) => raw
            .parse::<T>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                format!(
                    "{name} is {raw:?}: it must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                )
            }),
    }
}

/// The cursor key from its configured source: a Secrets Manager read at init, or plain
/// base64 locally.
pub async fn load_cursor_key(
    sdk: &aws_config::SdkConfig,
    secret: &CursorSecret,
) -> Result<CursorKey, String> {
    match secret {
        CursorSecret::Plain(base64) => CursorKey::from_secret(
            &STANDARD
                .decode(base64)
                .map_err(|_| "CURSOR_SECRET is not base64".to_owned())?,
        ),
        CursorSecret::SecretsManager(arn) => {
            let output = aws_sdk_secretsmanager::Client::new(sdk)
                .get_secret_value()
                .secret_id(arn)
                .send()
                .await
                // The error names the operation and its code, never the secret.
                .map_err(|error| {
                    format!(
                        "CURSOR_SECRET_ARN: could not read the secret: {}",
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&error)
                    )
                })?;
            let material = match (output.secret_string(), output.secret_binary()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(binary)) => binary.as_ref().to_vec(),
                (None, None) => return Err("CURSOR_SECRET_ARN: the secret has no value".into()),
            };
            CursorKey::from_secret(&material).map_err(|e| format!("CURSOR_SECRET_ARN: {e}"))
        }
    }
}

/// The roots that sign AWS service endpoints (Amazon Trust Services, and the Starfield root
/// that cross-signs them), from the OS store they were copied from.
const AWS_TRUST_ROOTS: &[u8] = include_bytes!("../../certs/aws-roots.pem");

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

#[cfg(feature = "dev")]
impl App {
    /// Creates every table this app uses that does not exist yet (local runs, tests).
    pub async fn ensure_tables(&self) -> Result<(), String> {
        crate::store::schema::ensure_tables(&self.requests, &self.connections, &self.catalog).await
    }
}

impl App {
    /// Builds the app from [`Settings::from_env`] on the SDK configuration every function
    /// loads once at init.
    pub async fn from_env() -> Result<Self, String> {
        Self::from_sdk_config(&load_sdk_config().await).await
    }

    /// As [`App::from_env`], on an SDK configuration loaded already (a function that calls
    /// another AWS service too builds its client from the same one).
    pub async fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Result<Self, String> {
        Self::from_settings(sdk, Settings::from_env()?).await
    }

    pub async fn from_settings(
        sdk: &aws_config::SdkConfig,
        settings: Settings,
    ) -> Result<Self, String> {
        let client = aws_sdk_dynamodb::Client::from_conf(dynamodb_config(sdk).build());
        let cursor_key = match &settings.cursor_secret {
            Some(secret) => Some(load_cursor_key(sdk, secret).await?),
            None => None,
        };
        Ok(Self {
            catalog: CatalogStore::new(client.clone(), settings.items_table),
            connections: ConnectionStore::new(client.clone(), settings.connections_table),
            requests: RequestStore::new(
                client,
                settings.requests_table,
                settings.events_table,
                Duration::days(i64::from(settings.history_retention_days)),
            ),
            cursor_key,
            default_request_timeout: Duration::seconds(i64::from(settings.request_timeout_seconds)),
            clock: Clock::System,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    const TABLES: [(&str, &str); 4] = [
        ("REQUESTS_TABLE", "r"),
        ("ITEMS_TABLE", "i"),
        ("EVENTS_TABLE", "e"),
        ("CONNECTIONS_TABLE", "c"),
    ];

    #[test]
    fn a_missing_table_or_a_setting_out_of_range_refuses_to_start() {
        let ok = settings(&TABLES).unwrap();
        assert_eq!(ok.request_timeout_seconds, 600);
        assert_eq!(ok.history_retention_days, 400);
        assert_eq!(ok.cursor_secret, None);
        for missing in TABLES.map(|(name, _)| name) {
            let vars: Vec<_> = TABLES.into_iter().filter(|(n, _)| *n != missing).collect();
            let error = settings(&vars).unwrap_err();
            assert!(error.starts_with(missing), "{error}");
            let blank: Vec<_> = TABLES
                .into_iter()
                .map(|(n, v)| if n == missing { (n, " ") } else { (n, v) })
                .collect();
            assert!(settings(&blank).is_err());
        }
        for (name, bad) in [
            ("REQUEST_TIMEOUT_SECONDS", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "29"),
            ("REQUEST_TIMEOUT_SECONDS", "86401"),
            ("REQUEST_TIMEOUT_SECONDS", "ten"),
            ("HISTORY_RETENTION_DAYS", "0"),
            ("HISTORY_RETENTION_DAYS", "36501"),
            ("HISTORY_RETENTION_DAYS", "-1"),
        ] {
            let mut vars = TABLES.to_vec();
            vars.push((name, bad));
            let error = settings(&vars).unwrap_err();
            assert!(error.starts_with(name), "{error}");
        }
        let mut vars = TABLES.to_vec();
        vars.extend([
            ("REQUEST_TIMEOUT_SECONDS", "30"),
            ("HISTORY_RETENTION_DAYS", "36500"),
        ]);
        let edges = settings(&vars).unwrap();
        assert_eq!(
            (edges.request_timeout_seconds, edges.history_retention_days),
            (30, 36500)
        );
    }

    #[test]
    fn a_stepping_clock_never_reads_the_same_millisecond_twice() {
        let clock = Clock::stepping();
        let readings: Vec<_> = (0..100).map(|_| clock.now()).collect();
        for pair in readings.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::milliseconds(1));
        }
        assert!(readings[0] >= time::OffsetDateTime::now_utc() - Duration::seconds(1));
    }

    #[test]
    fn the_cursor_secret_comes_from_one_source() {
        let mut vars = TABLES.to_vec();
        vars.push((
            "CURSOR_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:1:secret:c",
        ));
        assert_eq!(
            settings(&vars).unwrap().cursor_secret,
            Some(CursorSecret::SecretsManager(
                "arn:aws:secretsmanager:eu-west-1:1:secret:c".into()
            ))
        );
        vars.push(("CURSOR_SECRET", "c2VjcmV0"));
        assert!(settings(&vars).is_err());
    }

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
