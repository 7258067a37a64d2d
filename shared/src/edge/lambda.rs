//! Wiring shared by every function's `main`: logging, configuration built once, the runtime,
//! and the thin adapter between API Gateway's events and the handlers' [`ApiRequest`] /
//! [`ApiResponse`]: the only place that reads an event's shape.

use std::collections::HashMap;
use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};

use crate::auth::principal::Principal;
use crate::edge::config::App;
use crate::edge::error::ApiError;
use crate::edge::http::{ApiRequest, ApiResponse};
use crate::edge::routes::{self, Operation, Route};

/// Initialises logging (JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`; level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`). Request and trace ids come from the runtime's span.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// What a function needs beyond the tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// It lists, so it seals and opens cursors: the cursor key must be configured.
    pub cursor_key: bool,
}

/// Builds the [`App`] once at init, or refuses to start with one clear log line: a
/// deployment with a forgotten or out-of-range setting fails loudly, never quietly weak.
pub async fn init_app(needs: Needs) -> Result<&'static App, lambda_http::Error> {
    init_app_on(&crate::edge::config::load_sdk_config().await, needs).await
}

/// As [`init_app`], on an SDK configuration the function loaded already (it calls another
/// AWS service too).
pub async fn init_app_on(
    sdk: &aws_config::SdkConfig,
    needs: Needs,
) -> Result<&'static App, lambda_http::Error> {
    let built = App::from_sdk_config(sdk).await.and_then(|app| {
        if needs.cursor_key && app.cursor_key.is_none() {
            Err("this function lists: set CURSOR_SECRET_ARN (or CURSOR_SECRET locally)".into())
        } else {
            Ok(app)
        }
    });
    built_once(built)
}

/// The token verifier from configuration, built once at init, or a refusal to start with
/// one clear log line.
pub fn init_authenticator() -> Result<&'static crate::auth::Authenticator, lambda_http::Error> {
    built_once(crate::auth::Authenticator::from_env())
}

/// What init built, kept for the process's life; or the refusal, logged once, that stops it.
fn built_once<T>(built: Result<T, String>) -> Result<&'static T, lambda_http::Error> {
    match built {
        Ok(value) => Ok(Box::leak(Box::new(value))),
        Err(reason) => {
            tracing::error!(reason = %reason, "configuration refused; not starting");
            Err(reason.into())
        }
    }
}

/// Builds the [`App`] once and serves API Gateway's requests for `operation`'s route with
/// `handler`. A route that takes a `cursor` lists: it refuses to start without the cursor key.
pub async fn serve_http<H, F>(operation: Operation, handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static App, ApiRequest) -> F,
    F: Future<Output = ApiResponse> + Send,
{
    init_logging();
    let route = operation.route();
    let app = init_app(Needs {
        cursor_key: route.query.contains(&"cursor"),
    })
    .await?;
    lambda_http::run(service_fn(|event: Request| {
        crate::telemetry::emf::cold_start("api");
        // The runtime's span carries Lambda's request id (and the X-Ray trace id); this one
        // adds API Gateway's, which the client and the access log know.
        let span = request_span(&event);
        let trace = event
            .lambda_context_ref()
            .and_then(|context| context.xray_trace_id.clone());
        let invocation = match api_request(route, event) {
            Ok(request) => Ok(handler(app, request)),
            Err(refusal) => Err(refusal),
        };
        let response = tracing::Instrument::instrument(
            async move {
                match invocation {
                    Ok(invocation) => crate::telemetry::traced(trace.as_deref(), invocation).await,
                    Err(refusal) => *refusal,
                }
            },
            span,
        );
        async move { Ok::<_, std::convert::Infallible>(lambda_response(response.await)) }
    }))
    .await
}

/// The handler's view of an API Gateway event for `route`: its principal (from the
/// authorizer's context), path parameters, query, headers and body. An event for another
/// route means the template gave this function's binary to the wrong route: a JSON 500 that
/// says so in the log, never another route's answer.
pub fn api_request(route: &'static Route, event: Request) -> Result<ApiRequest, Box<ApiResponse>> {
    let (context_route, request_id, principal) = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.route_key.as_deref().and_then(routes::of_key),
            context.request_id.clone(),
            context
                .authorizer
                .as_ref()
                .and_then(|authorizer| Principal::from_context(&authorizer.fields)),
        ),
        _ => (None, None, None),
    };
    if context_route != Some(route) {
        let refusal =
            ApiError::Internal(format!("{} was invoked for another route", route.function).into());
        return Err(Box::new(refusal.into_response(request_id.as_deref())));
    }
    let path: HashMap<String, String> = owned_pairs(event.path_parameters_ref())
        .into_iter()
        .collect();
    let query = owned_pairs(event.query_string_parameters_ref());
    let (parts, body) = event.into_parts();
    let body = match body {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Ok(ApiRequest::new(route, path)
        .with_principal(principal)
        .with_query(query)
        .with_headers(parts.headers)
        .with_body(body)
        .with_request_id(request_id))
}

/// Every (name, value) of a parameter map, a repeated name once per value.
fn owned_pairs(
    params: Option<&lambda_http::aws_lambda_events::query_map::QueryMap>,
) -> Vec<(String, String)> {
    params
        .map(|params| {
            params
                .iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The handler's answer as API Gateway takes it.
pub fn lambda_response(response: ApiResponse) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body)
    };
    Response::from_parts(parts, body)
}

/// The route API Gateway matched for `event`, if it is one of ours.
pub fn route_of(event: &Request) -> Option<&'static Route> {
    match event.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => routes::of_key(context.route_key.as_deref()?),
        _ => None,
    }
}

/// A span naming API Gateway's request id: every log line of the request carries it.
pub fn request_span(event: &Request) -> tracing::Span {
    let request_id = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.as_deref(),
        _ => None,
    };
    tracing::info_span!("api", apigw_request_id = request_id.unwrap_or_default())
}
