//! `POST /stores/{storeId}/supervisor-requests`: an associate raises a request.
//!
//! With an `Idempotency-Key` header, a retry of the same body by the same caller returns the
//! first answer (same body, `Idempotent-Replayed: true`) and creates nothing; the same key
//! with another body is refused with 422 (the protocol: `shared::idempotency`). The request
//! and its `created` event are written in one transaction.

use lambda_http::http::{HeaderMap, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::audit::{Actor, EventType, RequestEvent};
use shared::error::ApiError;
use shared::http::{body_bytes, header_str, parse_json, request_location, respond};
use shared::idempotency::{
    self, Fingerprint, IdempotencyKey, IdempotencyRecord, NextAction, next_action,
};
use shared::principal::{Action, authorize_store};
use shared::supervisor_request::{NewRequestBody, SupervisorRequest};
use shared::table::{StoreError, backoff};
use time::OffsetDateTime;

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
    let event = RequestEvent::of(
        EventType::Created,
        None,
        Some(&request),
        Actor::from(&principal),
        request.created_at,
    );
    let location = request_location(&store, &request.request_id);
    let body =
        serde_json::to_string(&request.view()).map_err(|e| ApiError::Internal(e.to_string()))?;

    let Some(key) = key else {
        app.requests.create(&request, &event, None).await?;
        tracing::info!(store = %store, request_id = %request.request_id, "request created");
        return created(location, body, false);
    };
    let record = IdempotencyRecord::new(
        key,
        Fingerprint::of(&principal.subject, bytes),
        location,
        body,
        now,
    );
    for attempt in 1..=ATTEMPTS {
        match app.requests.create(&request, &event, Some(&record)).await {
            Ok(()) => {
                tracing::info!(store = %store, request_id = %request.request_id, "request created");
                return created(record.location, record.response_body, false);
            }
            // The key is taken, or a create with it is in flight: answer as the first did.
            Err(StoreError::ConditionFailed(_) | StoreError::TransactionConflict) => {
                let found = app
                    .requests
                    .idempotency_record(&store, &record.key, now)
                    .await?;
                match next_action(&record.fingerprint, found)? {
                    NextAction::Replay(first) => {
                        return created(first.location, first.response_body, true);
                    }
                    // An expired record reads as none: the next attempt replaces it.
                    NextAction::Retry => backoff(attempt).await,
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::conflict(
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being created; retry shortly",
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    if !headers.contains_key(idempotency::HEADER) {
        return Ok(None);
    }
    let raw = header_str(headers, idempotency::HEADER).unwrap_or_default();
    Ok(Some(IdempotencyKey::parse(raw)?))
}

fn created(location: String, body: String, replayed: bool) -> Result<Response<Body>, ApiError> {
    let mut response = Response::builder()
        .status(StatusCode::CREATED)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::LOCATION, location);
    if replayed {
        response = response.header("idempotent-replayed", "true");
    }
    response
        .body(Body::Text(body))
        .map_err(|e| ApiError::Internal(e.to_string()))
}
