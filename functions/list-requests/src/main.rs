#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_http(
        shared::routes::Operation::ListRequests,
        list_requests::handler,
    )
    .await
}
