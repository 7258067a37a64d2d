//! `GET /stores/{storeId}/items/{itemId}`: one item with its `ETag`; one key read.

use shared::App;
use shared::catalog_store::ITEM_NOT_FOUND;
use shared::error::ApiError;
use shared::http::{ApiRequest, ApiResponse, StatusCode};
use shared::http::{json_with_etag, path_param, respond};
use shared::ids::ItemId;
use shared::principal::{Action, authorize_store};

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
