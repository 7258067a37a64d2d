//! `GET /stores/{storeId}/supervisor-requests/{requestId}`: one request, with its version
//! and `ETag`. One consistent key read.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::error::ApiError;
use shared::http::{path_param, request_json, respond};
use shared::ids::RequestId;
use shared::principal::{Action, authorize_store};

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(get(app, &event).await)
}

async fn get(app: &App, event: &Request) -> Result<Response<Body>, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadRequests)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let request = app
        .requests
        .get(&store, &id)
        .await?
        .ok_or(ApiError::NotFound("supervisor request not found"))?;
    request_json(StatusCode::OK, &request)
}
