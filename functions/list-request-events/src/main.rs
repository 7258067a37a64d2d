#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_http(
        shared::routes::Operation::ListRequestEvents,
        list_request_events::handler,
    )
    .await
}
