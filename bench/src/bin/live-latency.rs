//! Time from the API's 201 to the message at a connected WebSocket client, through the local
//! live path (DynamoDB Local's stream → the real notify handler → the local WebSocket API):
//! median and p90 over N requests created one after another.
//!
//! `live-latency [N] [POLL_MS]` with `AWS_ENDPOINT_URL_DYNAMODB` set (scripts/bench part 6).
//! POLL_MS is how often the local stream reader polls a quiet stream (make run: 250).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use local_gateway::Gateway;
use local_gateway::oidc::LocalIssuer;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .map_or(120, |n| n.parse().expect("N is a count"));
    let poll_ms: u64 = args
        .next()
        .map_or(250, |n| n.parse().expect("POLL_MS in ms"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(run(count, poll_ms));
}

async fn run(count: usize, poll_ms: u64) {
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let sdk = shared::edge::config::sdk_config_loader().load().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let app = shared::App {
        requests: shared::store::requests::RequestStore::new(
            client.clone(),
            format!("bench-requests-{suffix}"),
            format!("bench-events-{suffix}"),
            shared::store::requests::DEFAULT_HISTORY_RETENTION,
        ),
        catalog: shared::store::catalog::CatalogStore::new(client.clone(), "bench-items"),
        connections: shared::store::connections::ConnectionStore::new(client, "bench-connections"),
        cursor_key: Some(
            shared::store::cursor::CursorKey::from_secret(b"bench-cursor-secret-of-32-bytes!!")
                .unwrap(),
        ),
        default_request_timeout: time::Duration::minutes(10),
        clock: shared::edge::config::Clock::System,
    };
    app.ensure_tables().await.expect("tables");
    let issuer = LocalIssuer::spawn().await.expect("a local issuer");
    let gateway = Arc::new(Gateway {
        app,
        authenticator: issuer.authenticator("store-services"),
        issuer: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    local_gateway::live::start(
        Arc::clone(&gateway),
        &sdk,
        listener,
        Some(format!("http://127.0.0.1:{port}")),
        Duration::from_millis(poll_ms),
    )
    .await
    .unwrap();
    let token = issuer.token(
        "store-services",
        ("bench-supervisor", "supervisor", &["store-1"]),
        0,
        3600,
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{port}/?store=store-1&token={token}"
    ))
    .await
    .expect("the supervisor connects");
    let create = |details: String| {
        let gateway = Arc::clone(&gateway);
        async move {
            let request = benchmarks::api_event(
                "create-request",
                "store-1",
                "bench-associate",
                "associate",
                &format!(r#"{{"requestType":"VOID","details":"{details}"}}"#),
            );
            let route = shared::edge::routes::Operation::CreateRequest.route();
            let request =
                shared::edge::lambda::api_request(route, request).expect("its route's event");
            let response = create_request::handler(&gateway.app, request).await;
            assert_eq!(response.status(), 201);
            let body: Value = serde_json::from_str(response.body()).expect("a JSON body");
            body["requestId"].as_str().unwrap().to_owned()
        }
    };
    // The reader starts at the stream's end: the first messages tell it is flowing.
    loop {
        create("warm-up".into()).await;
        if tokio::time::timeout(Duration::from_secs(1), socket.next())
            .await
            .is_ok()
        {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    while tokio::time::timeout(Duration::from_millis(200), socket.next())
        .await
        .is_ok()
    {}

    let mut samples = Vec::with_capacity(count);
    for n in 0..count {
        let id = create(format!("request {n}")).await;
        let created = Instant::now();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("a message within 10 s")
                .expect("open")
                .expect("a frame");
            if let Message::Text(text) = frame {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message["request"]["requestId"] == id.as_str() {
                    samples.push(created.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
            }
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{{\"requests\": {count}, \"poll_ms\": {poll_ms}, \"median_ms\": {:.1}, \"p90_ms\": {:.1}, \"min_ms\": {:.1}, \"max_ms\": {:.1}}}",
        at(0.5),
        at(0.9),
        samples[0],
        samples[samples.len() - 1]
    );
}
