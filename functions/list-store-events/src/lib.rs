//! `GET /stores/{storeId}/supervisor-request-events`: every change of every request of the
//! store, newest first, for admins (the auditor's view). One Query on the events table's
//! time index per page; `limit` and `cursor` as on every list.

use shared::App;
use shared::auth::principal::Action;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json, respond};
use shared::edge::pagination::{Cursors, ListBody, limit};
use shared::store::requests::EventPosition;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, list(app, &event).await)
}

async fn list(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ReadStoreEvents)?;
    let limit = limit(event)?;
    let cursors = Cursors::new(
        app.cursor_key()?,
        format!("list-store-events|{store}|{}", principal.subject),
    );
    let from = cursors.position::<EventPosition>(event)?;
    let (events, next) = app.requests.store_events(&store, from, limit).await?;
    json(
        StatusCode::OK,
        &ListBody {
            items: events.iter().map(|e| e.view()).collect(),
            next_cursor: cursors.seal(next),
        },
    )
}
