//! `PATCH /stores/{storeId}/items/{itemId}`: changes an item's vendor, price or status
//! (admin). `If-Match` or `version` is required; a stale one gets 412 and changes nothing.
//! A price must stay in the master item's currency.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::catalog::ItemEditBody;
use shared::catalog_store::ITEM_NOT_FOUND;
use shared::error::ApiError;
use shared::http::{expected_version, json_body, json_with_etag, path_param, respond};
use shared::ids::ItemId;
use shared::principal::{Action, authorize_store};
use shared::store::StoreError;
use time::OffsetDateTime;

const ATTEMPTS: u32 = 5;

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(update(app, &event).await)
}

async fn update(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let id = path_param(event, "itemId", ItemId::parse)?;
    let (edit, body_version) = json_body::<ItemEditBody>(event)?.validate()?;
    let expected = expected_version(event.headers(), body_version)?;
    for _ in 0..ATTEMPTS {
        let current = app
            .catalog
            .get_item(&store, &id)
            .await?
            .ok_or(ITEM_NOT_FOUND)?;
        if current.version != expected {
            return Err(ApiError::PreconditionFailed {
                current: current.version,
            });
        }
        let next = current.edited(edit.clone(), OffsetDateTime::now_utc());
        // `false`: it changed between the read and the write; the next read judges how.
        if app.catalog.replace_item(&current, &next).await? {
            tracing::info!(store = %store, item_id = %id, version = next.version, "item edited");
            return json_with_etag(StatusCode::OK, &next.view(), next.version);
        }
    }
    Err(StoreError::TransactionConflict.into())
}
