//! `PATCH /stores/{storeId}/supervisor-requests/{requestId}`: edits the priority or details
//! of a pending request. Optimistic concurrency: `If-Match: "<version>"` or `version` in the
//! body is required; a stale one gets 412 and changes nothing. A new priority moves the queue
//! entry, atomically, with its `edited` event. Associates may edit only the requests they
//! raised. An edit at or after the deadline gets 409 `request_timed_out`.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::audit::Actor;
use shared::domain::ids::RequestId;
use shared::domain::supervisor_request::RequestEditBody;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{expected_version, json_body, path_param, request_json, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, update(app, &event).await)
}

async fn update(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::EditRequest)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let (edit, body_version) = json_body::<RequestEditBody>(event)?.validate()?;
    let expected = expected_version(event.headers(), body_version)?;
    let now = app.clock.now();
    let updated = app
        .requests
        .modify(&store, &id, now, |current| {
            principal.may_edit(current)?;
            if expected.is_some_and(|expected| expected != current.version) {
                return Err(ApiError::PreconditionFailed {
                    current: current.version,
                });
            }
            Ok(current.edit(&edit, Actor::from(&principal), now)?)
        })
        .await?
        .ok_or_else(|| ApiError::Internal("edit returned no request".into()))?;
    tracing::info!(store = %store, request_id = %id, version = updated.version, "request edited");
    request_json(StatusCode::OK, &updated)
}
