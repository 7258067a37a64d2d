//! `GET /stores/{storeId}/master-items/{masterItemId}`: one master item with its `ETag`.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::MasterItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json_with_etag, path_param, respond};
use shared::store::catalog::MASTER_NOT_FOUND;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, get(app, &event).await)
}

async fn get(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let id = path_param(event, "masterItemId", MasterItemId::parse)?;
    let master = app
        .catalog
        .get_master(&store, &id)
        .await?
        .ok_or(MASTER_NOT_FOUND)?;
    json_with_etag(StatusCode::OK, &master.view(), master.version)
}
