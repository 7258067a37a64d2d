#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::serve_http(
        shared::routes::Operation::UnpinPreferredItem,
        unpin_preferred_item::handler,
    )
    .await
}
