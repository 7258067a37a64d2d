//! `GET /stores/{storeId}/scoring-weights`: the store's weights, or the defaults, with their
//! `ETag` (`"0"` for the defaults).

use shared::App;
use shared::auth::principal::Action;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json_with_etag, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, get(app, &event).await)
}

async fn get(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let (weights, version) = app.catalog.weights(&store).await?;
    json_with_etag(StatusCode::OK, &weights, version)
}
