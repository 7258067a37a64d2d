//! `DELETE /stores/{storeId}/supervisor-requests/{requestId}`: removes a request, pending or
//! not, its queue entry and record together. An `If-Match` header, if sent, must match.

use lambda_http::{Body, Request, Response};
use shared::App;
use shared::error::ApiError;
use shared::http::{if_match_version, no_content, path_param, respond};
use shared::ids::RequestId;
use shared::principal::{Action, authorize_store};
use shared::store::Change;

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(delete(app, &event).await)
}

async fn delete(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (principal, store) = authorize_store(event, Action::DeleteRequest)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let expected = if_match_version(event.headers())?;
    app.requests
        .modify(&store, &id, |current| match expected {
            Some(version) if version != current.version => Err(ApiError::PreconditionFailed {
                current: current.version,
            }),
            _ => Ok(Change::Delete),
        })
        .await?;
    tracing::info!(store = %store, request_id = %id, by = %principal.subject, "request deleted");
    no_content()
}
