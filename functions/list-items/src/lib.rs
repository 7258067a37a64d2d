//! `GET /stores/{storeId}/master-items/{masterItemId}/items`: a master item's candidates, a
//! page at a time (`limit`, sealed `cursor`), optionally of one `status` (a filter in DynamoDB,
//! after the key condition: pages may come back short); 404 if the master item does not exist.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::ItemStatus;
use shared::domain::ids::MasterItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json, path_param, query_param, respond};
use shared::edge::pagination::{Cursors, ListBody, limit};
use shared::store::catalog::MASTER_NOT_FOUND;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, list(app, &event).await)
}

async fn list(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ReadCatalog)?;
    let master = path_param(event, "masterItemId", MasterItemId::parse)?;
    let status = match query_param(event, "status")? {
        Some(raw) => Some(ItemStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid_query(
                "status",
                "status must be ACTIVE, OUT_OF_STOCK, INACTIVE or DISCONTINUED",
            )
        })?),
        None => None,
    };
    let limit = limit(event)?;
    let cursors = Cursors::new(
        app.cursor_key()?,
        format!(
            "list-items|{store}|{master}|{}|{}",
            status.map_or("", ItemStatus::as_str),
            principal.subject
        ),
    );
    let after = cursors.position::<String>(event)?;
    let (items, next) = app
        .catalog
        .list_items(&store, &master, after, limit, status)
        .await?
        .ok_or(MASTER_NOT_FOUND)?;
    json(
        StatusCode::OK,
        &ListBody {
            items: items.iter().map(|i| i.view()).collect(),
            next_cursor: cursors.seal(next),
        },
    )
}
