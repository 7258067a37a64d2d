use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use timeout_sweeper::ScheduledEvent;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::lambda::init_logging();
    let app: &'static shared::App = Box::leak(Box::new(shared::App::from_env().await?));
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ScheduledEvent>| async move {
            let trace = event.context.xray_trace_id.as_deref();
            shared::telemetry::traced(trace, timeout_sweeper::handler(app, event.payload)).await
        },
    ))
    .await
}
