use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use timeout_sweeper::{Budget, ScheduledEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::edge::lambda::init_logging();
    let app = shared::edge::lambda::init_app(shared::edge::lambda::Needs::default()).await?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ScheduledEvent>| async move {
            let trace = event.context.xray_trace_id.as_deref();
            let budget = Budget::from_deadline_millis(event.context.deadline);
            shared::telemetry::traced(trace, timeout_sweeper::handler(app, event.payload, budget))
                .await
        },
    ))
    .await
}
