#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_capability(shared::routes::Capability::Catalog, http_api::catalog).await
}
