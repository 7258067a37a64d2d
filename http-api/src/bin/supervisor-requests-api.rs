#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_capability(
        shared::routes::Capability::SupervisorRequests,
        http_api::supervisor_requests,
    )
    .await
}
