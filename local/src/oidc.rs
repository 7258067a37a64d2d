//! The identity provider's local twin: an OIDC issuer with a discovery document and a JWKS of
//! RS256 keys, and the signing half that mints its tokens. `make run` serves it on the
//! gateway's own origin (the issuer is `http://127.0.0.1:{PORT}`), so the authorizer fetches
//! its keys exactly as it would from Cognito or Okta; tests run it alone to rotate keys or
//! take it down.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::Full;
use hyper::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// An RS256 signing key and its `kid`.
pub struct SigningKey {
    kid: String,
    pair: KeyPair,
}

impl SigningKey {
    pub fn generate() -> Result<Self, String> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation failed")?;
        Self::from_pair(pair)
    }

    /// The key kept in `path` (PKCS#8 DER), made on first use: tokens stay valid across
    /// restarts of the local run.
    pub fn load_or_create(path: &str) -> Result<Self, String> {
        match std::fs::read(path) {
            Ok(der) => Self::from_pair(
                KeyPair::from_pkcs8(&der).map_err(|e| format!("{path}: not an RSA key: {e}"))?,
            ),
            Err(_) => {
                let key = Self::generate()?;
                let der = key.pair.as_der().map_err(|_| "RSA key encoding failed")?;
                write_private(path, der.as_ref())?;
                Ok(key)
            }
        }
    }

    fn from_pair(pair: KeyPair) -> Result<Self, String> {
        let (n, _) = rsa_public_components(pair.public_key().as_ref())?;
        // A stable kid from the modulus: the same key keeps its kid across restarts.
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, n);
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        Ok(Self { kid, pair })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        let (n, e) =
            rsa_public_components(self.pair.public_key().as_ref()).expect("a key this module made");
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
        })
    }

    /// A compact RS256 JWS of `claims`, with this key's `kid`.
    pub fn sign(&self, claims: &impl Serialize) -> String {
        self.sign_with_header(
            &json!({"alg": "RS256", "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    /// Signs with RS256 under any header (tests of what the authorizer refuses).
    pub fn sign_with_header(&self, header: &Value, claims: &impl Serialize) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"))
        );
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing does not fail");
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn write_private(path: &str, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = std::path::Path::new(path).parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| format!("{path}: {e}"))
}

/// `n` and `e` of a DER `RSAPublicKey` (RFC 8017: SEQUENCE { INTEGER n, INTEGER e }),
/// without the sign byte.
fn rsa_public_components(der: &[u8]) -> Result<(&[u8], &[u8]), String> {
    fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (&found, rest) = input.split_first()?;
        if found != tag {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let octets = usize::from(first & 0x7f);
            if octets > 4 || rest.len() < octets {
                return None;
            }
            let len = rest[..octets]
                .iter()
                .fold(0usize, |len, b| (len << 8) | usize::from(*b));
            (len, &rest[octets..])
        };
        (rest.len() >= len).then(|| rest.split_at(len))
    }
    let unsigned = |integer: &'static str, bytes: &[u8]| -> Result<(), String> {
        if bytes.is_empty() {
            Err(format!("RSA public key: empty {integer}"))
        } else {
            Ok(())
        }
    };
    let malformed = || "RSA public key: malformed DER".to_owned();
    let (sequence, _) = element(der, 0x30).ok_or_else(malformed)?;
    let (n, rest) = element(sequence, 0x02).ok_or_else(malformed)?;
    let (e, _) = element(rest, 0x02).ok_or_else(malformed)?;
    let n = n.strip_prefix(&[0]).unwrap_or(n);
    let e = e.strip_prefix(&[0]).unwrap_or(e);
    unsigned("n", n)?;
    unsigned("e", e)?;
    Ok((n, e))
}

/// The issuer: its keys (the first signs; all are published), whether it answers, and how
/// often its JWKS was read.
pub struct LocalIssuer {
    issuer: String,
    keys: RwLock<Vec<Arc<SigningKey>>>,
    up: AtomicBool,
    jwks_reads: AtomicU32,
    /// Whether JWKS answers go out (tests hold them to keep a fetch in flight).
    jwks_open: tokio::sync::watch::Sender<bool>,
}

impl LocalIssuer {
    pub fn new(issuer: impl Into<String>, key: SigningKey) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            keys: RwLock::new(vec![Arc::new(key)]),
            up: AtomicBool::new(true),
            jwks_reads: AtomicU32::new(0),
            jwks_open: tokio::sync::watch::Sender::new(true),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// An authenticator that trusts this issuer as a deployed authorizer trusts its identity
    /// provider: keys from OIDC discovery, over HTTP, for tokens meant for `audience`.
    pub fn authenticator(&self, audience: &str) -> shared::auth::Authenticator {
        shared::auth::Authenticator::with_remote_keys(
            shared::auth::JwksLocation::Discovery(format!(
                "{}/.well-known/openid-configuration",
                self.issuer
            )),
            std::time::Duration::from_secs(60),
            &self.issuer,
            audience,
        )
    }

    /// A token for `sub` in `role` at `stores`, meant for `audience`, issued `issued_in`
    /// seconds from now and living `lifetime` seconds from then: what the identity provider
    /// would issue (tests and benchmarks; `make token` reads its settings from the env file).
    pub fn token(
        &self,
        audience: &str,
        (sub, role, stores): (&str, &str, &[&str]),
        issued_in: u64,
        lifetime: u64,
    ) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let iat = now + issued_in;
        self.signing_key().sign(&shared::auth::Claims {
            sub: sub.into(),
            role: role.into(),
            stores: stores.iter().map(|s| (*s).to_owned()).collect(),
            iss: self.issuer.clone(),
            aud: audience.into(),
            exp: iat + lifetime,
            nbf: None,
            iat: Some(iat),
        })
    }

    /// The key that signs new tokens.
    pub fn signing_key(&self) -> Arc<SigningKey> {
        Arc::clone(&self.keys.read().expect("keys lock")[0])
    }

    /// Rotation: a new key signs from now on; the old ones stay published.
    pub fn rotate(&self) -> Result<Arc<SigningKey>, String> {
        let key = Arc::new(SigningKey::generate()?);
        self.keys
            .write()
            .expect("keys lock")
            .insert(0, Arc::clone(&key));
        Ok(key)
    }

    /// Retires a key: no longer published.
    pub fn retire(&self, kid: &str) {
        self.keys
            .write()
            .expect("keys lock")
            .retain(|k| k.kid() != kid);
    }

    /// Takes the issuer down (every request answers 503) or brings it back.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// Holds JWKS answers (each request is counted, then waits) until [`Self::release_jwks`]:
    /// a fetch stays in flight for as long as a test needs.
    pub fn hold_jwks(&self) {
        self.jwks_open.send_replace(false);
    }

    pub fn release_jwks(&self) {
        self.jwks_open.send_replace(true);
    }

    pub fn jwks_reads(&self) -> u32 {
        self.jwks_reads.load(Ordering::SeqCst)
    }

    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}{JWKS_PATH}", self.issuer),
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    pub fn jwks(&self) -> Value {
        let keys = self.keys.read().expect("keys lock");
        json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
    }

    /// The answer to a GET of `path`, if it is one of the issuer's documents.
    pub fn answer(&self, path: &str) -> Option<(u16, Value)> {
        let document = match path {
            DISCOVERY_PATH => self.discovery(),
            JWKS_PATH => {
                self.jwks_reads.fetch_add(1, Ordering::SeqCst);
                self.jwks()
            }
            _ => return None,
        };
        if !self.up.load(Ordering::SeqCst) {
            return Some((503, json!({"message": "issuer unavailable"})));
        }
        Some((200, document))
    }

    /// Serves the issuer alone on `listener` (tests), until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) {
        use hyper::server::conn::http1;
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let issuer = Arc::clone(&self);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (status, body) = issuer
                        .answer(request.uri().path())
                        .unwrap_or((404, json!({"message": "Not Found"})));
                    let mut open = issuer.jwks_open.subscribe();
                    let held = request.uri().path() == JWKS_PATH;
                    async move {
                        if held {
                            let _ = open.wait_for(|open| *open).await;
                        }
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body.to_string())))
                                .expect("static response"),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// Binds a loopback port and serves a fresh issuer there (tests): its URL is the issuer.
    pub async fn spawn() -> Result<Arc<Self>, String> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let issuer = Arc::new(Self::new(
            format!("http://127.0.0.1:{port}"),
            SigningKey::generate()?,
        ));
        tokio::spawn(Arc::clone(&issuer).serve(listener));
        Ok(issuer)
    }
}
