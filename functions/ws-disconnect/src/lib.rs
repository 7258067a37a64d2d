//! WebSocket `$disconnect`: the connection's record goes (TTL removes any that a missed
//! `$disconnect` leaves, and `notify` removes those API Gateway answers 410 for).

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use shared::App;
use shared::edge::error::chain;

pub async fn handler(
    app: &App,
    event: &ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = match &event.request_context.connection_id {
        Some(id) => match app.connections.delete(id).await {
            Ok(()) => 200,
            Err(error) => {
                tracing::warn!(error = %chain(&error), "could not remove the connection");
                500
            }
        },
        None => 400,
    };
    response
}
