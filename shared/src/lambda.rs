//! Wiring shared by every function's `main`: logging, configuration built once, the runtime.

use std::future::Future;

use lambda_http::{Body, Request, RequestExt, Response, service_fn};

use crate::config::App;

/// Initialises logging (JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT=JSON`; level from
/// `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`). Request and trace ids come from the runtime's span.
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// Builds the [`App`] once and serves API Gateway requests with `handler`.
pub async fn serve_http<H, F>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static App, Request) -> F,
    F: Future<Output = Response<Body>> + Send,
{
    init_logging();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
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

/// A span naming API Gateway's request id: every log line of the request carries it.
pub fn request_span(event: &Request) -> tracing::Span {
    tracing::info_span!(
        "api",
        apigw_request_id = crate::http::request_id(event).unwrap_or_default()
    )
}
