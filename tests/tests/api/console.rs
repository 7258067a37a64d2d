//! The supervisor console in a real browser: headless Chromium, driven over the Chrome
//! DevTools Protocol, opens `/console` from the gateway, signs in from the URL fragment, and
//! shows the queue live: a request created through the API appears without a reload, in
//! queue order; a refusal (`own_request`) shows on its row; Approve takes a row out, and so
//! does an answer given elsewhere. Screenshots go to `target/test-artifacts/`.
//!
//! Needs Chromium on PATH (Debian: `apt-get install -y chromium`; `.ci/run` installs it), or
//! `CHROMIUM` naming a Chromium or Chrome binary. Without one the test fails: it does not skip.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use integration_tests::fresh_store;
use local_gateway::oidc::LocalIssuer;
use serde_json::{Value, json};
use shared::auth::Claims;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// How long anything may take before the test gives up (generous: CI machines).
const PATIENCE: Duration = Duration::from_secs(15);
/// How often the page is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The whole local stack on free ports: the HTTP gateway (API and console), the WebSocket
/// API, and the stream reader feeding `notify`.
struct Stack {
    issuer: Arc<LocalIssuer>,
    http_port: u16,
    ws_port: u16,
}

impl Stack {
    async fn start() -> Self {
        let live = integration_tests::live_stack().await;
        let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_port = http_listener.local_addr().unwrap().port();
        tokio::spawn(local_gateway::serve_http(live.gateway, http_listener));
        let stack = Self {
            issuer: live.issuer,
            http_port,
            ws_port: live.ws_port,
        };
        stack.wait_until_flowing().await;
        stack
    }

    /// The stream reader starts at the stream's end: probe a store of its own until a change
    /// made after that reaches a listener.
    async fn wait_until_flowing(&self) {
        let probe = fresh_store();
        let token = self.token("prober", "supervisor", &probe);
        let (mut listener, _) = connect_async(format!(
            "ws://127.0.0.1:{}/?store={probe}&token={token}",
            self.ws_port
        ))
        .await
        .unwrap();
        for _ in 0..30 {
            self.create(&probe, "probe-raiser", "LOW").await;
            if tokio::time::timeout(Duration::from_millis(500), listener.next())
                .await
                .is_ok()
            {
                return;
            }
        }
        panic!("the stream never reached a listener");
    }

    fn token(&self, sub: &str, role: &str, store: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        self.issuer.signing_key().sign(&Claims {
            sub: sub.into(),
            role: role.into(),
            stores: vec![store.to_owned()],
            iss: self.issuer.issuer().into(),
            aud: "store-services".into(),
            exp: now + 600,
            nbf: None,
            iat: Some(now),
        })
    }

    /// A call to the API over HTTP, as anyone outside would make it.
    async fn api(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = http(
            self.http_port,
            method,
            path,
            vec![("authorization".into(), format!("Bearer {token}"))],
            body.map(|b| b.to_string()),
        )
        .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request raised by `by` (an associate, or the console's own supervisor).
    async fn create(&self, store: &str, by: &str, priority: &str) -> String {
        let role = if by.starts_with("sup") {
            "supervisor"
        } else {
            "associate"
        };
        let (status, body) = self
            .api(
                "POST",
                &format!("/stores/{store}/supervisor-requests"),
                &self.token(by, role, store),
                Some(json!({
                    "requestType": "PRICE_OVERRIDE",
                    "priority": priority,
                    "details": format!("Shelf tag 2.49, till 2.99 ({priority})"),
                })),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["requestId"].as_str().unwrap().to_owned()
    }
}

/// One HTTP/1.1 exchange on loopback (a blocking socket on a blocking thread: the test needs
/// no HTTP client beyond this).
async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: Vec<(String, String)>,
    body: Option<String>,
) -> (u16, String) {
    let (method, path) = (method.to_owned(), path.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let body = body.unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).unwrap();

        let mut received = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let head_end = received.windows(4).position(|w| w == b"\r\n\r\n");
            if let Some(end) = head_end {
                let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if length.is_some_and(|length| received.len() >= end + 4 + length) {
                    break;
                }
            }
            match stream.read(&mut chunk).unwrap() {
                0 => break,
                n => received.extend_from_slice(&chunk[..n]),
            }
        }
        let text = String::from_utf8_lossy(&received).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        (status, body.to_owned())
    })
    .await
    .unwrap()
}

/// Headless Chromium on a profile of its own; killed, and its profile removed, on drop.
struct Browser {
    child: Child,
    profile: PathBuf,
    devtools_port: u16,
}

impl Browser {
    fn launch() -> Self {
        let program = std::env::var_os("CHROMIUM").unwrap_or_else(|| "chromium".into());
        let profile = std::env::temp_dir().join(format!("console-test-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&profile).unwrap();
        let log = std::fs::File::create(profile.join("chromium.log")).unwrap();
        let child = Command::new(&program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1100,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
                "{} is not installed: the console test drives a real browser. Install Chromium \
                 (Debian/Ubuntu: `apt-get install -y chromium`; .ci/run does) or set CHROMIUM \
                 to a Chromium or Chrome binary.",
                program.to_string_lossy()
            ),
            Err(error) => panic!("could not start {}: {error}", program.to_string_lossy()),
        };
        let mut browser = Self {
            child,
            profile,
            devtools_port: 0,
        };
        browser.devtools_port = browser.wait_for_devtools();
        browser
    }

    /// Chromium writes the DevTools port it chose to `DevToolsActivePort` in its profile.
    fn wait_for_devtools(&mut self) -> u16 {
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(self.profile.join("DevToolsActivePort"))
                && let Some(port) = text.lines().next().and_then(|l| l.trim().parse().ok())
            {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "chromium exited ({status}) before DevTools listened:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromium's DevTools did not listen in time:\n{}",
                self.log()
            );
            std::thread::sleep(POLL);
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.profile.join("chromium.log")).unwrap_or_default()
    }

    /// The DevTools connection of the browser's page.
    async fn page(&self) -> Page {
        let started = Instant::now();
        let url = loop {
            let (status, text) = http(self.devtools_port, "GET", "/json/list", vec![], None).await;
            let targets: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let page = targets.as_array().and_then(|targets| {
                targets
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            });
            if status == 200
                && let Some(url) = page
            {
                break url.to_owned();
            }
            assert!(started.elapsed() < PATIENCE, "no page target: {text}");
            tokio::time::sleep(POLL).await;
        };
        let (socket, _) = connect_async(url).await.unwrap();
        Page { socket, next_id: 0 }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// One page, over the Chrome DevTools Protocol.
struct Page {
    socket: Socket,
    next_id: u64,
}

impl Page {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let command = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{method}: no answer in time"))
                .expect("the DevTools connection is open")
                .expect("a frame");
            let Message::Text(text) = frame else { continue };
            let answer: Value = serde_json::from_str(&text).unwrap();
            // Events (no id) are not asked for; skip any that come.
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy (polling; the outcome is asserted, not the time).
    /// On failure, keeps a screenshot and shows what the page says.
    async fn until(&mut self, what: &str, expression: &str) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(expression).await;
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(text) => !text.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if started.elapsed() > PATIENCE {
                let shown = self.eval("document.body.innerText").await;
                let shot = self.screenshot("console-failure.png").await;
                panic!(
                    "{what}: not within {PATIENCE:?} ({expression}). Screenshot: {}. The page shows:\n{}",
                    shot.display(),
                    shown.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the page in `target/test-artifacts/`.
    async fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let png = STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .unwrap();
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// `target/test-artifacts`: beside the profile directories of the test binary
/// (`target/<profile>/deps/<binary>`), so it follows `CARGO_TARGET_DIR`.
fn artifacts_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("test-artifacts")
}

/// A CSS selector's string, quoted for JavaScript.
fn js(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn row(id: &str) -> String {
    format!(
        "document.querySelector({})",
        js(&format!("#queue > li[data-request-id=\"{id}\"]"))
    )
}

fn queue_order() -> &'static str {
    "[...document.querySelectorAll('#queue > li')].map(li => li.dataset.requestId)"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_queue_live_and_answers_from_it() {
    let stack = Stack::start().await;
    let store = fresh_store();
    let supervisor = stack.token("sup-1", "supervisor", &store);
    // Already waiting when the console opens.
    let waiting = stack.create(&store, "assoc-1", "NORMAL").await;

    let browser = Browser::launch();
    let mut page = browser.page().await;
    // `/console` redirects to `/console/`; the fragment, which never reaches the server,
    // carries the sign-in (and the WebSocket API's port, which is not the next one here).
    let url = format!(
        "http://127.0.0.1:{}/console#ws=ws://127.0.0.1:{}&store={store}&token={supervisor}",
        stack.http_port, stack.ws_port
    );
    page.call("Page.navigate", json!({ "url": url })).await;
    page.until(
        "connected, with the queue loaded",
        "document.getElementById('status')?.dataset.state === 'connected' \
         && document.getElementById('queue').dataset.loaded === 'true'",
    )
    .await;
    assert_eq!(page.eval(queue_order()).await, json!([waiting]));
    assert_eq!(
        page.eval("location.href.includes('token')").await,
        json!(false),
        "the token is left in the address bar"
    );

    // Created through the API: the page shows it without a reload, above the NORMAL one.
    page.eval("window.notReloaded = true").await;
    let urgent = stack.create(&store, "assoc-2", "URGENT").await;
    page.until(
        "the new request on the page",
        &format!("{} !== null", row(&urgent)),
    )
    .await;
    assert_eq!(page.eval("window.notReloaded").await, json!(true));
    assert_eq!(page.eval(queue_order()).await, json!([urgent, waiting]));
    assert_eq!(
        page.eval(&format!("{}.dataset.priority", row(&urgent)))
            .await,
        "URGENT"
    );

    // The supervisor's own request: the API refuses the answer, and the row says why.
    let own = stack.create(&store, "sup-1", "LOW").await;
    page.until(
        "the supervisor's own request",
        &format!("{} !== null", row(&own)),
    )
    .await;
    assert_eq!(
        page.eval(queue_order()).await,
        json!([urgent, waiting, own])
    );
    page.eval(&format!(
        "{}.querySelector('[data-action=approve]').click()",
        row(&own)
    ))
    .await;
    let refusal = page
        .until(
            "the refusal on the row",
            &format!("{}.querySelector('.error').textContent", row(&own)),
        )
        .await;
    assert!(
        refusal.as_str().unwrap().contains("own_request"),
        "{refusal}"
    );
    let shot = page.screenshot("console.png").await;
    eprintln!("screenshot: {}", shot.display());

    // Approve with a note: the row leaves the queue, the recent list has the decision.
    page.eval(&format!(
        "{row}.querySelector('.note').value = 'Tag was wrong'; \
         {row}.querySelector('[data-action=approve]').click()",
        row = row(&urgent)
    ))
    .await;
    page.until(
        "the approved row gone",
        &format!("{} === null", row(&urgent)),
    )
    .await;
    assert_eq!(
        page.eval(&format!(
            "document.querySelector({})?.dataset.outcome",
            js(&format!("#recent > li[data-request-id=\"{urgent}\"]"))
        ))
        .await,
        "APPROVED"
    );
    let (status, answered) = stack
        .api(
            "GET",
            &format!("/stores/{store}/supervisor-requests/{urgent}"),
            &supervisor,
            None,
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["response"]["decision"], "APPROVED");
    assert_eq!(answered["response"]["respondedBy"], "sup-1");
    assert_eq!(answered["response"]["note"], "Tag was wrong");

    // Answered by another supervisor elsewhere: the row leaves by the WebSocket alone.
    let (status, body) = stack
        .api(
            "POST",
            &format!("/stores/{store}/supervisor-requests/{waiting}/response"),
            &stack.token("sup-2", "supervisor", &store),
            Some(json!({ "decision": "DENIED", "note": "No receipt" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    page.until(
        "the row answered elsewhere gone",
        &format!(
            "{} === null && document.querySelector({})?.dataset.outcome === 'DENIED'",
            row(&waiting),
            js(&format!("#recent > li[data-request-id=\"{waiting}\"]"))
        ),
    )
    .await;
    assert_eq!(page.eval(queue_order()).await, json!([own]));
    assert_eq!(page.eval("window.notReloaded").await, json!(true));
    page.screenshot("console-answered.png").await;

    // A token the API refuses: the console says so and stops, rather than retrying forever.
    let url = format!(
        "http://127.0.0.1:{}/console#ws=ws://127.0.0.1:{}&store={store}&token=not.a.token",
        stack.http_port, stack.ws_port
    );
    page.call("Page.navigate", json!({ "url": url })).await;
    let refused = page
        .until(
            "the refusal of a bad token",
            "document.getElementById('status')?.dataset.state === 'error' \
             && document.getElementById('status').textContent",
        )
        .await;
    assert!(refused.as_str().unwrap().contains("HTTP 40"), "{refused}");
}
