//! `DELETE /stores/{storeId}/supervisor-requests/{requestId}`: removes a *pending* request,
//! its queue entry and record together, and records who did it in the same transaction: a
//! `withdrawn` event when its creator takes it back, `discarded` when a supervisor or admin
//! removes someone else's. Answered and timed-out requests are history: 409
//! `request_is_history`. An `If-Match` header, if sent, must match.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::audit::Actor;
use shared::domain::ids::RequestId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{if_match_version, no_content, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, delete(app, &event).await)
}

async fn delete(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::DeleteRequest)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let expected = if_match_version(event.headers())?;
    let now = app.clock.now();
    app.requests
        .modify(&store, &id, now, |current| {
            principal.may_remove(current)?;
            if let Some(version) = expected
                && version != current.version
            {
                return Err(ApiError::PreconditionFailed {
                    current: current.version,
                });
            }
            Ok(current.withdraw(Actor::from(&principal), now)?)
        })
        .await?;
    tracing::info!(store = %store, request_id = %id, by = %principal.subject, "request removed");
    no_content()
}
