//! `PATCH /stores/{storeId}/items/{itemId}`: changes an item's vendor, price or status
//! (admin). `If-Match` or `version` is required; a stale one gets 412 and changes nothing.
//! A price must stay in the master item's currency. One conditional UpdateItem.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::ItemEditBody;
use shared::domain::ids::ItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{expected_version, json_body, json_with_etag, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, update(app, &event).await)
}

async fn update(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let id = path_param(event, "itemId", ItemId::parse)?;
    let (edit, body_version) = json_body::<ItemEditBody>(event)?.validate()?;
    let expected = expected_version(event.headers(), body_version)?;
    let edited = app
        .catalog
        .update_item(&store, &id, &edit, expected, app.clock.now())
        .await?;
    tracing::info!(store = %store, item_id = %id, version = edited.version, "item edited");
    json_with_etag(StatusCode::OK, &edited.view(), edited.version)
}
