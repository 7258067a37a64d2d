//! `GET /stores/{storeId}/supervisor-requests/{requestId}`: one request, with its version
//! and `ETag`. One consistent key read. A pending request past its deadline is shown as
//! `TIMEOUT` (what it is), even before the sweeper moves it.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::ids::RequestId;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{path_param, request_json, respond};
use shared::store::table::{Entity, StoreError};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, get(app, &event).await)
}

async fn get(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadRequests)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let request = app
        .requests
        .get(&store, &id)
        .await?
        .ok_or(StoreError::NotFound(Entity::Request))?;
    // Past its deadline it is timed out, moved by the sweeper or not.
    request_json(StatusCode::OK, &request.as_seen_at(app.clock.now()))
}
