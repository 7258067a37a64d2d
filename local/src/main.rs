//! `make run`: serves the API on loopback through the real authorizer and handlers, against
//! the DynamoDB Local that `scripts/run` started. Stops cleanly on Ctrl-C.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming as HyperBody};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use local_gateway::{Gateway, Incoming, MAX_GATEWAY_BODY_BYTES, dev_token};
use shared::App;
use shared::auth::Authenticator;
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::lambda::init_logging();
    let sdk = shared::config::load_sdk_config().await;
    let app = App::from_sdk_config(&sdk)?;
    shared::schema::ensure_tables(&app).await?;
    let sweep_every = local_gateway::scheduler::interval_from_env()?;
    // The identity provider's twin, when the run has a signing key: the authorizer fetches
    // its discovery document and JWKS from this origin as it would from Cognito.
    let issuer = match std::env::var("LOCAL_OIDC_KEY") {
        Ok(path) => Some(Arc::new(local_gateway::oidc::LocalIssuer::new(
            std::env::var("JWT_ISSUER")?,
            local_gateway::oidc::SigningKey::load_or_create(&path)?,
        ))),
        Err(_) => None,
    };
    let gateway = Arc::new(Gateway {
        app,
        authenticator: Authenticator::from_env()?,
        issuer,
    });
    // EventBridge Scheduler's twin: the real sweeper on the template's schedule.
    let sweeper = Arc::clone(&gateway);
    tokio::spawn(async move { local_gateway::scheduler::run(&sweeper.app, sweep_every).await });
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;

    // The WebSocket API's twin (connections and the @connections management API) on the
    // next port, and the stream → notify path that feeds it, exactly as in AWS: notify's
    // management client is built from AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI.
    let ws_port: u16 = std::env::var("WS_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(port + 1);
    let ws_listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], ws_port))).await?;
    local_gateway::live::start(
        Arc::clone(&gateway),
        &sdk,
        ws_listener,
        None,
        std::time::Duration::from_millis(250),
    )
    .await?;
    print_banner(port, ws_port, sweep_every)?;

    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let gateway = Arc::clone(&gateway);
                tokio::spawn(async move {
                    let service = service_fn(move |request| serve(Arc::clone(&gateway), request));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = &mut shutdown => {
                eprintln!("\nStopped.");
                return Ok(());
            }
        }
    }
}

async fn serve(
    gateway: Arc<Gateway>,
    request: hyper::Request<HyperBody>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_GATEWAY_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(hyper::Response::builder()
                .status(413)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(
                    br#"{"message":"Request Entity Too Large"}"#,
                )))
                .expect("static response"));
        }
    };
    let response = gateway
        .handle(Incoming {
            method: &parts.method,
            path: parts.uri.path(),
            raw_query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &body,
        })
        .await;
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

fn print_banner(port: u16, ws_port: u16, sweep_every: std::time::Duration) -> Result<(), Error> {
    let url = format!("http://127.0.0.1:{port}");
    let stores = vec!["store-1".to_owned()];
    let signing = match std::env::var_os("LOCAL_OIDC_KEY") {
        Some(_) => local_gateway::DevSigning::Rs256,
        None => local_gateway::DevSigning::Hs256,
    };
    // Within the default maximum token lifetime (JWT_MAX_LIFETIME_SECONDS, 24 h).
    let token = dev_token("dev-supervisor", "supervisor", &stores, 12 * 3600, signing)?;
    println!(
        "\nStore Services is running at {url} (DynamoDB Local: {endpoint})\n\n\
         A supervisor token for store-1, valid 12 hours (more: make token ROLE=admin STORES=store-1,store-2):\n\n\
         export TOKEN={token}\n\n\
         curl -s -X POST {url}/stores/store-1/supervisor-requests \\\n  \
         -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n  \
         -d '{{\"requestType\":\"PRICE_OVERRIDE\",\"priority\":\"HIGH\",\"details\":\"Shelf tag 2.49, till 2.99\"}}'\n\n\
         curl -s {url}/stores/store-1/supervisor-requests -H \"Authorization: Bearer $TOKEN\"\n\n\
         Live queue: ws://127.0.0.1:{ws_port}/?store=store-1&token=$TOKEN (the supervisor console: {url}/console)\n\n\
         The timeout sweeper runs every {sweep}s (SWEEP_INTERVAL_SECONDS). Ctrl-C stops it; data stays in .local/dynamodb.\n",
        sweep = sweep_every.as_secs(),
        endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
    );
    Ok(())
}
