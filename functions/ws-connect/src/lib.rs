//! WebSocket `$connect`: who may listen, to which store.
//!
//! Browsers cannot set an `Authorization` header on a WebSocket, so the token comes in the
//! query string: `wss://…/?store=store-1&token=<JWT>`. It is verified exactly as the HTTP
//! authorizer verifies one (same keys, claims and hardening), never logged; the store must
//! be one the token names. The connection is then recorded with its principal, for `notify`,
//! until the token expires.
//! A refusal is a 401 or 403, and API Gateway closes the connection.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use shared::App;
use shared::auth::Authenticator;
use shared::auth::principal::Principal;
use shared::domain::ids::StoreId;
use shared::edge::error::chain;
use shared::store::connections::{CONNECTION_LIFETIME, Connection};
use time::OffsetDateTime;

pub async fn handler(
    app: &App,
    authenticator: &Authenticator,
    event: &ApiGatewayWebsocketProxyRequest,
) -> ApiGatewayProxyResponse {
    let status = match connect(app, authenticator, event).await {
        Ok(()) => 200,
        Err(status) => status,
    };
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response
}

async fn connect(
    app: &App,
    authenticator: &Authenticator,
    event: &ApiGatewayWebsocketProxyRequest,
) -> Result<(), i64> {
    let query = &event.query_string_parameters;
    let Some(connection_id) = event.request_context.connection_id.clone() else {
        tracing::warn!("$connect without a connection id");
        return Err(400);
    };
    let store = query
        .first("store")
        .and_then(|raw| StoreId::parse(raw).ok())
        .ok_or(400)?;
    let bearer = query.first("token").map(|token| format!("Bearer {token}"));
    let verified = authenticator
        .verify_token(bearer.as_deref())
        .await
        .map_err(|denial| {
            tracing::info!(reason = ?denial, "websocket connection denied");
            401
        })?;
    let principal = verified.principal;
    if !principal.stores.contains(&store) {
        tracing::info!(sub = %principal.subject, store = %store, "websocket connection denied: store");
        return Err(403);
    }
    let connection = Connection {
        connection_id,
        listener: Principal {
            subject: principal.subject,
            role: principal.role,
            stores: vec![store],
        },
        // Pushes stop when the token expires (notify skips the record, TTL removes it),
        // even though API Gateway would keep the socket open for its two hours.
        expires_at: expires_at(OffsetDateTime::now_utc(), verified.expires_at),
    };
    app.connections.put(&connection).await.map_err(|error| {
        tracing::error!(error = %chain(&error), "could not record the connection");
        500
    })?;
    tracing::info!(store = %connection.store(), role = connection.listener.role.as_str(), "websocket connected");
    Ok(())
}

/// The connection's record lives as long as the shorter of API Gateway's two hours and the
/// token that opened it.
fn expires_at(now: OffsetDateTime, token_expires_at: u64) -> OffsetDateTime {
    let token = i64::try_from(token_expires_at)
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .unwrap_or(now);
    token.min(now + CONNECTION_LIFETIME)
}
