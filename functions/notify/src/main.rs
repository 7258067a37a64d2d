use aws_lambda_events::dynamodb::Event;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::init_logging();
    let sdk = shared::edge::config::load_sdk_config().await;
    let app =
        shared::edge::lambda::init_app_on(&sdk, shared::edge::lambda::Needs::default()).await?;
    // The WebSocket API's management endpoint: AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI.
    let management: &'static aws_sdk_apigatewaymanagement::Client =
        Box::leak(Box::new(aws_sdk_apigatewaymanagement::Client::new(&sdk)));
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async move {
        let trace = event.context.xray_trace_id.as_deref();
        let invocation = notify::handler(app, management, event.payload);
        Ok::<_, std::convert::Infallible>(shared::telemetry::traced(trace, invocation).await)
    }))
    .await
}
