//! `GET /stores/{storeId}/supervisor-requests/{requestId}/events`: the audit trail of one
//! request, in order (by version): created, edited, answered, timed out, withdrawn or
//! discarded; each with who, what changed, and when. A withdrawn request's trail outlives
//! it. One Query per page; `limit` and `cursor` as on every list.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::RequestId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json, path_param, respond};
use shared::edge::pagination::{Cursors, ListBody, limit};
use shared::store::requests::EventPosition;
use shared::store::table::{Entity, StoreError};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, list(app, &event).await)
}

async fn list(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ReadRequests)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let limit = limit(event)?;
    let cursors = Cursors::new(
        app.cursor_key()?,
        format!("list-request-events|{store}|{id}|{}", principal.subject),
    );
    let from = cursors.position::<EventPosition>(event)?;
    let first_page = from.is_none();
    let (events, next) = app.requests.events(&store, &id, from, limit).await?;
    // Every request has at least its `created` event: none means no such request.
    if first_page && events.is_empty() {
        return Err(StoreError::NotFound(Entity::Request).into());
    }
    json(
        StatusCode::OK,
        &ListBody {
            items: events.iter().map(|e| e.view()).collect(),
            next_cursor: cursors.seal(next),
        },
    )
}
