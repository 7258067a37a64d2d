//! The HTTP API's CORS rules (template.yaml, `CorsConfiguration`), as API Gateway applies
//! them: preflights answered before any authorizer, and the allow and expose headers on every
//! answer to an allowed origin. The local gateway and the server apply the same rules;
//! `CORS_ALLOW_ORIGINS` (comma-separated) is the template's `ConsoleOrigins`, and a test holds
//! these lists to the template's.

use http::{HeaderMap, HeaderValue};

pub const ALLOW_HEADERS: &[&str] = &[
    "Authorization",
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
];
pub const ALLOW_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
pub const EXPOSE_HEADERS: &[&str] = &[
    "ETag",
    "Location",
    "Idempotent-Replayed",
    "Retry-After",
    "Link",
];
pub const MAX_AGE_SECONDS: u32 = 600;

/// The origins allowed to call from a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    /// `CORS_ALLOW_ORIGINS`, or `default` when it is not set; empty allows no origin.
    pub fn from_env(default: &str) -> Self {
        Self::new(&std::env::var("CORS_ALLOW_ORIGINS").unwrap_or_else(|_| default.to_owned()))
    }

    pub fn new(origins: &str) -> Self {
        Self {
            origins: origins
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The origin to allow, if `origin` is allowed: `*` when every origin is.
    fn allowed(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        if self.origins.iter().any(|o| o == "*") {
            Some("*".into())
        } else {
            self.origins
                .iter()
                .any(|o| o == origin)
                .then(|| origin.to_owned())
        }
    }

    /// The answer to a preflight's headers.
    pub fn preflight(&self, origin: Option<&str>, headers: &mut HeaderMap) {
        if let Some(origin) = self.allowed(origin) {
            set(headers, "access-control-allow-origin", origin);
            set(
                headers,
                "access-control-allow-methods",
                ALLOW_METHODS.join(","),
            );
            set(
                headers,
                "access-control-allow-headers",
                ALLOW_HEADERS.join(","),
            );
            set(
                headers,
                "access-control-max-age",
                MAX_AGE_SECONDS.to_string(),
            );
        }
    }

    /// Any other answer's headers.
    pub fn simple(&self, origin: Option<&str>, headers: &mut HeaderMap) {
        if let Some(origin) = self.allowed(origin) {
            set(headers, "access-control-allow-origin", origin);
            set(
                headers,
                "access-control-expose-headers",
                EXPOSE_HEADERS.join(","),
            );
        }
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}
