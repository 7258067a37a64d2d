//! Configuration a deployment gets: the cursor key read from Secrets Manager at init (here
//! from a stand-in of its endpoint on loopback, as the local run stands in for the other
//! AWS endpoints), and settings that refuse to start when missing or out of range.

use std::sync::{Arc, Mutex};

use shared::App;
use shared::edge::config::{CursorSecret, Settings};
use shared::store::cursor::CursorKey;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor-AbCdEf";

/// Answers Secrets Manager's `GetSecretValue` (JSON 1.1 over HTTP) with `secret`, and
/// records each request's target and body.
async fn secrets_manager(secret: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let complete = |request: &[u8]| {
                let text = String::from_utf8_lossy(request);
                let (head, body) = text.split_once("\r\n\r\n")?;
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                (body.len() >= length).then(|| text.to_string())
            };
            let text = loop {
                let read = stream.read(&mut buffer).await.unwrap_or(0);
                if read == 0 {
                    break None;
                }
                request.extend_from_slice(&buffer[..read]);
                if let Some(text) = complete(&request) {
                    break Some(text);
                }
            };
            let Some(text) = text else { continue };
            record.lock().unwrap().push(text);
            let body = serde_json::json!({
                "ARN": ARN, "Name": "cursor", "SecretString": secret, "VersionId": "v1",
            })
            .to_string();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (endpoint, seen)
}

fn settings(cursor_secret: Option<CursorSecret>) -> Settings {
    Settings {
        requests_table: integration_tests::SHARED_TABLE.into(),
        items_table: integration_tests::SHARED_ITEMS_TABLE.into(),
        events_table: integration_tests::SHARED_EVENTS_TABLE.into(),
        connections_table: "websocket-connections-test".into(),
        request_timeout_seconds: 600,
        history_retention_days: 400,
        cursor_secret,
    }
}

/// An app whose cursor key comes from the Secrets Manager at `endpoint`.
async fn app_reading_secret_from(endpoint: &str) -> Result<App, String> {
    let sdk = shared::edge::config::sdk_config_loader()
        .endpoint_url(endpoint)
        .load()
        .await;
    App::from_settings(
        &sdk,
        settings(Some(CursorSecret::SecretsManager(ARN.into()))),
    )
    .await
}

#[tokio::test]
async fn the_cursor_key_is_read_from_secrets_manager_at_init() {
    const MATERIAL: &str = "Zq8Lk3Vx0Pw7Rt2Ny5Bm9Hc4Jd6Fg1Sa8Qe3Uo0Ii7Ty2Wr5Xz9Cv4Bn6Ml1Kj3Hg";
    let (endpoint, seen) = secrets_manager(MATERIAL).await;
    let app = app_reading_secret_from(&endpoint).await.unwrap();
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "read once, at init");
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains("x-amz-target: secretsmanager.getsecretvalue")
    );
    assert!(requests[0].contains(&format!("\"SecretId\":\"{ARN}\"")));
    // The key is the secret's: a cursor sealed by a function opens in any other given the
    // same secret, and in none given another.
    let now = OffsetDateTime::now_utc();
    let cursor = app.cursor_key().unwrap().seal("binding", &"position", now);
    let same = CursorKey::from_secret(MATERIAL.as_bytes()).unwrap();
    assert_eq!(
        same.open::<String>("binding", &cursor, now).unwrap(),
        "position"
    );
    let other = CursorKey::from_secret(&[7; 32]).unwrap();
    assert!(other.open::<String>("binding", &cursor, now).is_err());
}

#[tokio::test]
async fn a_short_or_unreadable_secret_refuses_to_start_without_revealing_it() {
    let (endpoint, _) = secrets_manager("too-short").await;
    let error = app_reading_secret_from(&endpoint).await.unwrap_err();
    assert!(error.starts_with("CURSOR_SECRET_ARN"), "{error}");
    assert!(!error.contains("too-short"), "{error}");

    // Nobody listening: the SDK's bounded retries, then a refusal naming the setting.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let error = app_reading_secret_from(&endpoint).await.unwrap_err();
    assert!(error.starts_with("CURSOR_SECRET_ARN"), "{error}");
}

/// Functions that never list hold no cursor key; a listing route without one is a 500 that
/// says why in the log (its `main` refuses to start first: `serve_pages`).
#[tokio::test]
async fn functions_that_do_not_list_hold_no_cursor_key() {
    let sdk = shared::edge::config::load_sdk_config().await;
    let app = App::from_settings(&sdk, settings(None)).await.unwrap();
    assert!(app.cursor_key.is_none());
    let store = integration_tests::fresh_store();
    let request = integration_tests::event("list-master-items")
        .store(&store)
        .principal("admin-1", "admin", &[&store])
        .build();
    let (status, body) = integration_tests::parts(list_master_items::handler(&app, request).await);
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "internal_error");
}
