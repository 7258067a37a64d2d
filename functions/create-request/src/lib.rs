//! `POST /stores/{storeId}/supervisor-requests`: an associate raises a request.
//!
//! With an `Idempotency-Key` header (scoped to the caller), a retry of the same body returns
//! the first answer (same body, `Idempotent-Replayed: true`) and creates nothing; the same
//! key with another body is refused with 422 (the protocol: `shared::store::idempotency`). The
//! request and its `created` event are written in one transaction.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::audit::{Actor, EventType, RequestEvent};
use shared::domain::supervisor_request::{NewRequestBody, SupervisorRequest};
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{
    body_bytes, create_idempotently, idempotency_key, parse_json, request_location, respond,
};
use shared::store::idempotency::{
    Fingerprint, IdempotencyKey, IdempotencyRecord, IdempotentCreate,
};
use shared::store::table::StoreError;
use shared::telemetry::emf::{Event, Unit};
use time::OffsetDateTime;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, create(app, &event, app.clock.now()).await)
}

async fn create(
    app: &App,
    event: &ApiRequest,
    now: OffsetDateTime,
) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::CreateRequest)?;
    let key = idempotency_key(event, &principal.subject)?;
    let bytes = body_bytes(event)?;
    let new = parse_json::<NewRequestBody>(bytes)?.validate()?;
    let request = SupervisorRequest::new(
        store.clone(),
        new,
        principal.subject.clone(),
        now,
        app.default_request_timeout,
    );
    let created = RequestEvent::of(
        EventType::Created,
        None,
        Some(&request),
        Actor::from(&principal),
        request.created_at,
    );
    let body = serde_json::to_string(&request.view()).map_err(|e| ApiError::Internal(e.into()))?;
    let response = create_idempotently(
        key,
        || Fingerprint::of(&principal.subject, "", bytes),
        request_location(&store, &request.request_id),
        body,
        now,
        &NewRequest {
            app,
            request: &request,
            created: &created,
            now,
        },
    )
    .await?;
    Ok(response)
}

/// The request and its `created` event, written together (with the key's record, if any).
struct NewRequest<'a> {
    app: &'a App,
    request: &'a SupervisorRequest,
    created: &'a RequestEvent,
    now: OffsetDateTime,
}

impl IdempotentCreate for NewRequest<'_> {
    type Error = StoreError;

    /// Logs and counts the request once it is stored: a replay stores nothing, and says
    /// nothing.
    async fn create(&self, record: Option<&IdempotencyRecord>) -> Result<(), StoreError> {
        self.app
            .requests
            .create(self.request, self.created, record)
            .await?;
        let request = self.request;
        tracing::info!(store = %request.store_id, request_id = %request.request_id, "request created");
        Event::new("supervisor-requests")
            .dimension("Priority", request.priority.as_str())
            .dimension("RequestType", request.request_type.as_str())
            .metric("RequestsCreated", Unit::Count, 1.0)
            .store(request.store_id.as_str())
            .property("requestId", request.request_id.to_string())
            .emit();
        Ok(())
    }

    async fn find(&self, key: &IdempotencyKey) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.app
            .requests
            .idempotency_record(&self.request.store_id, key, self.now)
            .await
    }
}
