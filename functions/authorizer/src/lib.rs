//! The API Gateway HTTP API Lambda authorizer (REQUEST type, payload 2.0, simple responses).
//!
//! It verifies `Authorization: Bearer <JWT>` with [`shared::auth::Authenticator`] (keys from
//! the issuer's OIDC discovery, fetched at first need and kept while warm) and, when
//! the token holds, passes `sub`, `role` and `stores` to the handlers as context. A bad token
//! is a clean deny (`isAuthorized: false`), never an error, and neither is logged with the
//! token: only the reason.

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_http::http::header::AUTHORIZATION;
use serde_json::Value;
use shared::auth::Authenticator;
use shared::edge::http::header_str;

pub async fn handler(
    authenticator: &Authenticator,
    event: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse<Value> {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::<Value>::default();
    let authorization = header_str(&event.headers, AUTHORIZATION.as_str());
    match authenticator
        .authorize(authorization, event.route_key.as_deref())
        .await
    {
        Ok(principal) => {
            response.is_authorized = true;
            response.context = Value::Object(principal.to_context());
        }
        Err(_) => {
            response.is_authorized = false;
            response.context = Value::Object(Default::default());
        }
    }
    response
}
