//! API Gateway's WebSocket API, locally: clients connect to `ws://127.0.0.1:{WS_PORT}/?store=…&token=…`,
//! the real `ws-connect` handler decides (a refusal answers the upgrade with its status, as
//! API Gateway does), frames go to the client, and closing runs the real `ws-disconnect`.
//!
//! The same port answers the management API's `@connections` calls (`POST` to send, `GET`,
//! `DELETE`), with 410 `GoneException` for a connection that is not open, so `notify` runs
//! unchanged with only its endpoint overridden (`AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::Gateway;

/// Frames waiting for a client that reads slowly: past this, the connection is dropped
/// rather than holding memory for it (API Gateway also drops slow consumers).
const OUTBOX: usize = 256;

type Outbox = mpsc::Sender<Message>;

/// The open connections, by id.
#[derive(Default)]
pub struct WebSocketApi {
    open: Mutex<HashMap<String, Outbox>>,
}

impl WebSocketApi {
    pub fn open_connections(&self) -> usize {
        self.open.lock().expect("connections lock").len()
    }

    /// Serves connections and `@connections` calls on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, gateway: Arc<Gateway>, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (api, gateway) = (Arc::clone(&self), Arc::clone(&gateway));
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let (api, gateway) = (Arc::clone(&api), Arc::clone(&gateway));
                    async move { Ok::<_, Infallible>(api.route(gateway, request).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    }

    async fn route(
        self: Arc<Self>,
        gateway: Arc<Gateway>,
        request: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        if let Some(id) = request.uri().path().strip_prefix("/@connections/") {
            let id = id.to_owned();
            return self.manage(request, &id).await;
        }
        if request.headers().get(UPGRADE).and_then(|v| v.to_str().ok()) != Some("websocket") {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"message": "WebSocket upgrade expected"}),
            );
        }
        self.connect(gateway, request).await
    }

    /// `$connect`: the handler decides; on 200 the upgrade completes and frames flow.
    async fn connect(
        self: Arc<Self>,
        gateway: Arc<Gateway>,
        mut request: Request<Incoming>,
    ) -> Response<Full<Bytes>> {
        let Some(key) = request.headers().get(SEC_WEBSOCKET_KEY).cloned() else {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"message": "Sec-WebSocket-Key missing"}),
            );
        };
        let connection_id = ulid::Ulid::new().to_string();
        let event = websocket_event(&request, &connection_id, "$connect", "CONNECT");
        let decision = ws_connect::handler(&gateway.app, &gateway.authenticator, &event).await;
        if decision.status_code != 200 {
            let status =
                StatusCode::from_u16(decision.status_code as u16).unwrap_or(StatusCode::FORBIDDEN);
            return json_response(status, json!({"message": status.canonical_reason()}));
        }
        let (outbox, mut inbox) = mpsc::channel::<Message>(OUTBOX);
        self.open
            .lock()
            .expect("connections lock")
            .insert(connection_id.clone(), outbox);
        let upgrade = hyper::upgrade::on(&mut request);
        let api = Arc::clone(&self);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else {
                api.close(&gateway, &connection_id, &request).await;
                return;
            };
            let socket =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            let (mut to_client, mut from_client) = socket.split();
            loop {
                tokio::select! {
                    outgoing = inbox.recv() => match outgoing {
                        Some(message) => {
                            let closing = matches!(message, Message::Close(_));
                            if to_client.send(message).await.is_err() || closing {
                                break;
                            }
                        }
                        None => break,
                    },
                    incoming = from_client.next() => match incoming {
                        // No route takes client messages (no $default): API Gateway answers
                        // with an error frame, and so does this.
                        Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                            let error = json!({
                                "message": "Forbidden",
                                "connectionId": connection_id,
                                "requestId": ulid::Ulid::new().to_string(),
                            });
                            if to_client.send(Message::text(error.to_string())).await.is_err() {
                                break;
                            }
                        }
                        // RFC 6455 §5.5.1: answer a Close frame with one before closing the
                        // TCP connection. tungstenite queues the reply on reading the frame;
                        // closing the sink sends it (without this, clients see 1006).
                        Some(Ok(Message::Close(_))) => {
                            let _ = to_client.close().await;
                            break;
                        }
                        None | Some(Err(_)) => break,
                        Some(Ok(_)) => {} // ping, pong: answered by the protocol itself
                    },
                }
            }
            api.close(&gateway, &connection_id, &request).await;
        });
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(
            SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
                .expect("base64 is a header value"),
        );
        response
    }

    /// `$disconnect`, once, whoever closed.
    async fn close<B>(&self, gateway: &Gateway, connection_id: &str, request: &Request<B>) {
        let removed = self
            .open
            .lock()
            .expect("connections lock")
            .remove(connection_id);
        if removed.is_some() {
            let event = websocket_event(request, connection_id, "$disconnect", "DISCONNECT");
            ws_disconnect::handler(&gateway.app, &event).await;
        }
    }

    /// The management API: `POST` sends the body as one frame, `GET` says whether the
    /// connection is open, `DELETE` closes it; 410 `GoneException` when it is not open.
    async fn manage(&self, request: Request<Incoming>, id: &str) -> Response<Full<Bytes>> {
        let outbox = self.open.lock().expect("connections lock").get(id).cloned();
        let Some(outbox) = outbox else {
            let mut response = json_response(StatusCode::GONE, json!({"message": "Gone"}));
            response.headers_mut().insert(
                "x-amzn-errortype",
                HeaderValue::from_static("GoneException"),
            );
            return response;
        };
        match *request.method() {
            Method::POST => {
                let Ok(body) = request.into_body().collect().await else {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        json!({"message": "unreadable body"}),
                    );
                };
                let text = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                if outbox.try_send(Message::text(text)).is_err() {
                    // The client is not reading: API Gateway would drop it too.
                    let _ = outbox.try_send(Message::Close(None));
                }
                Response::new(Full::new(Bytes::new()))
            }
            Method::DELETE => {
                let _ = outbox.try_send(Message::Close(None));
                Response::new(Full::new(Bytes::new()))
            }
            Method::GET => json_response(StatusCode::OK, json!({"connectionId": id})),
            _ => json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"message": "Method Not Allowed"}),
            ),
        }
    }
}

fn json_response(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// The event API Gateway sends a WebSocket route's integration.
fn websocket_event<B>(
    request: &Request<B>,
    connection_id: &str,
    route_key: &str,
    event_type: &str,
) -> ApiGatewayWebsocketProxyRequest {
    let query: HashMap<String, String> =
        crate::query_parameters(request.uri().query().unwrap_or(""));
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.headers = request.headers().clone();
    event.query_string_parameters = query.into();
    event.request_context.connection_id = Some(connection_id.to_owned());
    event.request_context.route_key = Some(route_key.to_owned());
    event.request_context.event_type = Some(event_type.to_owned());
    event.request_context.stage = Some("local".into());
    event.request_context.apiid = Some("local".into());
    event.request_context.request_id = Some(ulid::Ulid::new().to_string());
    event
}
