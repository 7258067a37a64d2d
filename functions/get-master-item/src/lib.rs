//! `GET /stores/{storeId}/master-items/{masterItemId}`: one master item with its `ETag`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog_store::MASTER_NOT_FOUND;
use shared::error::ApiError;
use shared::http::{json_with_etag, path_param, respond};
use shared::ids::MasterItemId;
use shared::principal::{Action, authorize_store};

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(&event, get(app, &event).await)
}

async fn get(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let id = path_param(event, "masterItemId", MasterItemId::parse)?;
    let master = app
        .catalog
        .get_master(&store, &id)
        .await?
        .ok_or(MASTER_NOT_FOUND)?;
    json_with_etag(StatusCode::OK, &master.view(), master.version)
}
