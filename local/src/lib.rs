#![recursion_limit = "256"]
//! A local stand-in for API Gateway's HTTP API, for development only.
//!
//! For each request it does what API Gateway does: matches a route from
//! [`shared::edge::routes::ROUTES`], runs the Lambda authorizer on the `Authorization` header
//! (401 without one, 403 when it denies), builds the same payload 2.0 event API Gateway would
//! send (path parameters, query string, headers, body, authorizer context), parses it with
//! `lambda_http` exactly as the deployed function does, and calls the function's handler.

pub mod cors;
/// The OpenAPI document, derived from the route table (the server serves the same).
pub use api_router::openapi;
pub mod live;
pub mod oidc;
pub mod scheduler;
pub mod streams;
pub mod websocket;

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::App;
use shared::auth::Authenticator;
use shared::edge::http::ApiResponse;
use shared::edge::routes::{self, Route};

/// API Gateway's own payload limit for HTTP APIs is 10 MB; handlers set their own, smaller.
pub const MAX_GATEWAY_BODY_BYTES: usize = 1024 * 1024;

pub struct Gateway {
    pub app: App,
    pub authenticator: Authenticator,
    /// The local identity provider, served on the gateway's origin when configured.
    pub issuer: Option<std::sync::Arc<oidc::LocalIssuer>>,
}

/// A request as it reached the gateway.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn gateway_error(status: StatusCode, message: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(json!({ "message": message }).to_string()))
        .expect("static response")
}

/// Where the interactive docs' assets come from: the `swagger-ui-dist` npm package, so
/// `/docs` works offline.
fn swagger_ui_dir() -> std::path::PathBuf {
    std::env::var_os("SWAGGER_UI_DIR")
        .map(Into::into)
        .unwrap_or_else(|| "node_modules/swagger-ui-dist".into())
}

const DOCS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Store Services API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true });
  </script>
</body>
</html>
"##;

fn static_response(content_type: &str, body: Body) -> Response<Body> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .body(body)
        .expect("static response")
}

/// The supervisor console (`local/console/`): static files, no build step. It calls only the
/// public API and the WebSocket API, so the same files work against a deployed stack.
const CONSOLE_PAGE: &str = include_str!("../console/index.html");
const CONSOLE_SCRIPT: &str = include_str!("../console/console.js");
const CONSOLE_STYLE: &str = include_str!("../console/console.css");

/// The console handles a token: its own scripts and styles only, no framing, no referrer;
/// it may call any API and WebSocket URL it is given.
const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self' http: https: ws: wss:; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

fn console_response(content_type: &str, text: &'static str) -> Response<Body> {
    let mut response = static_response(content_type, Body::Text(text.into()));
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONSOLE_POLICY),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-cache"),
    ] {
        headers.insert(name, value.parse().expect("static header"));
    }
    response
}

/// `/openapi.json`, `/docs` and `/console`: served by the gateway itself, without the
/// authorizer, like documentation and a static site hosted beside an API.
fn documentation(method: &Method, path: &str) -> Option<Response<Body>> {
    if method != Method::GET {
        return None;
    }
    match path {
        // The page's assets are relative to its directory.
        "/console" => Some(
            Response::builder()
                .status(StatusCode::PERMANENT_REDIRECT)
                .header("location", "/console/")
                .body(Body::Empty)
                .expect("static response"),
        ),
        "/console/" | "/console/index.html" => {
            Some(console_response("text/html; charset=utf-8", CONSOLE_PAGE))
        }
        "/console/console.js" => Some(console_response(
            "text/javascript; charset=utf-8",
            CONSOLE_SCRIPT,
        )),
        "/console/console.css" => Some(console_response("text/css; charset=utf-8", CONSOLE_STYLE)),
        "/openapi.json" => Some(static_response(
            "application/json",
            Body::Text(openapi::document().to_string()),
        )),
        "/docs" | "/docs/" => Some(static_response(
            "text/html; charset=utf-8",
            Body::Text(DOCS_PAGE.into()),
        )),
        "/docs/swagger-ui.css" | "/docs/swagger-ui-bundle.js" => {
            let file = path.trim_start_matches("/docs/");
            let content_type = if file.ends_with(".css") {
                "text/css"
            } else {
                "text/javascript"
            };
            Some(match std::fs::read(swagger_ui_dir().join(file)) {
                Ok(bytes) => static_response(content_type, Body::Binary(bytes)),
                Err(_) => gateway_error(
                    StatusCode::NOT_FOUND,
                    "Not Found (npm ci installs swagger-ui-dist)",
                ),
            })
        }
        _ => None,
    }
}

impl Gateway {
    /// A request as API Gateway serves it, with the template's CORS rules around it.
    pub async fn handle(&self, incoming: Incoming<'_>) -> Response<Body> {
        let origin = incoming
            .headers
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // A preflight is answered by API Gateway itself, before any authorizer.
        if incoming.method == Method::OPTIONS
            && incoming
                .headers
                .contains_key("access-control-request-method")
        {
            let mut response = Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::Empty)
                .expect("static response");
            cors::preflight(origin.as_deref(), &mut response);
            return response;
        }
        let mut response = self.route(incoming).await;
        cors::simple(origin.as_deref(), &mut response);
        response
    }

    async fn route(&self, incoming: Incoming<'_>) -> Response<Body> {
        if let Some(response) = documentation(incoming.method, incoming.path) {
            return response;
        }
        if incoming.method == Method::GET
            && let Some((status, document)) = self
                .issuer
                .as_ref()
                .and_then(|issuer| issuer.answer(incoming.path))
        {
            return Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::Text(document.to_string()))
                .expect("static response");
        }
        let (route, path_parameters) = match routes::find(incoming.method.as_str(), incoming.path) {
            Ok(found) => found,
            Err(allowed) if allowed.is_empty() => {
                return gateway_error(StatusCode::NOT_FOUND, "Not Found");
            }
            Err(allowed) => {
                let mut response =
                    gateway_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
                let allow = allowed
                    .join(", ")
                    .parse()
                    .expect("method names are valid header text");
                response.headers_mut().insert("allow", allow);
                return response;
            }
        };
        let request_id = ulid::Ulid::new().to_string();
        let header_map = headers_as_json(incoming.headers);
        let query = query_parameters(incoming.raw_query);
        let context = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": incoming.method.as_str(),
                "path": incoming.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": incoming.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "timeEpoch": 0,
        });

        // The authorizer runs first; its identity source is the Authorization header.
        if !incoming.headers.contains_key("authorization") {
            return gateway_error(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        let authorizer_event: ApiGatewayV2CustomAuthorizerV2Request = match serde_json::from_value(
            json!({
                "version": "2.0",
                "type": "REQUEST",
                "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}{}", incoming.method, incoming.path),
                "identitySource": [incoming.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("")],
                "routeKey": route.key(),
                "rawPath": incoming.path,
                "rawQueryString": incoming.raw_query,
                "headers": header_map,
                "queryStringParameters": query,
                "requestContext": context,
                "pathParameters": path_parameters,
            }),
        ) {
            Ok(event) => event,
            Err(_) => return gateway_error(StatusCode::BAD_REQUEST, "Bad Request"),
        };
        let decision = authorizer::handler(&self.authenticator, &authorizer_event).await;
        if !decision.is_authorized {
            return gateway_error(StatusCode::FORBIDDEN, "Forbidden");
        }

        let mut context = context;
        context["authorizer"] = json!({ "lambda": decision.context });
        let (body, is_base64) = match std::str::from_utf8(incoming.body) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (STANDARD.encode(incoming.body), true),
        };
        let mut event = json!({
            "version": "2.0",
            "routeKey": route.key(),
            "rawPath": incoming.path,
            "rawQueryString": incoming.raw_query,
            "headers": header_map,
            "requestContext": context,
            "pathParameters": path_parameters,
            "isBase64Encoded": is_base64,
        });
        if !query.is_empty() {
            event["queryStringParameters"] = json!(query);
        }
        if !incoming.body.is_empty() {
            event["body"] = Value::String(body);
        }
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(_) => return gateway_error(StatusCode::BAD_REQUEST, "Bad Request"),
        };
        shared::edge::lambda::lambda_response(dispatch(&self.app, route, request).await)
    }
}

/// Serves the gateway over HTTP/1.1 on `listener` (`make run`, and tests that need a real
/// port, e.g. for a browser); returns only when accepting fails.
pub async fn serve_http(
    gateway: std::sync::Arc<Gateway>,
    listener: tokio::net::TcpListener,
) -> std::io::Error {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => return error,
        };
        let gateway = std::sync::Arc::clone(&gateway);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                serve_one(std::sync::Arc::clone(&gateway), request)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve_one(
    gateway: std::sync::Arc<Gateway>,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Full<hyper::body::Bytes>>, std::convert::Infallible> {
    use http_body_util::{BodyExt, Full, Limited};
    use hyper::body::Bytes;

    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_GATEWAY_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(hyper::Response::builder()
                .status(413)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(
                    br#"{"message":"Request Entity Too Large"}"#,
                )))
                .expect("static response"));
        }
    };
    let response = gateway
        .handle(Incoming {
            method: &parts.method,
            path: parts.uri.path(),
            raw_query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &body,
        })
        .await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

/// Calls the handler of `route`'s function with API Gateway's event for it, through the same
/// adapter a deployed function runs ([`shared::edge::lambda::api_request`]).
pub async fn dispatch(app: &App, route: &'static Route, request: Request) -> ApiResponse {
    // As on Lambda: an invocation id and an X-Ray trace header in the runtime's own span, and
    // API Gateway's request id in ours, so the log lines carry the same fields.
    let invocation = LocalInvocation::new();
    let runtime_span = tracing::info_span!(
        "Lambda runtime invoke",
        requestId = %invocation.request_id,
        xrayTraceId = %invocation.trace_header
    );
    let span = runtime_span.in_scope(|| shared::edge::lambda::request_span(&request));
    let request = match shared::edge::lambda::api_request(route, request) {
        Ok(request) => request,
        Err(refusal) => return *refusal,
    };
    // With AWS_XRAY_DAEMON_ADDRESS set (a local X-Ray daemon), every request is sampled.
    // Boxed: every handler's future in one match is large, and debug builds run the tests'
    // nested calls on a thread's stack.
    let traced = shared::telemetry::traced_as(
        route.function,
        Some(&invocation.trace_header),
        Box::pin(api_router::handle(app, request)),
    );
    tracing::Instrument::instrument(tracing::Instrument::instrument(traced, span), runtime_span)
        .await
}

/// What Lambda gives each invocation: a request id (a UUID) and a trace header.
struct LocalInvocation {
    request_id: String,
    trace_header: String,
}

impl LocalInvocation {
    fn new() -> Self {
        let random = ulid::Ulid::new().0;
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (random >> 96) as u32,
            (random >> 80) as u16,
            (random >> 68) as u16 & 0xfff,
            ((random >> 52) as u16 & 0x3fff) | 0x8000,
            random as u64 & 0xffff_ffff_ffff
        );
        let trace_header = format!(
            "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=1",
            time::OffsetDateTime::now_utc().unix_timestamp(),
            random & ((1 << 96) - 1),
            (random >> 64) as u64
        );
        Self {
            request_id,
            trace_header,
        }
    }
}

/// Headers as API Gateway passes them: lower-case names, repeated values joined by commas.
fn headers_as_json(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for (name, value) in headers {
        // API Gateway passes every header on; bytes that are not text arrive replaced, and the
        // handler judges them.
        let value = String::from_utf8_lossy(value.as_bytes());
        let value = value.as_ref();
        out.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    out
}

/// Query parameters as API Gateway passes them: decoded, repeated values joined by commas.
pub fn query_parameters(raw: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for (name, value) in shared::edge::http::parse_query(raw) {
        out.entry(name)
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

/// How a development token is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevSigning {
    /// The local issuer's RS256 key (`LOCAL_OIDC_KEY`): the production path.
    Rs256,
    /// The symmetric key `JWT_HS256_SECRET`, for a gateway configured with it.
    Hs256,
}

/// Mints a development token for the local run (`JWT_ISSUER`, `JWT_AUDIENCE` and the key
/// from the environment).
pub fn dev_token(
    sub: &str,
    role: &str,
    stores: &[String],
    ttl_seconds: u64,
    signing: DevSigning,
) -> Result<String, String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let claims = shared::auth::Claims {
        sub: sub.to_owned(),
        role: role.to_owned(),
        stores: stores.to_vec(),
        iss: var("JWT_ISSUER")?,
        aud: var("JWT_AUDIENCE")?,
        exp: now + ttl_seconds,
        nbf: Some(now),
        iat: Some(now),
    };
    match signing {
        DevSigning::Rs256 => {
            Ok(oidc::SigningKey::load_or_create(&var("LOCAL_OIDC_KEY")?)?.sign(&claims))
        }
        DevSigning::Hs256 => {
            let secret = STANDARD
                .decode(var("JWT_HS256_SECRET")?.trim())
                .map_err(|_| "JWT_HS256_SECRET is not base64".to_owned())?;
            Ok(shared::auth::mint_hs256(&secret, &claims))
        }
    }
}
