//! `GET /stores/{storeId}/scoring-weights`: the store's weights, or the defaults, with their
//! `ETag` (`"0"` for the defaults).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::error::ApiError;
use shared::http::{json_with_etag, respond};
use shared::principal::{Action, authorize_store};

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(&event, get(app, &event).await)
}

async fn get(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let (weights, version) = app.catalog.weights(&store).await?;
    json_with_etag(StatusCode::OK, &weights, version)
}
