//! `DELETE /stores/{storeId}/items/{itemId}`: removes an item and counts it out of its
//! master item, in one transaction (admin). An `If-Match` header, if sent, must match. A
//! pinned item that is deleted stops being the preferred item.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::ItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{if_match_version, no_content, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, delete(app, &event).await)
}

async fn delete(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let id = path_param(event, "itemId", ItemId::parse)?;
    let expected = if_match_version(event.headers())?;
    app.catalog.delete_item(&store, &id, expected).await?;
    tracing::info!(store = %store, item_id = %id, "item deleted");
    no_content()
}
