#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_http(
        shared::routes::Operation::RespondToRequest,
        respond_to_request::handler,
    )
    .await
}
