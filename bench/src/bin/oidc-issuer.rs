//! A local OIDC issuer for the authorizer's cold-start benchmark: serves a discovery
//! document and JWKS on `127.0.0.1:PORT` and writes `events/authorizer.json` with a valid
//! RS256 token of that issuer to `EVENT_OUT`, so a start times the fetch of the keys.
//!
//! `oidc-issuer PORT EVENT_OUT` (runs until killed).

use std::sync::Arc;

use local_gateway::oidc::{LocalIssuer, SigningKey};
use serde_json::Value;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: oidc-issuer PORT EVENT_OUT");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("PORT is a number");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port is free");
        let issuer = Arc::new(LocalIssuer::new(
            format!("http://127.0.0.1:{port}"),
            SigningKey::generate().expect("an RSA key"),
        ));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let token = issuer.signing_key().sign(&shared::auth::Claims {
            sub: "bench".into(),
            role: "supervisor".into(),
            stores: vec!["store-1".into()],
            iss: issuer.issuer().into(),
            aud: "store-services".into(),
            exp: now + 6 * 3600,
            nbf: None,
            iat: Some(now),
        });
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/authorizer.json");
        let mut event: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
        let bearer = Value::from(format!("Bearer {token}"));
        event["headers"]["authorization"] = bearer.clone();
        event["identitySource"] = Value::from(vec![bearer]);
        std::fs::write(&out, event.to_string()).expect("EVENT_OUT is writable");
        println!("{}", issuer.issuer());
        issuer.serve(listener).await;
    });
}
