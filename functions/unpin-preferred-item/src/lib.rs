//! `DELETE /stores/{storeId}/master-items/{masterItemId}/preferred-item/pin`: removes the
//! manual choice (admin); the score decides again. Idempotent: 204 whether or not a pin was
//! set; 404 only if the master item does not exist.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::MasterItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::http::{no_content, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, unpin(app, &event).await)
}

async fn unpin(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let master = path_param(event, "masterItemId", MasterItemId::parse)?;
    app.catalog.unpin(&store, &master).await?;
    no_content()
}
