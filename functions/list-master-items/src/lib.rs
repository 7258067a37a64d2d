//! `GET /stores/{storeId}/master-items`: the store's catalogue, a page at a time, in creation
//! order (`limit`, sealed `cursor`).

use shared::App;
use shared::auth::principal::Action;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json, respond};
use shared::edge::pagination::{Cursors, ListBody, limit};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, list(app, &event).await)
}

async fn list(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ReadCatalog)?;
    let limit = limit(event)?;
    let cursors = Cursors::new(
        app.cursor_key()?,
        format!("list-master-items|{store}|{}", principal.subject),
    );
    let after = cursors.position::<String>(event)?;
    let (masters, next) = app.catalog.list_masters(&store, after, limit).await?;
    json(
        StatusCode::OK,
        &ListBody {
            items: masters.iter().map(|m| m.view()).collect(),
            next_cursor: cursors.seal(next),
        },
    )
}
