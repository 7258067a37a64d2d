//! `GET /stores/{storeId}/items/{itemId}`: one item with its `ETag`; one key read.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::ItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json_with_etag, path_param, respond};
use shared::store::catalog::ITEM_NOT_FOUND;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, get(app, &event).await)
}

async fn get(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let id = path_param(event, "itemId", ItemId::parse)?;
    let item = app
        .catalog
        .get_item(&store, &id)
        .await?
        .ok_or(ITEM_NOT_FOUND)?;
    json_with_etag(StatusCode::OK, &item.view(), item.version)
}
