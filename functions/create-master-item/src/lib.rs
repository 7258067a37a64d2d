//! `POST /stores/{storeId}/master-items`: adds a product to the store's catalogue (admin).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog::NewMasterItemBody;
use shared::error::ApiError;
use shared::http::{json_body, json_with_etag, respond, with_location};
use shared::principal::{Action, authorize_store};
use time::OffsetDateTime;

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(create(app, &event).await)
}

async fn create(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let master = json_body::<NewMasterItemBody>(event)?
        .into_master_item(store.clone(), OffsetDateTime::now_utc())?;
    app.catalog.create_master(&master).await?;
    tracing::info!(store = %store, master_item_id = %master.master_item_id, "master item created");
    with_location(
        json_with_etag(StatusCode::CREATED, &master.view(), master.version)?,
        &format!("/stores/{store}/master-items/{}", master.master_item_id),
    )
}
