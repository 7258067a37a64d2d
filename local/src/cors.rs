//! The HTTP API's CORS configuration (template.yaml, `CorsConfiguration`), as API Gateway
//! applies it: preflights answered before the authorizer, and the allow and expose headers
//! on every answer to an allowed origin. `CORS_ALLOW_ORIGINS` (comma-separated) is the
//! template's `ConsoleOrigins`; a test holds these lists to the template's.
//!
//! The defaults differ on purpose. A deployment allows no other origin until
//! `ConsoleOrigins` names one (the API then has no CORS configuration at all). The local
//! gateway allows every origin (`*`) unless `CORS_ALLOW_ORIGINS` says otherwise: it listens
//! on loopback only and serves the console on its own origin, tokens travel in the
//! `Authorization` header (there is no cookie a foreign page could ride on), and a console
//! being worked on from another local port can call it. `CORS_ALLOW_ORIGINS=` (empty)
//! behaves as a deployment does by default.

use lambda_http::Body;
use lambda_http::http::{HeaderValue, Response};

pub const ALLOW_HEADERS: &[&str] = &[
    "Authorization",
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
];
pub const ALLOW_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
pub const EXPOSE_HEADERS: &[&str] = &["ETag", "Location", "Idempotent-Replayed", "Retry-After"];
pub const MAX_AGE_SECONDS: u32 = 600;

/// The origin to allow, if `origin` is allowed: `*` when every origin is.
fn allowed(origin: Option<&str>) -> Option<String> {
    let origin = origin?;
    let configured = std::env::var("CORS_ALLOW_ORIGINS").unwrap_or_else(|_| "*".into());
    let origins: Vec<&str> = configured.split(',').map(str::trim).collect();
    if origins.contains(&"*") {
        Some("*".into())
    } else {
        origins.contains(&origin).then(|| origin.to_owned())
    }
}

fn set(response: &mut Response<Body>, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(name, value);
    }
}

pub fn preflight(origin: Option<&str>, response: &mut Response<Body>) {
    if let Some(origin) = allowed(origin) {
        set(response, "access-control-allow-origin", origin);
        set(
            response,
            "access-control-allow-methods",
            ALLOW_METHODS.join(","),
        );
        set(
            response,
            "access-control-allow-headers",
            ALLOW_HEADERS.join(","),
        );
        set(
            response,
            "access-control-max-age",
            MAX_AGE_SECONDS.to_string(),
        );
    }
}

pub fn simple(origin: Option<&str>, response: &mut Response<Body>) {
    if let Some(origin) = allowed(origin) {
        set(response, "access-control-allow-origin", origin);
        set(
            response,
            "access-control-expose-headers",
            EXPOSE_HEADERS.join(","),
        );
    }
}
