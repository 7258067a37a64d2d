//! `PATCH /stores/{storeId}/master-items/{masterItemId}`: renames or re-describes a master
//! item (admin). `If-Match` or `version` is required; one conditional update.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::catalog::MasterItemEditBody;
use shared::domain::ids::MasterItemId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{expected_version, json_body, json_with_etag, path_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, update(app, &event).await)
}

async fn update(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ManageCatalog)?;
    let id = path_param(event, "masterItemId", MasterItemId::parse)?;
    let (edit, body_version) = json_body::<MasterItemEditBody>(event)?.validate()?;
    let expected = expected_version(event.headers(), body_version)?;
    let master = app
        .catalog
        .update_master(&store, &id, &edit, expected, app.clock.now())
        .await?;
    json_with_etag(StatusCode::OK, &master.view(), master.version)
}
