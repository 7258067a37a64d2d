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
    let sdk = shared::edge::config::sdk_config_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::for_tests())
        .load()
        .await;
    aws_sdk_dynamodb::Client::from_conf(shared::edge::config::dynamodb_config(&sdk).build())
}

/// An API Gateway event from `events/<fixture>.json` for `store`, as the authorizer would pass
/// it for `sub` in `role`, with `body`.
pub fn api_event(
    fixture: &str,
    store: &str,
    sub: &str,
    role: &str,
    body: &str,
) -> lambda_http::Request {
    let path = format!("{}/../events/{fixture}.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture")).unwrap();
    event["pathParameters"]["storeId"] = store.into();
    event["requestContext"]["authorizer"]["lambda"] =
        serde_json::json!({"sub": sub, "role": role, "stores": store});
    event["body"] = body.into();
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.remove("idempotency-key");
    }
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}
