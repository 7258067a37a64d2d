//! `PUT /stores/{storeId}/master-items/{masterItemId}/preferred-item/pin`: a manager's manual
//! choice (admin), `{"itemId": "…"}`. It wins over the score until removed, or until the item
//! becomes ineligible or is deleted. Only an eligible candidate of this master can be pinned.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::{Pin, PinBody};
use shared::domain::ids::MasterItemId;
use shared::domain::millis::to_millis_precision;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json, json_body, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, pin(app, &event).await)
}

async fn pin(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ManageCatalog)?;
    let master = path_param(event, "masterItemId", MasterItemId::parse)?;
    let body = json_body::<PinBody>(event)?;
    let pin = Pin {
        item_id: body.item_id,
        pinned_by: principal.subject,
        pinned_at: to_millis_precision(app.clock.now()),
    };
    app.catalog.pin(&store, &master, &pin).await?;
    tracing::info!(store = %store, master_item_id = %master, item_id = %pin.item_id, "pinned");
    json(
        StatusCode::OK,
        &shared::domain::catalog::PinView {
            item_id: pin.item_id,
            pinned_by: &pin.pinned_by,
            pinned_at: pin.pinned_at,
        },
    )
}
