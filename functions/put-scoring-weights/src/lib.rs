//! `PUT /stores/{storeId}/scoring-weights`: replaces the store's weights (admin). Every field
//! is required: `priceWeight`, `statusWeight` (0–100, not both 0), `activeScore` and
//! `outOfStockScore` (0–100, out of stock never above active).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog::{ScoringWeights, parse_weights};
use shared::error::ApiError;
use shared::http::{json, json_body, respond};
use shared::principal::{Action, authorize_store};

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(put(app, &event).await)
}

async fn put(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let weights = parse_weights(json_body::<ScoringWeights>(event)?)?;
    app.catalog.put_weights(&store, &weights).await?;
    tracing::info!(store = %store, "scoring weights replaced");
    json(StatusCode::OK, &weights)
}
