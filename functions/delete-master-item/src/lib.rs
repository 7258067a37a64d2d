//! `DELETE /stores/{storeId}/master-items/{masterItemId}`: removes a master item (admin).
//! A master item that still has items is refused with 409 `master_item_has_items`: items are
//! deleted first, so none is ever orphaned. An `If-Match` header, if sent, must match.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::MasterItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{if_match_version, no_content, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, delete(app, &event).await)
}

async fn delete(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let id = path_param(event, "masterItemId", MasterItemId::parse)?;
    let expected = if_match_version(event.headers())?;
    app.catalog.delete_master(&store, &id, expected).await?;
    tracing::info!(store = %store, master_item_id = %id, "master item deleted");
    no_content()
}
