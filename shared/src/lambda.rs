//! Wiring shared by every function's `main`: logging, configuration built once, the runtime.

use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};

use crate::config::App;
use crate::routes::{self, Route};

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
    init_app_on(&crate::config::load_sdk_config().await, needs).await
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
    match built {
        Ok(app) => Ok(Box::leak(Box::new(app))),
        Err(reason) => {
            tracing::error!(reason = %reason, "configuration refused; not starting");
            Err(reason.into())
        }
    }
}

/// The token verifier from configuration, built once at init, or a refusal to start with
/// one clear log line.
pub fn init_authenticator() -> Result<&'static crate::auth::Authenticator, lambda_http::Error> {
    match crate::auth::Authenticator::from_env() {
        Ok(authenticator) => Ok(Box::leak(Box::new(authenticator))),
        Err(reason) => {
            tracing::error!(reason = %reason, "configuration refused; not starting");
            Err(reason.into())
        }
    }
}

/// Builds the [`App`] once and serves API Gateway requests with `handler`.
pub async fn serve_http<H, F>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static App, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    serve_http_with(Needs::default(), handler).await
}

/// As [`serve_http`], for a function that lists: it refuses to start without the cursor key.
pub async fn serve_pages<H, F>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static App, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    serve_http_with(Needs { cursor_key: true }, handler).await
}

async fn serve_http_with<H, F>(needs: Needs, handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static App, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    init_logging();
    let app = init_app(needs).await?;
    lambda_http::run(service_fn(|event: Request| {
        crate::emf::cold_start("api");
        // The runtime's span carries Lambda's request id (and the X-Ray trace id); this one
        // adds API Gateway's, which the client and the access log know.
        let span = request_span(&event);
        let trace = event
            .lambda_context_ref()
            .and_then(|context| context.xray_trace_id.clone());
        let invocation = handler(app, event);
        let response = tracing::Instrument::instrument(
            async move { crate::telemetry::traced(trace.as_deref(), invocation).await },
            span,
        );
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
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
    tracing::info_span!(
        "api",
        apigw_request_id = crate::http::request_id(event).unwrap_or_default()
    )
}
