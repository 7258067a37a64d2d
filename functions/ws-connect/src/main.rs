use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use shared::auth::Authenticator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::init_logging();
    let app = shared::edge::lambda::init_app(shared::edge::lambda::Needs::default()).await?;
    let authenticator: &'static Authenticator = shared::edge::lambda::init_authenticator()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let trace = event.context.xray_trace_id.as_deref();
            let invocation = ws_connect::handler(app, authenticator, &event.payload);
            Ok::<_, std::convert::Infallible>(shared::telemetry::traced(trace, invocation).await)
        },
    ))
    .await
}
