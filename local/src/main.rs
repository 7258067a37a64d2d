//! `make run`: serves the API on loopback through the real authorizer and handlers, against
//! the DynamoDB Local that `scripts/run` started. Stops cleanly on Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use local_gateway::{Gateway, dev_token};
use shared::App;
use shared::auth::Authenticator;
use tokio::net::TcpListener;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::edge::lambda::init_logging();
    let sdk = shared::edge::config::load_sdk_config().await;
    let app = App::from_settings(&sdk, shared::edge::config::Settings::local_from_env()?).await?;
    app.ensure_tables().await?;
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

    tokio::select! {
        error = local_gateway::serve_http(gateway, listener) => Err(error.into()),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("\nStopped.");
            Ok(())
        }
    }
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
         The supervisor console, signed in: {url}/console/#store=store-1&token={token}\n\n\
         Live queue: ws://127.0.0.1:{ws_port}/?store=store-1&token=$TOKEN\n\n\
         The timeout sweeper runs every {sweep}s (SWEEP_INTERVAL_SECONDS). Ctrl-C stops it; data stays in .local/dynamodb.\n",
        sweep = sweep_every.as_secs(),
        endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default(),
    );
    Ok(())
}
