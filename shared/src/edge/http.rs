//! Requests as handlers see them and JSON responses, whatever the transport: a handler takes
//! an [`ApiRequest`] (its route, the caller's principal, path parameters, query, headers and
//! body) and answers an [`ApiResponse`]. The Lambda adapter ([`crate::edge::lambda`]) fills one
//! from an API Gateway event and the authorizer's context; a long-running server fills one
//! from its own routing and token verification. No handler reads an event shape.

use std::collections::HashMap;

use http::Response;
pub use http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::principal::{Action, Principal};
use crate::domain::ids::StoreId;
use crate::domain::validation::FieldError;
use crate::edge::error::ApiError;
use crate::edge::routes::Route;

/// A handler's answer: status, headers and a text body (JSON, or empty).
pub type ApiResponse = Response<String>;

/// One call of a route, as a handler needs it.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    route: &'static Route,
    principal: Option<Principal>,
    path: HashMap<String, String>,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Vec<u8>,
    request_id: Option<String>,
}

impl ApiRequest {
    /// A call of `route` with its path parameters; no query, headers, body or principal yet.
    pub fn new(route: &'static Route, path: HashMap<String, String>) -> Self {
        Self {
            route,
            principal: None,
            path,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Vec::new(),
            request_id: None,
        }
    }

    /// Who is calling, as the authorizer (or the server's own verification) established it.
    pub fn with_principal(mut self, principal: Option<Principal>) -> Self {
        self.principal = principal;
        self
    }

    /// The query string's parameters, in order (a name may repeat).
    pub fn with_query(mut self, query: Vec<(String, String)>) -> Self {
        self.query = query;
        self
    }

    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.headers = headers;
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The id the caller can quote (API Gateway's request id; a server's `X-Request-Id`).
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    pub fn route(&self) -> &'static Route {
        self.route
    }

    /// The caller. Missing means the route was reached without the authorizer: a
    /// deployment mistake, so it fails closed (403).
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal
            .as_ref()
            .ok_or(ApiError::Forbidden("missing or invalid authorizer context"))
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    pub fn path_parameters(&self) -> &HashMap<String, String> {
        &self.path
    }

    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
}

/// Largest request body accepted. Requests are small; API Gateway allows far more.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A path parameter, parsed. A missing one means the route and handler disagree: a 400,
/// never a panic.
pub fn path_param<T, E: Into<ApiError>>(
    request: &ApiRequest,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    match request.path.get(name) {
        Some(raw) => parse(raw).map_err(Into::into),
        None => Err(ApiError::bad_request(
            "missing_path_parameter",
            format!("path parameter {name} is missing"),
        )),
    }
}

/// A query-string parameter, if present. Repeating a parameter is ambiguous and refused.
pub fn query_param<'r>(request: &'r ApiRequest, name: &str) -> Result<Option<&'r str>, ApiError> {
    let mut values = request
        .query
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str());
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(value)),
        (Some(_), Some(_)) => Err(ApiError::invalid_query(
            name,
            format!("query parameter {name} must be given once"),
        )),
    }
}

/// A query string's parameters, percent-decoded (`+` is a space), in order; a repeated name
/// once per value.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// `%XX` escapes and `+` decoded; a malformed escape is kept as it is; bytes that are not
/// UTF-8 become U+FFFD.
pub fn percent_decode(raw: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes[i] {
            b'+' => Some((b' ', 1)),
            b'%' if i + 2 < bytes.len() => hex(bytes[i + 1])
                .zip(hex(bytes[i + 2]))
                .map(|(high, low)| (high << 4 | low, 3)),
            _ => None,
        };
        let (byte, width) = decoded.unwrap_or((bytes[i], 1));
        out.push(byte);
        i += width;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A header's value as text, if present and printable.
pub fn header_str<'r>(headers: &'r HeaderMap, name: &str) -> Option<&'r str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The body bytes, after the size and content-type checks every JSON route shares.
pub fn body_bytes(request: &ApiRequest) -> Result<&[u8], ApiError> {
    let bytes = request.body();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "missing_body",
            "a JSON request body is required",
        ));
    }
    let is_json = header_str(request.headers(), header::CONTENT_TYPE.as_str())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    Ok(bytes)
}

/// Parses a JSON body. Broken JSON is a 400; JSON of the wrong shape (types, unknown fields,
/// unknown enum values) is a 422 that names the field.
pub fn json_body<T: DeserializeOwned + crate::domain::body::Shape>(
    request: &ApiRequest,
) -> Result<T, ApiError> {
    parse_json(body_bytes(request)?)
}

/// Broken JSON is a 400; then every field against the body's [`crate::domain::body::Shape`], all
/// faults in one 422; then serde reads the checked value.
pub fn parse_json<T: DeserializeOwned + crate::domain::body::Shape>(
    bytes: &[u8],
) -> Result<T, ApiError> {
    // Syntax first, so broken JSON is always a 400 whatever its shape (bodies are small).
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::bad_request("malformed_json", "request body is not valid JSON"))?;
    let mut errors = Vec::new();
    crate::domain::body::check(&mut value, T::FIELDS, "", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // The shape held: what serde could still refuse is a rule the shape does not know.
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = data_error_message(&error.into_inner());
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::Validation {
            message: format!("{field}: {message}"),
            fields: vec![FieldError::new(field, message)],
        }
    })
}

/// serde's message without the " at line 1 column 9" suffix, which means nothing to a client.
fn data_error_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<ApiResponse, ApiError> {
    let body = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.into()))?;
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| ApiError::Internal(e.into()))
}

/// A CSV document ([`crate::domain::export`]), with the `Link` to the next page when there is one.
pub fn csv(body: String, next: Option<String>) -> Result<ApiResponse, ApiError> {
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, crate::domain::export::CONTENT_TYPE);
    if let Some(link) = next {
        response = response.header(header::LINK, link);
    }
    response
        .body(body)
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Whether the caller asked for CSV rather than JSON: `Accept` gives `text/csv` a higher
/// quality than JSON. JSON, the default, wins ties, `*/*` and a missing header.
pub fn prefers_csv(headers: &HeaderMap) -> bool {
    let Some(accept) = header_str(headers, header::ACCEPT.as_str()) else {
        return false;
    };
    let quality = |wanted: &[&str]| {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';');
                let media = parts.next()?.trim().to_ascii_lowercase();
                wanted.contains(&media.as_str()).then(|| {
                    parts
                        .find_map(|p| p.trim().strip_prefix("q="))
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .unwrap_or(1.0)
                })
            })
            .fold(0.0f32, f32::max)
    };
    let csv = quality(&["text/csv", "text/*"]);
    csv > 0.0 && csv > quality(&["application/json", "application/*", "*/*"])
}

/// `Link: <…>; rel="next"` (RFC 8288): this request's path and query with `cursor` set to
/// the next page's, so a client follows it without knowing the parameters.
pub fn next_link(request: &ApiRequest, cursor: &str) -> String {
    let mut path = request.route().path.to_owned();
    for name in request.route().path_parameters() {
        if let Some(value) = request.path_parameters().get(name) {
            path = path.replace(&format!("{{{name}}}"), &percent_encode(value));
        }
    }
    let query: Vec<String> = request
        .query()
        .iter()
        .filter(|(name, _)| name != "cursor")
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .chain([("cursor", cursor)])
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect();
    format!("<{path}?{}>; rel=\"next\"", query.join("&"))
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
pub fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The handler's answer; an error carries the request's id, so a store can quote it.
pub fn respond(request: &ApiRequest, result: Result<ApiResponse, ApiError>) -> ApiResponse {
    result.unwrap_or_else(|error| error.into_response(request.request_id()))
}

/// A versioned resource as JSON, with the `ETag` of its version.
pub fn json_with_etag<T: Serialize>(
    status: StatusCode,
    value: &T,
    version: u64,
) -> Result<ApiResponse, ApiError> {
    let mut response = json(status, value)?;
    let etag = format!("\"{version}\"")
        .parse()
        .map_err(|_| ApiError::Internal("unprintable ETag".into()))?;
    response.headers_mut().insert(header::ETAG, etag);
    Ok(response)
}

/// A supervisor request as JSON, with its `ETag`.
pub fn request_json(
    status: StatusCode,
    request: &crate::domain::supervisor_request::SupervisorRequest,
) -> Result<ApiResponse, ApiError> {
    json_with_etag(status, &request.view(), request.version)
}

/// The version an optimistic-concurrency write expects: `If-Match` or the body's `version`
/// (they must agree when both are sent); 428 when neither is.
/// The version an edit expects: `If-Match` or the body's `version` (one is required: 428),
/// `None` for `If-Match: *` (any current version, as RFC 9110 says).
pub fn expected_version(
    headers: &HeaderMap,
    body_version: Option<u64>,
) -> Result<Option<u64>, ApiError> {
    match (if_match(headers)?, body_version) {
        (Some(IfMatch::Version(header)), Some(body)) if header != body => Err(
            ApiError::bad_request("conflicting_versions", "If-Match and version disagree"),
        ),
        (Some(IfMatch::Version(version)), _) | (None, Some(version)) => Ok(Some(version)),
        (Some(IfMatch::Any), _) => Ok(None),
        (None, None) => Err(ApiError::PreconditionRequired),
    }
}

/// An `If-Match` header: one of this API's ETags, or `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    Version(u64),
}

pub fn if_match(headers: &HeaderMap) -> Result<Option<IfMatch>, ApiError> {
    if header_str(headers, header::IF_MATCH.as_str()).map(str::trim) == Some("*") {
        return Ok(Some(IfMatch::Any));
    }
    Ok(if_match_version(headers)?.map(IfMatch::Version))
}

/// Where a supervisor request lives, for `Location`.
pub fn request_location(
    store: &crate::domain::ids::StoreId,
    id: &crate::domain::ids::RequestId,
) -> String {
    format!("/stores/{store}/supervisor-requests/{id}")
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`), if one was sent.
/// The version `If-Match` names, if any; `*` (any version) names none.
pub fn if_match_version(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    if !headers.contains_key(header::IF_MATCH)
        || header_str(headers, header::IF_MATCH.as_str()).map(str::trim) == Some("*")
    {
        return Ok(None);
    }
    header_str(headers, header::IF_MATCH.as_str())
        .map(|raw| raw.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|version| version.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request("invalid_if_match", "If-Match must be an ETag of this API")
        })
}

/// 204 No Content.
pub fn no_content() -> Result<ApiResponse, ApiError> {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(String::new())
        .map_err(|e| ApiError::Internal(e.into()))
}

/// The `Idempotency-Key` header, scoped to the caller; `None` when not sent.
pub fn idempotency_key(
    request: &ApiRequest,
    subject: &str,
) -> Result<Option<crate::store::idempotency::IdempotencyKey>, ApiError> {
    let headers = request.headers();
    if !headers.contains_key(crate::store::idempotency::HEADER) {
        return Ok(None);
    }
    let raw = header_str(headers, crate::store::idempotency::HEADER).unwrap_or_default();
    Ok(Some(crate::store::idempotency::IdempotencyKey::parse(
        raw, subject,
    )?))
}

/// A 201 with the created resource's JSON `body`, `Location`, its `ETag` (version 1: it was
/// just created), and `Idempotent-Replayed: true` when an earlier create's answer is replayed.
pub fn created(location: &str, body: String, replayed: bool) -> Result<ApiResponse, ApiError> {
    let mut response = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ETAG, "\"1\"")
        .header(header::LOCATION, location);
    if replayed {
        response = response.header("idempotent-replayed", "true");
    }
    response
        .body(body)
        .map_err(|_| ApiError::Internal("unprintable Location".into()))
}

/// Creates under an optional `Idempotency-Key`: the answer is the first create's (201 with
/// `body` at `location`), replayed when this call is a retry of it.
pub async fn create_idempotently<C>(
    key: Option<crate::store::idempotency::IdempotencyKey>,
    fingerprint: impl FnOnce() -> crate::store::idempotency::Fingerprint,
    location: String,
    body: String,
    now: time::OffsetDateTime,
    creator: &C,
) -> Result<ApiResponse, ApiError>
where
    C: crate::store::idempotency::IdempotentCreate,
    ApiError: From<C::Error>,
{
    use crate::store::idempotency::{Created, IdempotencyRecord, create_once};
    let Some(key) = key else {
        creator.create(None).await?;
        return created(&location, body, false);
    };
    let record = IdempotencyRecord::new(key, fingerprint(), location, body, now);
    match create_once(&record, creator).await? {
        Created::First => created(&record.location, record.response_body, false),
        Created::Replay(first) => created(&first.location, first.response_body, true),
    }
}

/// Refuses query parameters the route does not take, naming them: a misspelt filter must
/// not read as no filter.
pub fn refuse_unknown_query_parameters(request: &ApiRequest) -> Result<(), ApiError> {
    let route = request.route();
    let mut unknown: Vec<&str> = request
        .query
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !route.query.contains(name))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    unknown.dedup();
    let fields = unknown
        .iter()
        .map(|name| {
            FieldError::new(
                *name,
                match route.query {
                    [] => "this route takes no query parameters".to_owned(),
                    known => format!(
                        "unknown query parameter; this route takes {}",
                        known.join(", ")
                    ),
                },
            )
        })
        .collect::<Vec<_>>();
    Err(ApiError::BadRequestFields {
        code: "unknown_query_parameter",
        message: format!("unknown query parameter(s): {}", unknown.join(", ")),
        fields,
    })
}

/// The caller and the path's store, once the caller is allowed `action` on that store.
pub fn authorize_store(
    request: &ApiRequest,
    action: Action,
) -> Result<(Principal, StoreId), ApiError> {
    let principal = request.principal()?.clone();
    let store = path_param(request, "storeId", StoreId::parse)?;
    principal.authorize(&store, action)?;
    refuse_unknown_query_parameters(request)?;
    Ok((principal, store))
}
