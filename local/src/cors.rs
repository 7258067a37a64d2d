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
use lambda_http::http::Response;
pub use shared::edge::cors::{ALLOW_HEADERS, ALLOW_METHODS, Cors, EXPOSE_HEADERS, MAX_AGE_SECONDS};

/// The local gateway's rules: every origin unless `CORS_ALLOW_ORIGINS` says otherwise.
fn rules() -> Cors {
    Cors::from_env("*")
}

pub fn preflight(origin: Option<&str>, response: &mut Response<Body>) {
    rules().preflight(origin, response.headers_mut());
}

pub fn simple(origin: Option<&str>, response: &mut Response<Body>) {
    rules().simple(origin, response.headers_mut());
}
