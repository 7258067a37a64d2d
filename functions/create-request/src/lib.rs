//! `POST /stores/{storeId}/supervisor-requests`: an associate raises a request.
//!
//! With an `Idempotency-Key` header, a retry of the same body by the same caller returns the
//! first answer (same body, `Idempotent-Replayed: true`) and creates nothing; the same key
//! with another body is refused with 422.

use lambda_http::http::{HeaderMap, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::error::ApiError;
use shared::http::{body_bytes, header_str, parse_json, request_location, respond};
use shared::ids::{RequestId, StoreId};
use shared::principal::{Action, authorize_store};
use shared::store::{IdempotencyRecord, StoreError, backoff};
use shared::supervisor_request::{NewRequestBody, SupervisorRequest};
use time::{Duration, OffsetDateTime};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;
/// How long a key protects against duplicates.
const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);
const ATTEMPTS: u32 = 5;

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(create(app, &event, OffsetDateTime::now_utc()).await)
}

async fn create(
    app: &App,
    event: &Request,
    now: OffsetDateTime,
) -> Result<Response<Body>, ApiError> {
    let (principal, store) = authorize_store(event, Action::CreateRequest)?;
    let key = idempotency_key(event.headers())?;
    let bytes = body_bytes(event)?;
    let new = parse_json::<NewRequestBody>(bytes)?.validate()?;
    let request = SupervisorRequest::new(
        store.clone(),
        new,
        principal.subject.clone(),
        now,
        app.default_request_timeout,
    );
    let body =
        serde_json::to_string(&request.view()).map_err(|e| ApiError::Internal(e.to_string()))?;

    let Some(key) = key else {
        app.requests.create(&request, None).await?;
        tracing::info!(store = %store, request_id = %request.request_id, "request created");
        return created(&store, &request.request_id, body, false);
    };
    let record = IdempotencyRecord {
        key,
        fingerprint: fingerprint(&principal.subject, bytes),
        request_id: request.request_id,
        response_body: body,
        expires_at: now + IDEMPOTENCY_WINDOW,
    };
    for attempt in 1..=ATTEMPTS {
        match app.requests.create(&request, Some(&record)).await {
            Ok(()) => {
                tracing::info!(store = %store, request_id = %request.request_id, "request created");
                return created(&store, &request.request_id, record.response_body, false);
            }
            // The key is taken, or a create with it is in flight: answer as the first did.
            Err(StoreError::ConditionFailed | StoreError::TransactionConflict) => {
                // An expired record reads as none: the next attempt replaces it.
                if let Some(first) = app
                    .requests
                    .idempotency_record(&store, &record.key, now)
                    .await?
                {
                    if first.fingerprint != record.fingerprint {
                        return Err(ApiError::Validation {
                            message: "Idempotency-Key was already used with a different request"
                                .into(),
                            fields: vec![shared::error::FieldError::new(
                                "Idempotency-Key",
                                "already used with a different request",
                            )],
                        });
                    }
                    return created(&store, &first.request_id, first.response_body, true);
                }
                backoff(attempt).await;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::conflict(
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being created; retry shortly",
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if !headers.contains_key(IDEMPOTENCY_KEY) {
        return Ok(None);
    }
    match header_str(headers, IDEMPOTENCY_KEY) {
        Some(key)
            if !key.is_empty()
                && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
                && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-128 printable ASCII characters",
        )),
    }
}

/// Identifies "the same request": the same caller sending the same bytes.
fn fingerprint(subject: &str, body: &[u8]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    context.update(subject.as_bytes());
    context.update(&[0]);
    context.update(body);
    context
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn created(
    store: &StoreId,
    id: &RequestId,
    body: String,
    replayed: bool,
) -> Result<Response<Body>, ApiError> {
    let mut response = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::LOCATION, request_location(store, id));
    if replayed {
        response = response.header("idempotent-replayed", "true");
    }
    response
        .body(Body::Text(body))
        .map_err(|e| ApiError::Internal(e.to_string()))
}
