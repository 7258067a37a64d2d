//! `GET /stores/{storeId}/master-items/{masterItemId}`: one master item with its `ETag`.

use shared::App;
use shared::catalog_store::MASTER_NOT_FOUND;
use shared::error::ApiError;
use shared::http::{ApiRequest, ApiResponse, StatusCode};
use shared::http::{json_with_etag, path_param, respond};
use shared::ids::MasterItemId;
use shared::principal::{Action, authorize_store};

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
