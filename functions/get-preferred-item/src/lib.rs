//! `GET /stores/{storeId}/master-items/{masterItemId}/preferred-item`: the winning item, its
//! score with the per-factor breakdown, and every candidate ranked, so the choice explains
//! itself. A pin on an eligible item wins over the score (`selection: "PINNED"`); a pin on an
//! item since deleted or made ineligible is reported and ignored. A master item without items
//! has no preferred item: 404; one whose items are all ineligible: 409
//! `no_eligible_candidate`.
//!
//! Two DynamoDB calls, made concurrently: one Query for the master item and its candidates,
//! one GetItem for the weights.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::MasterItemId;
use shared::domain::preferred::{NoPreferredItem, choose};
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json, path_param, respond};
use shared::store::table::{Entity, StoreError};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, preferred(app, &event).await)
}

async fn preferred(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadCatalog)?;
    let master_id = path_param(event, "masterItemId", MasterItemId::parse)?;
    let (found, weights) = tokio::join!(
        app.catalog.master_with_candidates(&store, &master_id),
        app.catalog.weights(&store)
    );
    let (master, items) = found?.ok_or(StoreError::NotFound(Entity::MasterItem))?;
    let (weights, _) = weights?;
    match choose(&master, &items, weights) {
        Ok(preferred) => json(StatusCode::OK, &preferred),
        // Nothing to choose from: a GET that finds nothing, as a client expects of one.
        Err(NoPreferredItem::NoItems) => Err(ApiError::NotFound(
            "the master item has no items yet: there is no preferred item",
        )),
        Err(NoPreferredItem::NoEligibleCandidate { items }) => Err(ApiError::conflict(
            "no_eligible_candidate",
            format!("no eligible candidate among {items} item(s): none is ACTIVE or OUT_OF_STOCK"),
        )),
    }
}
