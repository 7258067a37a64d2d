#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::edge::lambda::serve_http(
        shared::edge::routes::Operation::GetRequestReport,
        get_request_report::handler,
    )
    .await
}
