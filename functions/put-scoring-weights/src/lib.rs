//! `PUT /stores/{storeId}/scoring-weights`: replaces the store's weights (admin). Every field
//! is required: `priceWeight`, `statusWeight` (0–100, not both 0), `activeScore` and
//! `outOfStockScore` (0–100, out of stock never above active). `If-Match` (the GET's `ETag`;
//! `"0"` while the defaults apply) makes the replacement conditional: 412 when stale.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::ScoringWeightsBody;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{if_match_version, json_body, json_with_etag, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, put(app, &event).await)
}

async fn put(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let expected = if_match_version(event.headers())?;
    let weights = json_body::<ScoringWeightsBody>(event)?.validate()?;
    let version = app.catalog.put_weights(&store, &weights, expected).await?;
    tracing::info!(store = %store, version, "scoring weights replaced");
    json_with_etag(StatusCode::OK, &weights, version)
}
