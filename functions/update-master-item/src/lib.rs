//! `PATCH /stores/{storeId}/master-items/{masterItemId}`: renames or re-describes a master
//! item (admin). `If-Match` or `version` is required; one conditional update.

use shared::App;
use shared::catalog::MasterItemEditBody;
use shared::error::ApiError;
use shared::http::{ApiRequest, ApiResponse, StatusCode};
use shared::http::{expected_version, json_body, json_with_etag, path_param, respond};
use shared::ids::MasterItemId;
use shared::principal::{Action, authorize_store};

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
