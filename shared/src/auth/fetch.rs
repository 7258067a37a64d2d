//! GET of a JSON document over HTTPS for OIDC discovery and JWKS: the hyper and rustls stack
//! the SDK already builds, with the OS trust store (identity providers are signed by many
//! CAs), short timeouts and a size cap. Plain HTTP only to loopback (the local issuer).

use std::sync::OnceLock;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A JWKS or discovery document is a few KB; refuse anything far larger.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;
type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// Built at first use: loading the OS trust store costs milliseconds a cold start that
/// verifies with keys already held need not spend (and plain HTTP to the local issuer never
/// needs it).
#[derive(Default)]
pub struct JsonGetter {
    https: OnceLock<Result<HttpsClient, String>>,
    http: OnceLock<HttpClient>,
}

impl std::fmt::Debug for JsonGetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonGetter").finish_non_exhaustive()
    }
}

fn build_client() -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for certificate in native.certs {
        // A certificate the OS store holds but rustls cannot use is skipped, not fatal.
        let _ = roots.add(certificate);
    }
    if roots.is_empty() {
        return Err("no trusted root certificates found for the identity provider".into());
    }
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut http = connector();
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

fn connector() -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http
}

/// Whether `url` may be fetched: HTTPS anywhere, HTTP only on loopback.
pub fn allowed(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl JsonGetter {
    pub async fn get(&self, url: &str) -> Result<Value, String> {
        if !allowed(url) {
            return Err(format!("{url} is neither https nor loopback http"));
        }
        let uri: hyper::Uri = url.parse().map_err(|_| format!("{url} is not a URL"))?;
        let fetch = async {
            let response = if url.starts_with("https://") {
                let client = self
                    .https
                    .get_or_init(build_client)
                    .as_ref()
                    .map_err(Clone::clone)?;
                client.get(uri).await
            } else {
                let client = self
                    .http
                    .get_or_init(|| Client::builder(TokioExecutor::new()).build(connector()));
                client.get(uri).await
            }
            .map_err(|e| format!("GET {url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("GET {url}: HTTP {}", response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?
                .to_bytes();
            serde_json::from_slice(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, fetch)
            .await
            .map_err(|_| format!("GET {url}: timed out"))?
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        for ok in [
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json",
            "http://127.0.0.1:3000/.well-known/jwks.json",
            "http://localhost/.well-known/openid-configuration",
        ] {
            assert!(super::allowed(ok), "{ok}");
        }
        for refused in [
            "http://issuer.example/.well-known/jwks.json",
            "http://127.0.0.1.evil.example/jwks",
            "ftp://127.0.0.1/jwks",
            "file:///etc/passwd",
        ] {
            assert!(!super::allowed(refused), "{refused}");
        }
    }
}
