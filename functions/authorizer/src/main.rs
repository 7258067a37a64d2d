use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use shared::auth::Authenticator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::init_logging();
    let authenticator: &'static Authenticator = shared::edge::lambda::init_authenticator()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, std::convert::Infallible>(
                authorizer::handler(authenticator, &event.payload).await,
            )
        },
    ))
    .await
}
