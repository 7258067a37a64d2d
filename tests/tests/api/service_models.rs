//! One contract, two service models. The same HTTP requests, with real tokens signed by the
//! local identity provider, go to the Lambda model (the local gateway: API Gateway's
//! routing, the Lambda authorizer, each function's adapter and handler) and to the
//! long-running server over real HTTP (its own routing and in-process verification, the same
//! handlers). Every answer is held to the OpenAPI document, and each scenario must end the same
//! way in both: the authorization matrix, the workflow and its deadline, bodies and errors,
//! idempotency, the gateway's own answers.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method};
use integration_tests::{fresh_store, gateway_parts, hold_gateway_answer, hold_http_answer};
use local_gateway::oidc::LocalIssuer;
use local_gateway::{Gateway, Incoming};
use serde_json::Value;
use store_server::metrics::Metrics;
use store_server::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Lambda,
    Server,
}

const MODELS: [Model; 2] = [Model::Lambda, Model::Server];

/// An answer: status, headers, JSON body (`Null` when empty).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

struct Harness {
    issuer: Arc<LocalIssuer>,
    gateway: Gateway,
    server: SocketAddr,
}

/// Sends one HTTP/1.1 request to `address` and reads the whole answer.
pub async fn http(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse_answer(&raw)
}

/// An HTTP/1.1 answer (`content-length` or close-delimited) taken apart.
pub fn parse_answer(raw: &[u8]) -> (u16, HeaderMap, Vec<u8>) {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            http::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    (status, headers, raw[split + 4..].to_vec())
}

/// A server running on a loopback port: stop it with `stop`, then await `serving`.
pub struct Running {
    pub address: SocketAddr,
    pub server: Arc<Server>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub serving: tokio::task::JoinHandle<Result<(), String>>,
}

/// The server on a loopback port, on `app`'s tables (the test tables by default), trusting
/// `issuer`.
pub async fn spawn_server(
    issuer: &LocalIssuer,
    config: ServerConfig,
    app: Option<shared::App>,
) -> Running {
    let app = match app {
        Some(app) => app,
        None => integration_tests::app().await,
    };
    let app: &'static shared::App = Box::leak(Box::new(app));
    let authenticator = Box::leak(Box::new(issuer.authenticator("store-services")));
    let server = Server::new(app, authenticator, config, Arc::new(Metrics::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(Arc::clone(&server).serve(listener, async move {
        let _ = stopped.await;
    }));
    Running {
        address,
        server,
        stop,
        serving,
    }
}

impl Harness {
    async fn start() -> Self {
        let issuer = LocalIssuer::spawn().await.unwrap();
        let gateway = Gateway {
            app: integration_tests::app().await,
            authenticator: issuer.authenticator("store-services"),
            issuer: None,
        };
        let config = ServerConfig {
            rate_per_second: 0,
            ..ServerConfig::default()
        };
        let running = spawn_server(&issuer, config, None).await;
        // The server lives as long as the test process.
        std::mem::forget(running.stop);
        Self {
            issuer,
            gateway,
            server: running.address,
        }
    }

    fn token(&self, sub: &str, role: &str, stores: &[&str]) -> String {
        bearer(&self.issuer, sub, role, stores)
    }

    /// `method target` (a path, `?query` optional) to `model`, as `token`'s holder, with
    /// `headers` and `body`.
    async fn call(
        &self,
        model: Model,
        method: Method,
        target: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !headers.iter().any(|(name, _)| *name == "content-type") {
            all.push(("content-type", "application/json"));
        }
        if let Some(token) = token {
            all.push(("authorization", token));
        }
        match model {
            Model::Lambda => {
                let mut map = HeaderMap::new();
                for (name, value) in &all {
                    map.append(
                        http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        HeaderValue::from_str(value).unwrap(),
                    );
                }
                let response = self
                    .gateway
                    .handle(Incoming {
                        method: &method,
                        path,
                        raw_query: query,
                        headers: &map,
                        body: body.as_bytes(),
                    })
                    .await;
                hold_gateway_answer(method.as_str(), path, &response);
                let headers = response.headers().clone();
                let (status, body) = gateway_parts(response);
                Reply {
                    status,
                    headers,
                    body,
                }
            }
            Model::Server => {
                let (status, headers, bytes) =
                    http(self.server, method.as_str(), target, &all, body).await;
                let mut response = http::Response::new(bytes.clone());
                *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
                *response.headers_mut() = headers.clone();
                hold_http_answer(method.as_str(), path, &response);
                let body = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).expect("a JSON answer")
                };
                Reply {
                    status,
                    headers,
                    body,
                }
            }
        }
    }
}

/// `Bearer <token>` of `issuer` for `sub`, a `role` in `stores`.
pub fn bearer(issuer: &LocalIssuer, sub: &str, role: &str, stores: &[&str]) -> String {
    let token = issuer.token("store-services", (sub, role, stores), 0, 600);
    format!("Bearer {token}")
}

fn code(reply: &Reply) -> &str {
    reply.body["error"]["code"]
        .as_str()
        .or(reply.body["message"].as_str())
        .unwrap_or("")
}

/// Who may do what, per role, in both models: the same statuses and codes.
#[tokio::test]
async fn the_authorization_matrix_is_the_same_in_both_models() {
    let harness = Harness::start().await;
    let mut outcomes = Vec::new();
    for model in MODELS {
        let store = fresh_store();
        let other = fresh_store();
        let requests = format!("/stores/{store}/supervisor-requests");
        let associate = harness.token("ana", "associate", &[&store]);
        let supervisor = harness.token("sam", "supervisor", &[&store]);
        let admin = harness.token("ada", "admin", &[&store]);
        let stranger = harness.token("ana", "admin", &[&other]);
        let created = harness
            .call(
                model,
                Method::POST,
                &requests,
                Some(&associate),
                &[],
                r#"{"requestType":"REFUND","details":"till 2"}"#,
            )
            .await;
        assert_eq!(created.status, 201, "{model:?}: {:?}", created.body);
        let id = created.body["requestId"].as_str().unwrap().to_owned();
        let answer = format!("{requests}/{id}/response");
        let cases: Vec<(&str, Method, String, Option<&str>, &str)> = vec![
            ("no token", Method::GET, requests.clone(), None, ""),
            (
                "garbage token",
                Method::GET,
                requests.clone(),
                Some("Bearer not.a.token"),
                "",
            ),
            (
                "another store's caller",
                Method::GET,
                requests.clone(),
                Some(&stranger),
                "",
            ),
            (
                "associate reads the queue",
                Method::GET,
                requests.clone(),
                Some(&associate),
                "",
            ),
            (
                "associate answers",
                Method::POST,
                answer.clone(),
                Some(&associate),
                r#"{"decision":"APPROVED"}"#,
            ),
            (
                "associate reads the store's events",
                Method::GET,
                format!("/stores/{store}/supervisor-request-events"),
                Some(&associate),
                "",
            ),
            (
                "admin reads the store's events",
                Method::GET,
                format!("/stores/{store}/supervisor-request-events"),
                Some(&admin),
                "",
            ),
            (
                "supervisor creates a master item",
                Method::POST,
                format!("/stores/{store}/master-items"),
                Some(&supervisor),
                r#"{"name":"Milk","currency":"USD"}"#,
            ),
            (
                "admin creates a master item",
                Method::POST,
                format!("/stores/{store}/master-items"),
                Some(&admin),
                r#"{"name":"Milk","currency":"USD"}"#,
            ),
            (
                "supervisor answers",
                Method::POST,
                answer.clone(),
                Some(&supervisor),
                r#"{"decision":"APPROVED"}"#,
            ),
            (
                "admin answers again",
                Method::POST,
                answer.clone(),
                Some(&admin),
                r#"{"decision":"DENIED"}"#,
            ),
        ];
        let mut seen = Vec::new();
        for (why, method, path, token, body) in cases {
            let reply = harness.call(model, method, &path, token, &[], body).await;
            seen.push((why, reply.status, code(&reply).to_owned()));
        }
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let statuses: Vec<u16> = outcomes[0].iter().map(|(_, status, _)| *status).collect();
    assert_eq!(
        statuses,
        [401, 403, 403, 200, 403, 403, 200, 403, 201, 200, 409]
    );
}

/// The workflow through its deadline, and every way a body or query goes wrong.
#[tokio::test]
async fn the_workflow_and_its_refusals_are_the_same_in_both_models() {
    let harness = Harness::start().await;
    let mut outcomes = Vec::new();
    for model in MODELS {
        let store = fresh_store();
        let requests = format!("/stores/{store}/supervisor-requests");
        let associate = harness.token("ana", "associate", &[&store]);
        let supervisor = harness.token("sam", "supervisor", &[&store]);
        let mut seen: Vec<(&str, u16, String)> = Vec::new();
        let mut note = |why, reply: &Reply| seen.push((why, reply.status, code(reply).to_owned()));

        // Idempotency: a retry replays the first answer; another body with the key is refused.
        let body = r#"{"requestType":"VOID","priority":"URGENT","details":"line 3 twice"}"#;
        let key = [("idempotency-key", "retry-1")];
        let first = harness
            .call(model, Method::POST, &requests, Some(&associate), &key, body)
            .await;
        let again = harness
            .call(model, Method::POST, &requests, Some(&associate), &key, body)
            .await;
        assert_eq!(first.body, again.body, "{model:?}");
        assert_eq!(again.headers["idempotent-replayed"], "true");
        note("create", &first);
        note("replay", &again);
        let other = r#"{"requestType":"VOID","details":"another"}"#;
        note(
            "key reused",
            &harness
                .call(
                    model,
                    Method::POST,
                    &requests,
                    Some(&associate),
                    &key,
                    other,
                )
                .await,
        );
        let id = first.body["requestId"].as_str().unwrap().to_owned();

        let queue = harness
            .call(
                model,
                Method::GET,
                &format!("{requests}?status=PENDING&limit=5"),
                Some(&supervisor),
                &[],
                "",
            )
            .await;
        assert_eq!(queue.body["items"][0]["requestId"], id.as_str());
        note("queue", &queue);
        let edit = harness
            .call(
                model,
                Method::PATCH,
                &format!("{requests}/{id}"),
                Some(&associate),
                &[("if-match", "\"9\"")],
                r#"{"priority":"LOW"}"#,
            )
            .await;
        note("stale edit", &edit);
        note(
            "own answer",
            &harness
                .call(
                    model,
                    Method::POST,
                    &format!("{requests}/{id}/response"),
                    Some(&associate),
                    &[],
                    r#"{"decision":"APPROVED"}"#,
                )
                .await,
        );
        note(
            "answer",
            &harness
                .call(
                    model,
                    Method::POST,
                    &format!("{requests}/{id}/response"),
                    Some(&supervisor),
                    &[],
                    r#"{"decision":"APPROVED","note":"ok"}"#,
                )
                .await,
        );
        note(
            "delete history",
            &harness
                .call(
                    model,
                    Method::DELETE,
                    &format!("{requests}/{id}"),
                    Some(&associate),
                    &[],
                    "",
                )
                .await,
        );
        let events = harness
            .call(
                model,
                Method::GET,
                &format!("{requests}/{id}/events"),
                Some(&associate),
                &[],
                "",
            )
            .await;
        let kinds: Vec<&str> = events.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["created", "answered"], "{model:?}");

        // A request past its deadline: the answer is refused, and it is timed out.
        let expired = plant_expired(&harness.gateway.app, &store).await;
        let late = harness
            .call(
                model,
                Method::POST,
                &format!("{requests}/{expired}/response"),
                Some(&supervisor),
                &[],
                r#"{"decision":"APPROVED"}"#,
            )
            .await;
        note("late answer", &late);
        let timed_out = harness
            .call(
                model,
                Method::GET,
                &format!("{requests}/{expired}"),
                Some(&associate),
                &[],
                "",
            )
            .await;
        assert_eq!(timed_out.body["statusCode"], "TIMEOUT", "{model:?}");

        // Bodies and queries that go wrong.
        note(
            "broken JSON",
            &harness
                .call(model, Method::POST, &requests, Some(&associate), &[], "{")
                .await,
        );
        note(
            "wrong shape",
            &harness
                .call(
                    model,
                    Method::POST,
                    &requests,
                    Some(&associate),
                    &[],
                    r#"{"requestType":"NAP","details":7}"#,
                )
                .await,
        );
        note(
            "not JSON",
            &harness
                .call(
                    model,
                    Method::POST,
                    &requests,
                    Some(&associate),
                    &[("content-type", "text/plain")],
                    "hello",
                )
                .await,
        );
        let big = format!(
            r#"{{"requestType":"VOID","details":"{}"}}"#,
            "x".repeat(20_000)
        );
        note(
            "over the handlers' limit",
            &harness
                .call(model, Method::POST, &requests, Some(&associate), &[], &big)
                .await,
        );
        note(
            "unknown query",
            &harness
                .call(
                    model,
                    Method::GET,
                    &format!("{requests}?stauts=PENDING"),
                    Some(&associate),
                    &[],
                    "",
                )
                .await,
        );
        note(
            "forged cursor",
            &harness
                .call(
                    model,
                    Method::GET,
                    &format!("{requests}?cursor=abc"),
                    Some(&associate),
                    &[],
                    "",
                )
                .await,
        );
        note(
            "unknown path",
            &harness
                .call(
                    model,
                    Method::GET,
                    &format!("/stores/{store}/nothing"),
                    Some(&associate),
                    &[],
                    "",
                )
                .await,
        );
        note(
            "wrong method",
            &harness
                .call(model, Method::PUT, &requests, Some(&associate), &[], "")
                .await,
        );
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let statuses: Vec<(&str, u16)> = outcomes[0]
        .iter()
        .map(|(why, status, _)| (*why, *status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("create", 201),
            ("replay", 201),
            ("key reused", 422),
            ("queue", 200),
            ("stale edit", 412),
            ("own answer", 403),
            ("answer", 200),
            ("delete history", 409),
            ("late answer", 409),
            ("broken JSON", 400),
            ("wrong shape", 422),
            ("not JSON", 415),
            ("over the handlers' limit", 413),
            ("unknown query", 400),
            ("forged cursor", 400),
            ("unknown path", 404),
            ("wrong method", 405),
        ]
    );
}

/// A pending request whose deadline has passed (the sweeper has not moved it yet).
async fn plant_expired(app: &shared::App, store: &str) -> String {
    use shared::domain::supervisor_request::{
        Details, NewRequest, Priority, RequestType, SupervisorRequest,
    };
    let created = time::OffsetDateTime::now_utc() - time::Duration::minutes(2);
    let request = SupervisorRequest::new(
        shared::domain::ids::StoreId::parse(store).unwrap(),
        NewRequest {
            request_type: RequestType::Void,
            priority: Priority::Normal,
            details: Details::parse("details", "expired".into()).unwrap(),
            timeout: None,
        },
        "ana".into(),
        created,
        time::Duration::seconds(30),
    );
    let event = shared::domain::audit::RequestEvent::of(
        shared::domain::audit::EventType::Created,
        None,
        Some(&request),
        shared::domain::audit::Actor {
            subject: "ana".into(),
            role: shared::domain::audit::ActorRole::Associate,
        },
        created,
    );
    app.requests.create(&request, &event, None).await.unwrap();
    request.request_id.to_string()
}

/// `/openapi.json` is the same document in both models.
#[tokio::test]
async fn both_models_serve_the_same_document() {
    let harness = Harness::start().await;
    let (status, _, bytes) = http(harness.server, "GET", "/openapi.json", &[], "").await;
    assert_eq!(status, 200);
    let served: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(served, local_gateway::openapi::document());
}
