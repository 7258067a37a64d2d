//! The live queue: DynamoDB Local's stream → the real `notify` handler → the local WebSocket
//! API, with real WebSocket clients. Nothing on the path is mocked.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use integration_tests::{Event, call_function, event, fresh_store};
use local_gateway::Gateway;
use local_gateway::oidc::LocalIssuer;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a message may take to arrive before a test gives up (generous: CI machines).
const PATIENCE: Duration = Duration::from_secs(15);

struct Live {
    gateway: Arc<Gateway>,
    issuer: Arc<LocalIssuer>,
    ws: String,
    management: aws_sdk_apigatewaymanagement::Client,
}

impl Live {
    /// The gateway's app on tables of its own, the local issuer, the WebSocket API on a free
    /// port, and the stream reader feeding `notify`; returns once a change reaches a client.
    async fn start() -> Self {
        let stack = integration_tests::live_stack().await;
        let live = Self {
            gateway: stack.gateway,
            issuer: stack.issuer,
            ws: format!("ws://127.0.0.1:{}", stack.ws_port),
            management: stack.management,
        };
        live.wait_until_flowing().await;
        live
    }

    /// The reader starts at the stream's end: probe a store of its own until a change made
    /// after that reaches a listener.
    async fn wait_until_flowing(&self) {
        let probe = fresh_store();
        let mut listener = self.connect(&probe, "prober", "supervisor").await;
        for _ in 0..30 {
            self.create(&probe, "probe-raiser").await;
            if tokio::time::timeout(Duration::from_millis(500), listener.next())
                .await
                .is_ok()
            {
                return;
            }
        }
        panic!("the stream never reached a listener");
    }

    fn token(&self, sub: &str, role: &str, stores: &[&str]) -> String {
        self.token_issued(sub, role, stores, 0, 600)
    }

    /// A token issued `issued_in` seconds from now, living `lifetime` seconds from then.
    fn token_issued(
        &self,
        sub: &str,
        role: &str,
        stores: &[&str],
        issued_in: u64,
        lifetime: u64,
    ) -> String {
        self.issuer
            .token("store-services", (sub, role, stores), issued_in, lifetime)
    }

    async fn try_connect(&self, query: &str) -> Result<Client, u16> {
        match connect_async(format!("{}/?{query}", self.ws)).await {
            Ok((client, _)) => Ok(client),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("{other}"),
        }
    }

    async fn connect(&self, store: &str, sub: &str, role: &str) -> Client {
        let token = self.token(sub, role, &[store]);
        self.try_connect(&format!("store={store}&token={token}"))
            .await
            .unwrap()
    }

    fn as_(&self, fixture: &str, store: &str, sub: &str, role: &str) -> Event {
        event(fixture).store(store).principal(sub, role, &[store])
    }

    async fn create(&self, store: &str, by: &str) -> String {
        let (status, body) = call_function(
            &self.gateway.app,
            "create-request",
            self.as_("create-request", store, by, "associate")
                .without_header("idempotency-key")
                .json(json!({"requestType": "VOID", "details": "line 3 twice"}))
                .build(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        body["requestId"].as_str().unwrap().to_owned()
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The next message a client gets, as JSON.
async fn next(client: &mut Client) -> Value {
    loop {
        let frame = tokio::time::timeout(PATIENCE, client.next())
            .await
            .expect("a message within the patience")
            .expect("the connection is open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

fn summary(message: &Value) -> (String, String) {
    (
        message["type"].as_str().unwrap().to_owned(),
        message["request"]["requestId"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_change_reaches_exactly_those_who_may_see_it() {
    let live = Live::start().await;
    let (store, other_store) = (fresh_store(), fresh_store());
    let mut supervisor_1 = live.connect(&store, "sup-1", "supervisor").await;
    let mut supervisor_2 = live.connect(&store, "sup-2", "supervisor").await;
    let mut elsewhere = live.connect(&other_store, "sup-3", "supervisor").await;
    let mut raiser = live.connect(&store, "assoc-1", "associate").await;
    let mut bystander = live.connect(&store, "assoc-2", "associate").await;

    let id = live.create(&store, "assoc-1").await;
    let created = ("request.created".to_owned(), id.clone());
    assert_eq!(summary(&next(&mut supervisor_1).await), created);
    assert_eq!(summary(&next(&mut supervisor_2).await), created);
    let mine = next(&mut raiser).await;
    assert_eq!(summary(&mine), created);
    assert_eq!(mine["request"]["statusCode"], "PENDING_RESPONSE");

    let (status, _) = call_function(
        &live.gateway.app,
        "respond-to-request",
        live.as_("respond-to-request", &store, "sup-1", "supervisor")
            .request_id(&id)
            .json(json!({"decision": "DENIED", "note": "no receipt"}))
            .build(),
    )
    .await;
    assert_eq!(status, 200);
    let answer = next(&mut raiser).await;
    assert_eq!(
        summary(&answer),
        ("request.answered".to_owned(), id.clone())
    );
    assert_eq!(answer["request"]["response"]["decision"], "DENIED");
    assert_eq!(
        summary(&next(&mut supervisor_2).await).0,
        "request.answered"
    );

    // Nothing of the first store reached the other store's supervisor, nor the associate who
    // did not raise it: the first message each gets is of their own.
    let theirs = live.create(&other_store, "assoc-9").await;
    assert_eq!(
        summary(&next(&mut elsewhere).await),
        ("request.created".to_owned(), theirs)
    );
    let own = live.create(&store, "assoc-2").await;
    assert_eq!(
        summary(&next(&mut bystander).await),
        ("request.created".to_owned(), own)
    );
}

#[tokio::test]
async fn connections_without_a_valid_token_or_store_are_refused_at_connect() {
    let live = Live::start().await;
    let store = fresh_store();
    let token = live.token("sup-1", "supervisor", &[&store]);
    assert_eq!(
        live.try_connect(&format!("store={store}")).await.err(),
        Some(401)
    );
    assert_eq!(
        live.try_connect(&format!("store={store}&token=not.a.token"))
            .await
            .err(),
        Some(401)
    );
    let other = fresh_store();
    assert_eq!(
        live.try_connect(&format!("store={other}&token={token}"))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        live.try_connect(&format!("store=a%23b&token={token}"))
            .await
            .err(),
        Some(400)
    );
    // Issued ten years ahead with a minute to live: it would outlive the lifetime cap.
    let future = live.token_issued("sup-1", "supervisor", &[&store], 10 * 365 * 86_400, 60);
    assert_eq!(
        live.try_connect(&format!("store={store}&token={future}"))
            .await
            .err(),
        Some(401)
    );
}

/// API Gateway keeps a WebSocket open for two hours, whatever the token; pushes stop when
/// the token that opened it expires (the connection's record lives no longer).
#[tokio::test]
async fn a_connection_is_pushed_to_only_while_its_token_lives() {
    let live = Live::start().await;
    let store = fresh_store();
    let token = live.token_issued("sup-1", "supervisor", &[&store], 0, 300);
    let _client = live
        .try_connect(&format!("store={store}&token={token}"))
        .await
        .unwrap();
    let store_id = shared::domain::ids::StoreId::parse(&store).unwrap();
    let connections = live
        .gateway
        .app
        .connections
        .listening_to(&store_id, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(connections.len(), 1);
    let expires = connections[0].expires_at.unix_timestamp();
    let token_exp = i64::try_from(unix_now() + 300).unwrap();
    assert!(
        (token_exp - 5..=token_exp).contains(&expires),
        "{expires} vs {token_exp}"
    );
    // Just after the token's expiry, notify finds nobody to push to.
    let after = time::OffsetDateTime::from_unix_timestamp(expires + 1).unwrap();
    assert!(
        live.gateway
            .app
            .connections
            .listening_to(&store_id, after)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn junk_frames_are_answered_with_an_error_and_the_connection_lives_on() {
    let live = Live::start().await;
    let store = fresh_store();
    let mut client = live.connect(&store, "sup-1", "supervisor").await;
    client.send(Message::text("{not json")).await.unwrap();
    assert_eq!(next(&mut client).await["message"], "Forbidden");
    client
        .send(Message::binary(vec![0xff, 0x00, 0x13]))
        .await
        .unwrap();
    assert_eq!(next(&mut client).await["message"], "Forbidden");
    let id = live.create(&store, "assoc-1").await;
    assert_eq!(summary(&next(&mut client).await).1, id);
}

/// RFC 6455 §5.5.1: a client's Close frame is answered with a Close frame (browsers
/// otherwise report 1006, and clients wait out their close timeout), and the connection
/// is forgotten.
#[tokio::test]
async fn a_client_close_completes_the_closing_handshake() {
    let live = Live::start().await;
    let store = fresh_store();
    let mut client = live.connect(&store, "sup-1", "supervisor").await;
    client.close(None).await.unwrap();
    let reply = tokio::time::timeout(PATIENCE, client.next())
        .await
        .expect("an answer to the Close frame");
    assert!(
        matches!(reply, Some(Ok(Message::Close(_)))),
        "expected a Close frame, got {reply:?}"
    );
    eventually(|| async { listening(&live, &store).await.is_empty() }).await;
}

async fn listening(live: &Live, store: &str) -> Vec<String> {
    live.gateway
        .app
        .connections
        .listening_to(
            &shared::domain::ids::StoreId::parse(store).unwrap(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.connection_id)
        .collect()
}

/// Polls `check` until it holds, within the patience.
async fn eventually<F: std::future::Future<Output = bool>>(check: impl FnMut() -> F) {
    integration_tests::eventually(PATIENCE, check).await
}

#[tokio::test]
async fn disconnected_and_gone_connections_are_forgotten() {
    let live = Live::start().await;
    let store = fresh_store();
    let mut client = live.connect(&store, "sup-1", "supervisor").await;
    assert_eq!(listening(&live, &store).await.len(), 1);
    client.close(None).await.unwrap();
    eventually(|| async { listening(&live, &store).await.is_empty() }).await;

    // A connection whose client vanished without $disconnect: the management API answers
    // 410 Gone, and notify removes its record.
    let ghost = shared::store::connections::Connection {
        connection_id: "ghost-connection".into(),
        listener: shared::auth::principal::Principal {
            subject: "sup-2".into(),
            role: shared::auth::principal::Role::Supervisor,
            stores: vec![shared::domain::ids::StoreId::parse(&store).unwrap()],
        },
        expires_at: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    };
    live.gateway.app.connections.put(&ghost).await.unwrap();
    let mut witness = live.connect(&store, "sup-3", "supervisor").await;
    live.create(&store, "assoc-1").await;
    next(&mut witness).await;
    eventually(|| async {
        !listening(&live, &store)
            .await
            .contains(&"ghost-connection".to_owned())
    })
    .await;
}

/// A DynamoDB stream record as Lambda delivers it, of a request record's change.
fn record(
    sequence: &str,
    new_image: shared::store::codec::Attributes,
) -> aws_lambda_events::dynamodb::EventRecord {
    let convert = |item: shared::store::codec::Attributes| -> serde_dynamo::Item {
        item.into_iter()
            .map(|(name, value)| (name, serde_dynamo::AttributeValue::from(value)))
            .collect::<std::collections::HashMap<_, _>>()
            .into()
    };
    let mut change = aws_lambda_events::dynamodb::StreamRecord::default();
    let keys: shared::store::codec::Attributes = new_image
        .iter()
        .filter(|(name, _)| *name == "storeId" || *name == "sk")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    change.keys = convert(keys);
    change.new_image = convert(new_image);
    change.sequence_number = Some(sequence.into());
    let mut record = aws_lambda_events::dynamodb::EventRecord::default();
    record.event_id = format!("event-{sequence}");
    record.event_name = "INSERT".into();
    record.change = change;
    record
}

/// A request record of `store`, as a stream image, with its sequence number.
fn request_record(
    store: &str,
    details: &str,
) -> (
    shared::domain::supervisor_request::SupervisorRequest,
    shared::store::codec::Attributes,
) {
    let request = shared::domain::supervisor_request::SupervisorRequest::new(
        shared::domain::ids::StoreId::parse(store).unwrap(),
        shared::domain::supervisor_request::NewRequest {
            request_type: shared::domain::supervisor_request::RequestType::Void,
            priority: shared::domain::supervisor_request::Priority::Urgent,
            details: shared::domain::supervisor_request::Details::parse("d", details.into())
                .unwrap(),
            timeout: None,
        },
        "assoc-1".into(),
        time::OffsetDateTime::now_utc(),
        time::Duration::minutes(10),
    );
    let item = shared::store::keys::record_item(&request);
    (request, item)
}

/// Lambda checkpoints a stream at the lowest failed sequence number and retries every record
/// from there: so a failing record ends the batch, nothing before it is sent again on the
/// retry and nothing after it is sent twice.
#[tokio::test]
async fn a_failing_record_ends_the_batch_so_the_retry_sends_nothing_twice() {
    let live = Live::start().await;
    let store = fresh_store();
    let mut supervisor = live.connect(&store, "sup-1", "supervisor").await;
    let (first, first_item) = request_record(&store, "till 1");
    let (_, mut broken) = request_record(&store, "till 2");
    broken.remove("details");
    let (third, third_item) = request_record(&store, "till 3");
    let batch = |records| {
        let mut event = aws_lambda_events::dynamodb::Event::default();
        event.records = records;
        event
    };
    let failures =
        |response: aws_lambda_events::streams::DynamoDbEventResponse| -> Vec<Option<String>> {
            response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect()
        };

    let response = notify::handler(
        &live.gateway.app,
        &live.management,
        batch(vec![
            record("100", first_item),
            record("200", broken.clone()),
            record("300", third_item.clone()),
        ]),
    )
    .await;
    assert_eq!(failures(response), [Some("200".to_owned())]);
    assert_eq!(
        summary(&next(&mut supervisor).await),
        ("request.created".to_owned(), first.request_id.to_string())
    );

    // The retry starts at the failed record; once it is dealt with (here: it now decodes,
    // as after a fix; in AWS, bisection or the on-failure queue), the rest goes out once.
    let mut mended = broken;
    mended.insert(
        "details".into(),
        aws_sdk_dynamodb::types::AttributeValue::S("till 2".into()),
    );
    let mended_id = request_id_of(&mended);
    let response = notify::handler(
        &live.gateway.app,
        &live.management,
        batch(vec![record("200", mended), record("300", third_item)]),
    )
    .await;
    assert!(failures(response).is_empty());
    let received: Vec<String> = vec![
        summary(&next(&mut supervisor).await).1,
        summary(&next(&mut supervisor).await).1,
    ];
    assert_eq!(received, [mended_id, third.request_id.to_string()]);
    // Nothing else was sent: the next message is of a request created after the retry.
    let later = live.create(&store, "assoc-1").await;
    assert_eq!(summary(&next(&mut supervisor).await).1, later);
}

fn request_id_of(item: &shared::store::codec::Attributes) -> String {
    shared::store::codec::request_from_item(item)
        .unwrap()
        .request_id
        .to_string()
}

/// The fixtures of the live path run their functions as they are: `sam local invoke` and
/// `cargo lambda invoke` get the same events.
#[tokio::test]
async fn each_live_fixture_runs_its_function() {
    let live = Live::start().await;
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/../events/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let connect: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest =
        serde_json::from_str(&fixture("ws-connect")).unwrap();
    // Its token is a placeholder (`make token` prints a real one): refused, cleanly.
    let refused =
        ws_connect::handler(&live.gateway.app, &live.gateway.authenticator, &connect).await;
    assert_eq!(refused.status_code, 401);
    let disconnect: aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest =
        serde_json::from_str(&fixture("ws-disconnect")).unwrap();
    assert_eq!(
        ws_disconnect::handler(&live.gateway.app, &disconnect)
            .await
            .status_code,
        200
    );
    let stream: aws_lambda_events::dynamodb::Event =
        serde_json::from_str(&fixture("notify")).unwrap();
    let response = notify::handler(&live.gateway.app, &live.management, stream).await;
    assert!(response.batch_item_failures.is_empty());
}
