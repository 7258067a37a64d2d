//! What a container platform expects of the long-running server, over real HTTP: it drains
//! on shutdown, says when it is not ready, drops a client that sends half a request, refuses
//! a declared huge body before reading it, answers 429 and 503 instead of queueing, and two
//! replicas sweeping one table time each request out once. The signal itself is tested on the
//! binary.

use std::time::Duration;

use integration_tests::fresh_store;
use local_gateway::oidc::LocalIssuer;
use serde_json::Value;
use store_server::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::service_models::{bearer, http, parse_answer, spawn_server};

const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` until it holds, within the patience.
async fn eventually<F: std::future::Future<Output = bool>>(check: impl FnMut() -> F) {
    integration_tests::eventually(PATIENCE, check).await
}

/// Sends the head of a create with a body of `length` bytes and `sent` of them, and leaves
/// the request in flight.
async fn half_sent_create(
    address: std::net::SocketAddr,
    token: &str,
    store: &str,
    body: &str,
    sent: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /stores/{store}/supervisor-requests HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-type: application/json\r\nauthorization: {token}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..sent]).await.unwrap();
    stream
}

async fn finish(mut stream: TcpStream, rest: &[u8]) -> (u16, Value) {
    stream.write_all(rest).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("an answer")
        .unwrap();
    let (status, _, body) = parse_answer(&raw);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_refuses_new_connections_and_ends_cleanly() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let running = spawn_server(&issuer, ServerConfig::default(), None).await;
    let store = fresh_store();
    let token = bearer(&issuer, "ana", "associate", &[&store]);
    let body = r#"{"requestType":"VOID","details":"started before the signal"}"#;
    let in_flight = half_sent_create(running.address, &token, &store, body, 10).await;
    // The server is answering it (its head read, its body awaited) when the signal comes.
    let server = &running.server;
    eventually(|| async move { server.metrics().in_flight() == 1 }).await;

    running.stop.send(()).unwrap();
    eventually(|| async move { server.draining() }).await;
    let address = running.address;
    eventually(|| async move { TcpStream::connect(address).await.is_err() }).await;

    let (status, created) = finish(in_flight, &body.as_bytes()[10..]).await;
    assert_eq!(status, 201, "{created}");
    let ended = tokio::time::timeout(PATIENCE, running.serving)
        .await
        .expect("the server ends")
        .unwrap();
    assert_eq!(ended, Ok(()), "every request finished within the grace");
}

#[tokio::test]
async fn readiness_follows_the_tables_and_liveness_does_not() {
    // A DynamoDB Local of this test's own, to stop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut dynamodb = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/dynamodb-local"
    ))
    .args([&port.to_string(), "in-memory"])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    eventually(|| async move { TcpStream::connect(("127.0.0.1", port)).await.is_ok() }).await;
    let sdk = shared::edge::config::sdk_config_loader()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .load()
        .await;
    let settings = shared::edge::config::Settings {
        requests_table: "supervisor-requests".into(),
        items_table: "preferred-items".into(),
        events_table: "supervisor-request-events".into(),
        connections_table: "websocket-connections".into(),
        request_timeout_seconds: 600,
        history_retention_days: 400,
        cursor_secret: None,
    };
    let app = shared::App::from_settings(&sdk, settings).await.unwrap();
    app.ensure_tables().await.unwrap();
    let issuer = LocalIssuer::spawn().await.unwrap();
    let config = ServerConfig {
        readiness_ttl: Duration::ZERO,
        ..ServerConfig::default()
    };
    let running = spawn_server(&issuer, config, Some(app)).await;
    let address = running.address;
    assert_eq!(http(address, "GET", "/readyz", &[], "").await.0, 200);

    dynamodb.kill().unwrap();
    dynamodb.wait().unwrap();
    eventually(|| async move { http(address, "GET", "/readyz", &[], "").await.0 == 503 }).await;
    assert_eq!(http(address, "GET", "/healthz", &[], "").await.0, 200);
}

#[tokio::test]
async fn a_half_sent_request_is_dropped_after_the_header_timeout() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let config = ServerConfig {
        header_read_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    };
    let running = spawn_server(&issuer, config, None).await;
    let mut stream = TcpStream::connect(running.address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("the server closes the connection");
    assert!(read.is_ok() || raw.is_empty());
    let answer = String::from_utf8_lossy(&raw);
    assert!(
        !answer.contains("alive"),
        "a request whose head never ended is not answered: {answer}"
    );
}

#[tokio::test]
async fn a_declared_huge_body_is_refused_before_it_is_read() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let running = spawn_server(&issuer, ServerConfig::default(), None).await;
    let store = fresh_store();
    let token = bearer(&issuer, "ana", "associate", &[&store]);
    let mut stream = TcpStream::connect(running.address).await.unwrap();
    // 10 GB declared, not a byte sent: the answer comes at once.
    let head = format!(
        "POST /stores/{store}/supervisor-requests HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nauthorization: {token}\r\ncontent-length: 10000000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = vec![0; 4096];
    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
        .await
        .expect("an answer without the body")
        .unwrap();
    let (status, _, body) = parse_answer(&buffer[..read]);
    assert_eq!(status, 413);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["message"],
        "Request Entity Too Large"
    );
}

#[tokio::test]
async fn past_its_rate_a_caller_gets_429_with_retry_after() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let config = ServerConfig {
        rate_per_second: 1,
        rate_burst: 2,
        ..ServerConfig::default()
    };
    let running = spawn_server(&issuer, config, None).await;
    let store = fresh_store();
    let token = bearer(&issuer, "ana", "associate", &[&store]);
    let path = format!("/stores/{store}/supervisor-requests");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, headers, _) = http(
            running.address,
            "GET",
            &path,
            &[("authorization", &token)],
            "",
        )
        .await;
        statuses.push(status);
        if status == 429 {
            assert_eq!(headers["retry-after"], "1");
            assert_eq!(headers["ratelimit-limit"], "2");
            assert_eq!(headers["ratelimit-remaining"], "0");
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    // Another caller of the same store has a bucket of its own.
    let other = bearer(&issuer, "bo", "associate", &[&store]);
    assert_eq!(
        http(
            running.address,
            "GET",
            &path,
            &[("authorization", &other)],
            ""
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn at_its_concurrency_limit_the_server_answers_503_at_once() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let config = ServerConfig {
        max_concurrent_requests: 1,
        ..ServerConfig::default()
    };
    let running = spawn_server(&issuer, config, None).await;
    let store = fresh_store();
    let token = bearer(&issuer, "ana", "associate", &[&store]);
    let body = r#"{"requestType":"VOID","details":"holds the only permit"}"#;
    let holding = half_sent_create(running.address, &token, &store, body, 5).await;
    // The held request has its permit once the server has read its head.
    let path = format!("/stores/{store}/supervisor-requests");
    let address = running.address;
    let token_ref = &token;
    let path_ref = &path;
    eventually(|| async move {
        let (status, headers, _) = http(
            address,
            "GET",
            path_ref,
            &[("authorization", token_ref)],
            "",
        )
        .await;
        status == 503 && headers.get("retry-after").is_some()
    })
    .await;
    assert_eq!(finish(holding, &body.as_bytes()[5..]).await.0, 201);
    assert_eq!(
        http(address, "GET", &path, &[("authorization", &token)], "")
            .await
            .0,
        200
    );
}

/// Two replicas sweeping one table at once (as `store-server sweep` from two schedules
/// would): each expired request is timed out once, with one `timed_out` event.
#[tokio::test]
async fn two_replicas_sweeping_at_once_time_each_request_out_once() {
    let app = integration_tests::app_with_fresh_table().await;
    let store = fresh_store();
    let body =
        serde_json::json!({"requestType": "VOID", "details": "expires", "timeoutSeconds": 30});
    let mut ids = Vec::new();
    for _ in 0..12 {
        let (status, created) = integration_tests::create_request(&app, &store, body.clone()).await;
        assert_eq!(status, 201);
        ids.push(created["requestId"].as_str().unwrap().to_owned());
    }
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(31);
    let event = || timeout_sweeper::ScheduledEvent { time: later };
    let (a, b) = tokio::join!(
        timeout_sweeper::handler(&app, event(), integration_tests::unlimited()),
        timeout_sweeper::handler(&app, event(), integration_tests::unlimited())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.timed_out + b.timed_out, 12, "{a:?} {b:?}");
    let store_id = shared::domain::ids::StoreId::parse(&store).unwrap();
    for id in ids {
        let id = shared::domain::ids::RequestId::parse(&id).unwrap();
        let (events, _) = app.requests.events(&store_id, &id, None, 10).await.unwrap();
        let timed_out = events
            .iter()
            .filter(|e| e.event_type == shared::domain::audit::EventType::TimedOut)
            .count();
        assert_eq!(timed_out, 1, "{id}");
    }
}

/// The binary itself: SIGTERM drains and exits 0.
#[tokio::test]
async fn the_binary_exits_0_on_sigterm() {
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("debug/store-server");
    assert!(
        binary.exists(),
        "{} is not built: make test builds it (cargo build -p store-server)",
        binary.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let issuer = LocalIssuer::spawn().await.unwrap();
    let mut child = tokio::process::Command::new(&binary)
        .env("PORT", port.to_string())
        .env("JWT_ISSUER", issuer.issuer())
        .env("JWT_AUDIENCE", "store-services")
        .env("REQUESTS_TABLE", integration_tests::SHARED_TABLE)
        .env("ITEMS_TABLE", integration_tests::SHARED_ITEMS_TABLE)
        .env("EVENTS_TABLE", integration_tests::SHARED_EVENTS_TABLE)
        .env("CONNECTIONS_TABLE", "websocket-connections-test")
        .env(
            "CURSOR_SECRET",
            "c2VydmVyLXRlc3QtY3Vyc29yLXNlY3JldC0wMTIzNDU2Nzg5",
        )
        .env("SHUTDOWN_GRACE_SECONDS", "5")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    eventually(|| async move { TcpStream::connect(address).await.is_ok() }).await;
    assert_eq!(http(address, "GET", "/readyz", &[], "").await.0, 200);
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("exits within the grace")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
