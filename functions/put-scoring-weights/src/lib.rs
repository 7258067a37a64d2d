//! `PUT /stores/{storeId}/scoring-weights`: replaces the store's weights (admin). Every field
//! is required: `priceWeight`, `statusWeight` (0–100, not both 0), `activeScore` and
//! `outOfStockScore` (0–100, out of stock never above active).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog::ScoringWeightsBody;
use shared::error::ApiError;
use shared::http::{json, json_body, respond};
use shared::principal::{Action, authorize_store};

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(put(app, &event).await)
}

async fn put(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let weights = json_body::<ScoringWeightsBody>(event)?.validate()?;
    app.catalog.put_weights(&store, &weights).await?;
    tracing::info!(store = %store, "scoring weights replaced");
    json(StatusCode::OK, &weights)
}
