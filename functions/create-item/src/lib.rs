//! `POST /stores/{storeId}/master-items/{masterItemId}/items`: adds a vendor item as a
//! candidate of a master item (admin). Its price must be in the master item's currency.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog::NewItemBody;
use shared::error::ApiError;
use shared::http::{json_body, json_with_etag, path_param, respond, with_location};
use shared::ids::MasterItemId;
use shared::principal::{Action, authorize_store};
use time::OffsetDateTime;

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(create(app, &event).await)
}

async fn create(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let master = path_param(event, "masterItemId", MasterItemId::parse)?;
    let item = json_body::<NewItemBody>(event)?.into_item(
        store.clone(),
        master,
        OffsetDateTime::now_utc(),
    )?;
    app.catalog.create_item(&item).await?;
    tracing::info!(store = %store, item_id = %item.item_id, "item created");
    with_location(
        json_with_etag(StatusCode::CREATED, &item.view(), item.version)?,
        &format!("/stores/{store}/items/{}", item.item_id),
    )
}
