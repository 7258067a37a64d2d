//! What the benchmark binaries share.

use aws_sdk_dynamodb::config::{Credentials, Region};

/// A current-thread Tokio runtime, the kind a function runs on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// A DynamoDB client with the functions' own SDK configuration and HTTPS client, test
/// credentials, and the endpoint of `AWS_ENDPOINT_URL_DYNAMODB` (a local DynamoDB).
pub async fn local_client() -> aws_sdk_dynamodb::Client {
    let sdk = shared::config::sdk_config_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&sdk)
}
