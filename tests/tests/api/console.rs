//! The supervisor console in a real browser: headless Chromium, driven over the Chrome
//! DevTools Protocol, opens `/console` from the gateway, signs in from the URL fragment, and
//! shows the queue live: a request created through the API appears without a reload, in
//! queue order; a refusal (`own_request`) shows on its row; Approve takes a row out, and so
//! does an answer given elsewhere. Its Reports view, on a store whose history the test made
//! (answers, a timeout by the sweeper), draws that history's counts, answer times, busy hours
//! and supervisors, and its Download CSV saves one file of every page of the history.
//! Screenshots (and the exported CSV) go to `target/test-artifacts/`.
//!
//! Needs Chromium on PATH (Debian: `apt-get install -y chromium`; `.ci/run` installs it), or
//! `CHROMIUM` naming a Chromium or Chrome binary. Without one the test fails: it does not skip.

use std::collections::BTreeMap;
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
use shared::edge::config::Clock;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
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
    gateway: Arc<local_gateway::Gateway>,
    http_port: u16,
    ws_port: u16,
}

impl Stack {
    async fn start() -> Self {
        Self::start_with_clock(Clock::System).await
    }

    /// The stack with its app on `clock` (a manual one: a history at chosen instants).
    async fn start_with_clock(clock: Clock) -> Self {
        let live = integration_tests::live_stack_with_clock(clock).await;
        let http_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http_port = http_listener.local_addr().unwrap().port();
        tokio::spawn(local_gateway::serve_http(
            Arc::clone(&live.gateway),
            http_listener,
        ));
        let stack = Self {
            issuer: live.issuer,
            gateway: live.gateway,
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

    /// The console, signed in from the URL fragment (which never reaches the server), with
    /// the WebSocket API's port, which is not the next one here.
    fn console_url(&self, store: &str, token: &str) -> String {
        format!(
            "http://127.0.0.1:{}/console#ws=ws://127.0.0.1:{}&store={store}&token={token}",
            self.http_port, self.ws_port
        )
    }

    /// Opens the console as `token`'s holder and waits until it is connected with the
    /// queue loaded.
    async fn sign_in(&self, page: &mut Page, store: &str, token: &str) {
        page.call(
            "Page.navigate",
            json!({ "url": self.console_url(store, token) }),
        )
        .await;
        page.until(
            "connected, with the queue loaded",
            "document.getElementById('status')?.dataset.state === 'connected' \
             && document.getElementById('queue').dataset.loaded === 'true'",
        )
        .await;
    }

    fn token(&self, sub: &str, role: &str, store: &str) -> String {
        self.issuer
            .token("store-services", (sub, role, &[store]), 0, 600)
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
        let created = self
            .create_with(
                store,
                by,
                json!({
                    "requestType": "PRICE_OVERRIDE",
                    "priority": priority,
                    "details": format!("Shelf tag 2.49, till 2.99 ({priority})"),
                }),
            )
            .await;
        created["requestId"].as_str().unwrap().to_owned()
    }

    /// A request of body `body` raised by `by`: the request as the API answered it.
    async fn create_with(&self, store: &str, by: &str, body: Value) -> Value {
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
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// `supervisor` answers `id`: the request as the API answered it.
    async fn answer(
        &self,
        store: &str,
        id: &str,
        supervisor: &str,
        decision: &str,
        note: &str,
    ) -> Value {
        let (status, body) = self
            .api(
                "POST",
                &format!("/stores/{store}/supervisor-requests/{id}/response"),
                &self.token(supervisor, "supervisor", store),
                Some(json!({ "decision": decision, "note": note })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
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
    // `/console` redirects to `/console/`, the fragment kept.
    stack.sign_in(&mut page, &store, &supervisor).await;
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
    page.call(
        "Page.navigate",
        json!({ "url": stack.console_url(&store, "not.a.token") }),
    )
    .await;
    let refused = page
        .until(
            "the refusal of a bad token",
            "document.getElementById('status')?.dataset.state === 'error' \
             && document.getElementById('status').textContent",
        )
        .await;
    assert!(refused.as_str().unwrap().contains("HTTP 40"), "{refused}");
}

/// The zone the browser is put in and the reports are asked in: UTC+09:30 all year (no
/// daylight saving time since 1944), so the test places every instant in its local day and
/// hour with one fixed offset, and a half-hour offset shows any bucketing done in UTC. (Not
/// Asia/Kolkata: Chromium's ICU names it by its old name, Asia/Calcutta.)
const ZONE: &str = "Australia/Darwin";
const WEEKDAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
/// The CSV export's columns (the report contract, issue 27).
const CSV_COLUMNS: [&str; 12] = [
    "requestId",
    "createdAt",
    "requestType",
    "priority",
    "requestedBy",
    "details",
    "status",
    "decision",
    "respondedBy",
    "respondedAt",
    "timeToAnswerSeconds",
    "note",
];

fn local(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(UtcOffset::from_hms(9, 30, 0).unwrap())
}

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("an instant"), &Rfc3339).unwrap()
}

/// Time to answer of an answered request, in milliseconds (both instants are whole ones).
fn answer_ms(request: &Value) -> i64 {
    let taken = instant(&request["response"]["respondedAt"]) - instant(&request["createdAt"]);
    i64::try_from(taken.whole_milliseconds()).unwrap()
}

/// The nearest-rank percentile: the ⌈p·n/100⌉-th smallest.
fn nearest_rank(values: &[i64], percent: usize) -> Option<i64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The records of a CSV text (RFC 4180: quoted cells may hold commas, quotes and line breaks).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut cell) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !record.is_empty() {
        record.push(cell);
        records.push(record);
    }
    records
}

/// `hh:mm:ss` local time (in [`ZONE`]) `days_ago` days before the local date `today`.
fn local_at(today: Date, days_ago: i64, time: &str) -> OffsetDateTime {
    let [hour, minute, second] = <[u8; 3]>::try_from(
        time.split(':')
            .map(|part| part.parse().unwrap())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    PrimitiveDateTime::new(
        today - time::Duration::days(days_ago),
        Time::from_hms(hour, minute, second).unwrap(),
    )
    .assume_offset(UtcOffset::from_hms(9, 30, 0).unwrap())
}

/// The Reports view on a store whose whole history the test wrote through the API, over
/// three days of the store's zone, on a clock set to each change's instant: seven requests,
/// five answered by two supervisors (one after midnight of the day it was raised, one note a
/// formula), one timed out by the sweeper, one withdrawn. The bars per day are that history's
/// counts; the time to answer per day, the heat map's cells and the supervisors' rows are
/// what it says in the store's zone; the CSV button saves one file of every page of the
/// range's history, one header row, the formula neutralised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reports_a_known_history_and_exports_it() {
    let clock = Clock::manual(OffsetDateTime::now_utc());
    let stack = Stack::start_with_clock(clock.clone()).await;
    let store = fresh_store();
    let today = local(OffsetDateTime::now_utc()).date();
    let at = |days_ago: i64, time: &str| local_at(today, days_ago, time);
    let create =
        async |when: OffsetDateTime, by: &str, kind: &str, priority: &str, timeout: u32| {
            clock.set(when);
            stack
                .create_with(
                    &store,
                    by,
                    json!({
                        "requestType": kind,
                        "priority": priority,
                        "details": format!("{kind}, {priority}: till 2.99, tag 2.49"),
                        "timeoutSeconds": timeout,
                    }),
                )
                .await
        };
    let answer =
        async |when: OffsetDateTime, request: &Value, by: &str, decision: &str, note: &str| {
            clock.set(when);
            let id = request["requestId"].as_str().unwrap();
            stack.answer(&store, id, by, decision, note).await
        };
    let formula = "=HYPERLINK(\"http://evil.example\",\"Refund\")";
    // Three days ago: two answered, one times out (the sweeper's run at 14:06:30).
    let r0 = create(
        at(3, "09:10:00"),
        "assoc-1",
        "PRICE_OVERRIDE",
        "NORMAL",
        900,
    )
    .await;
    let r1 = create(at(3, "09:40:00"), "assoc-2", "REFUND", "HIGH", 900).await;
    let r2 = create(at(3, "14:05:00"), "assoc-1", "VOID", "URGENT", 60).await;
    let a0 = answer(at(3, "09:10:45"), &r0, "sup-1", "APPROVED", "Tag was wrong").await;
    let a1 = answer(at(3, "09:42:00"), &r1, "sup-2", "DENIED", "No receipt").await;
    let swept_at = at(3, "14:06:30");
    let sweep = timeout_sweeper::handler(
        &stack.gateway.app,
        timeout_sweeper::ScheduledEvent { time: swept_at },
        integration_tests::unlimited(),
    )
    .await
    .unwrap();
    assert_eq!(sweep.timed_out, 1, "{sweep:?}");
    // Two days ago: two answered; one raised just before midnight, answered after it.
    let r3 = create(at(2, "10:00:00"), "assoc-1", "PRICE_OVERRIDE", "LOW", 900).await;
    let r4 = create(at(2, "10:20:00"), "assoc-2", "REFUND", "NORMAL", 900).await;
    let r5 = create(at(2, "23:59:30"), "assoc-1", "RETURN", "HIGH", 900).await;
    let a3 = answer(at(2, "10:01:30"), &r3, "sup-1", "APPROVED", "OK").await;
    let a4 = answer(at(2, "10:20:30"), &r4, "sup-1", "DENIED", formula).await;
    // Yesterday: that answer, and a request withdrawn by the associate who raised it.
    let a5 = answer(at(1, "00:00:40"), &r5, "sup-2", "APPROVED", "Fine").await;
    let r6 = create(at(1, "16:00:00"), "assoc-2", "DISCOUNT", "NORMAL", 900).await;
    clock.set(at(1, "16:05:00"));
    let (status, body) = stack
        .api(
            "DELETE",
            &format!(
                "/stores/{store}/supervisor-requests/{}",
                r6["requestId"].as_str().unwrap()
            ),
            &stack.token("assoc-2", "associate", &store),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    clock.set(OffsetDateTime::now_utc());
    let created = [&r0, &r1, &r2, &r3, &r4, &r5, &r6];

    // Created, answered and timed out per local day, four days ago to today.
    let counts: BTreeMap<String, [u64; 3]> = [
        (4, [0, 0, 0]),
        (3, [3, 2, 1]),
        (2, [3, 2, 0]),
        (1, [1, 1, 0]),
        (0, [0, 0, 0]),
    ]
    .into_iter()
    .map(|(days_ago, counts)| ((today - time::Duration::days(days_ago)).to_string(), counts))
    .collect();
    // The answers' days (the API's instants: the clock moves a millisecond a reading).
    let day = |at: OffsetDateTime| local(at).date().to_string();
    let mut answer_times: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for answered in [&a0, &a1, &a3, &a4, &a5] {
        let when = day(instant(&answered["response"]["respondedAt"]));
        answer_times
            .entry(when)
            .or_default()
            .push(answer_ms(answered));
    }
    assert_eq!(
        answer_times.values().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 1],
        "answers three, two and one day ago"
    );
    let (from, to) = (
        (today - time::Duration::days(4)).to_string(),
        today.to_string(),
    );

    let browser = Browser::launch();
    let mut page = browser.page().await;
    // The browser stands in the store's zone: the view's zone defaults to it.
    page.call(
        "Emulation.setTimezoneOverride",
        json!({ "timezoneId": ZONE }),
    )
    .await;
    let downloads = browser.profile.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    page.call(
        "Browser.setDownloadBehavior",
        json!({ "behavior": "allow", "downloadPath": downloads.to_str().unwrap() }),
    )
    .await;
    let supervisor = stack.token("sup-1", "supervisor", &store);
    stack.sign_in(&mut page, &store, &supervisor).await;

    // The Reports view: its zone is the browser's; the range is picked, per day.
    page.eval("document.getElementById('tab-reports').click()")
        .await;
    assert_eq!(
        page.eval("document.getElementById('view-queue').hidden && !document.getElementById('view-reports').hidden")
            .await,
        json!(true)
    );
    assert_eq!(
        page.eval("document.getElementById('report-tz').value")
            .await,
        ZONE
    );
    page.eval(&format!(
        "document.getElementById('report-from').value = {}; \
         document.getElementById('report-to').value = {}; \
         document.getElementById('report-group').value = 'day'; \
         document.getElementById('report-show').click()",
        js(&from),
        js(&to)
    ))
    .await;
    page.until(
        "the report of the range drawn",
        &format!(
            "(r => r.dataset.loaded === 'true' && r.dataset.from === {} && r.dataset.to === {} \
             && r.dataset.tz === {} && !r.hasAttribute('aria-busy'))(document.getElementById('report'))",
            js(&from),
            js(&to),
            js(ZONE)
        ),
    )
    .await;
    assert_eq!(
        page.eval("document.getElementById('report-error').textContent")
            .await,
        ""
    );

    // The bars: one group per day of the range, each bar's value the day's count.
    let bars = page
        .eval(
            "[...document.querySelectorAll('#outcomes-chart rect.bar')] \
             .map(bar => [bar.dataset.bucket.slice(0, 10), bar.dataset.series, Number(bar.dataset.value)])",
        )
        .await;
    let mut drawn: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for bar in bars.as_array().unwrap() {
        let series = ["created", "answered", "timedOut"]
            .iter()
            .position(|s| bar[1] == *s)
            .unwrap_or_else(|| panic!("a bar of no series: {bar}"));
        drawn
            .entry(bar[0].as_str().unwrap().to_owned())
            .or_default()[series] = bar[2].as_u64().unwrap();
    }
    assert_eq!(
        drawn, counts,
        "bars per day: [created, answered, timed out]"
    );

    // The same in words and in a table, for who does not see the chart.
    let label = page
        .eval("document.getElementById('outcomes-chart').getAttribute('aria-label')")
        .await;
    assert!(
        label
            .as_str()
            .unwrap()
            .contains("7 created, 5 answered, 1 timed out"),
        "{label}"
    );
    assert_eq!(
        page.eval(
            "[...document.querySelectorAll('#buckets-table tbody tr')] \
             .map(tr => tr.querySelector('[data-field=created]').dataset.value)"
        )
        .await,
        json!(["0", "3", "3", "1", "0"])
    );

    // Time to answer: a p50 and a p90 point on each day with answers, none elsewhere.
    let points = page
        .eval(
            "[...document.querySelectorAll('#answer-chart circle.point')] \
             .map(point => [point.dataset.bucket.slice(0, 10), point.dataset.series, Number(point.dataset.value)])",
        )
        .await;
    let mut expected_points = Vec::new();
    for (day, times) in &answer_times {
        for (series, percent) in [("p50", 50), ("p90", 90)] {
            expected_points.push(json!([day, series, nearest_rank(times, percent)]));
        }
    }
    let mut drawn_points = points.as_array().unwrap().clone();
    drawn_points.sort_by_key(|point| point.to_string());
    expected_points.sort_by_key(|point| point.to_string());
    assert_eq!(drawn_points, expected_points, "time to answer per day");

    // The supervisors: most answers first.
    let supervisors = page
        .eval(
            "[...document.querySelectorAll('#supervisors-table tbody tr')].map(tr => { \
               const value = (field) => Number(tr.querySelector(`[data-field=${field}]`).dataset.value); \
               return [tr.dataset.subject, value('answers'), value('approved'), value('denied'), \
                       value('medianTimeToAnswerMs')]; })",
        )
        .await;
    let sup_1: Vec<i64> = [&a0, &a3, &a4].map(answer_ms).to_vec();
    let sup_2: Vec<i64> = [&a1, &a5].map(answer_ms).to_vec();
    assert_eq!(
        supervisors,
        json!([
            ["sup-1", 3, 2, 1, nearest_rank(&sup_1, 50)],
            ["sup-2", 2, 1, 1, nearest_rank(&sup_2, 50)],
        ])
    );

    // The heat map: each request in the cell of its local weekday and hour, no other cell lit.
    let mut cells: BTreeMap<(String, u8), u64> = BTreeMap::new();
    for request in &created {
        let at = local(instant(&request["createdAt"]));
        let weekday = WEEKDAYS[usize::from(at.weekday().number_days_from_monday())];
        *cells.entry((weekday.to_owned(), at.hour())).or_default() += 1;
    }
    let lit = page
        .eval(
            "[...document.querySelectorAll('#busy-chart rect.cell')] \
             .filter(cell => cell.dataset.value !== '0') \
             .map(cell => [cell.dataset.weekday, Number(cell.dataset.hour), Number(cell.dataset.value)])",
        )
        .await;
    let lit: BTreeMap<(String, u8), u64> = lit
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            (
                (
                    cell[0].as_str().unwrap().to_owned(),
                    u8::try_from(cell[1].as_u64().unwrap()).unwrap(),
                ),
                cell[2].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(lit, cells, "the heat map's lit cells");
    assert_eq!(cells.values().sum::<u64>(), 7);
    assert_eq!(
        cells[&(
            WEEKDAYS[usize::from(
                (today - time::Duration::days(2))
                    .weekday()
                    .number_days_from_monday()
            )]
            .to_owned(),
            23
        )],
        1,
        "raised at 23:59:30 local: 14:29:30 UTC"
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#busy-chart rect.cell').length")
            .await,
        json!(7 * 24)
    );
    assert_eq!(
        page.eval("document.querySelector('#report-totals [data-field=created] dd').textContent")
            .await,
        "7"
    );
    let shot = page.screenshot("console-reports.png").await;
    eprintln!("screenshot: {}", shot.display());

    // Per hour: 24 buckets a day (no daylight saving time in the zone), each request in the
    // hour it was raised, local time.
    page.eval(
        "document.getElementById('report-group').value = 'hour'; \
         document.getElementById('report-show').click()",
    )
    .await;
    page.until(
        "the report per hour drawn",
        "(r => r.dataset.loaded === 'true' && r.dataset.groupBy === 'hour' \
          && !r.hasAttribute('aria-busy'))(document.getElementById('report'))",
    )
    .await;
    let hours = page
        .eval(
            "[...document.querySelectorAll('#outcomes-chart rect.bar.created')] \
             .map(bar => [bar.dataset.bucket, Number(bar.dataset.value)])",
        )
        .await;
    let hours = hours.as_array().unwrap();
    assert_eq!(hours.len(), 5 * 24);
    let busy: Vec<(String, u64)> = hours
        .iter()
        .filter(|bar| bar[1] != 0)
        .map(|bar| {
            (
                bar[0].as_str().unwrap().to_owned(),
                bar[1].as_u64().unwrap(),
            )
        })
        .collect();
    let hour = |days_ago: i64, time: &str| {
        let start = at(days_ago, time);
        format!("{}T{:02}:00:00+09:30", start.date(), start.hour())
    };
    assert_eq!(
        busy,
        [
            (hour(3, "09:00:00"), 2),
            (hour(3, "14:00:00"), 1),
            (hour(2, "10:00:00"), 2),
            (hour(2, "23:00:00"), 1),
            (hour(1, "16:00:00"), 1),
        ]
        .to_vec(),
        "requests created per local hour"
    );

    // Download CSV, two requests a page: every page read, one header row, one file.
    page.eval(
        "document.getElementById('csv-download').dataset.pageSize = '2'; \
         document.getElementById('csv-download').click()",
    )
    .await;
    let exported = page
        .until(
            "the CSV export saved",
            "(link => link.dataset.pages && [link.download, Number(link.dataset.pages), \
             Number(link.dataset.rows)])(document.getElementById('csv-link'))",
        )
        .await;
    // The range's history as the JSON listing has it: the file must hold exactly these.
    let since = at(4, "00:00:00").format(&Rfc3339).unwrap();
    let until = local_at(today.next_day().unwrap(), 0, "00:00:00")
        .format(&Rfc3339)
        .unwrap();
    let (status, listed) = stack
        .api(
            "GET",
            &format!(
                "/stores/{store}/supervisor-requests?status=NOT_PENDING&limit=100&since={}&until={}",
                since.replace('+', "%2B"),
                until.replace('+', "%2B")
            ),
            &supervisor,
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["nextCursor"], Value::Null);
    let history: std::collections::BTreeSet<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["requestId"].as_str().unwrap().to_owned())
        .collect();
    for request in [&r0, &r1, &r2, &r3, &r4, &r5] {
        assert!(history.contains(request["requestId"].as_str().unwrap()));
    }
    assert_eq!(exported[2], history.len(), "rows: {exported}");
    assert!(
        exported[1].as_u64().unwrap() >= history.len().div_ceil(2) as u64,
        "pages: {exported}"
    );
    let file = downloads.join(exported[0].as_str().unwrap());
    integration_tests::eventually(PATIENCE, || {
        let file = file.clone();
        async move { file.exists() }
    })
    .await;
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(artifacts_dir().join("console-export.csv"), &bytes).unwrap();
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte order mark, for spreadsheets");
    let records = csv_records(text);
    assert_eq!(records[0], CSV_COLUMNS, "one header row, first");
    let rows: BTreeMap<String, BTreeMap<&str, String>> = records[1..]
        .iter()
        .map(|record| {
            assert_eq!(record.len(), CSV_COLUMNS.len(), "{record:?}");
            let row: BTreeMap<&str, String> = CSV_COLUMNS
                .iter()
                .copied()
                .zip(record.iter().cloned())
                .collect();
            (row["requestId"].clone(), row)
        })
        .collect();
    assert_eq!(
        rows.len(),
        records.len() - 1,
        "a request twice: {records:?}"
    );
    assert_eq!(
        rows.keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        history,
        "the file's requests are the range's history"
    );
    for answered in [&a0, &a1, &a3, &a4, &a5] {
        let row = &rows[answered["requestId"].as_str().unwrap()];
        assert_eq!(
            row["decision"],
            answered["response"]["decision"].as_str().unwrap()
        );
        assert_eq!(
            row["respondedBy"],
            answered["response"]["respondedBy"].as_str().unwrap()
        );
        let seconds: f64 = row["timeToAnswerSeconds"].parse().unwrap();
        assert!(
            (seconds * 1000.0 - answer_ms(answered) as f64).abs() < 1.0,
            "{row:?}"
        );
    }
    let row = |request: &Value| rows[request["requestId"].as_str().unwrap()].clone();
    assert_eq!(
        row(&a4)["note"],
        format!("'{formula}"),
        "the formula neutralised"
    );
    for answered in [&a0, &a1, &a3, &a4, &a5] {
        assert_eq!(row(answered)["status"], "RESPONSE_RECEIVED");
    }
    assert_eq!(row(&r2)["status"], "TIMEOUT");
    assert_eq!(row(&r2)["decision"], "", "timed out: no decision");
    assert_eq!(row(&r2)["respondedBy"], "");
}
