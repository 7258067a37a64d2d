//! The live queue's local path in one call: the WebSocket API twin on a listener, and the
//! stream reader that hands DynamoDB Local's records to the real `notify` handler, whose
//! management client reaches that twin. `make run`, the tests and the latency benchmark
//! start it the same way.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::Gateway;
use crate::websocket::WebSocketApi;

pub struct Live {
    pub ws_port: u16,
    /// notify's client of the `@connections` management API.
    pub management: aws_sdk_apigatewaymanagement::Client,
    pub api: Arc<WebSocketApi>,
}

/// Starts both halves as background tasks. `management_endpoint`: `None` reads
/// `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI` as the SDK does on Lambda; tests name the
/// listener's URL. `poll`: how often a quiet stream is read again.
pub async fn start(
    gateway: Arc<Gateway>,
    sdk: &aws_config::SdkConfig,
    listener: TcpListener,
    management_endpoint: Option<String>,
    poll: Duration,
) -> std::io::Result<Live> {
    let ws_port = listener.local_addr()?.port();
    let api = Arc::new(WebSocketApi::default());
    tokio::spawn(Arc::clone(&api).serve(Arc::clone(&gateway), listener));
    let mut config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk);
    if let Some(endpoint) = management_endpoint {
        config = config.endpoint_url(endpoint);
    }
    let management = aws_sdk_apigatewaymanagement::Client::from_conf(config.build());
    let streams = crate::streams::client(sdk);
    let notifier = management.clone();
    tokio::spawn(async move { crate::streams::run(&gateway.app, &notifier, &streams, poll).await });
    Ok(Live {
        ws_port,
        management,
        api,
    })
}
