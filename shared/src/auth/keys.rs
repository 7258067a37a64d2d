//! Verification keys: a JWKS parsed into keys by `kid`, and the keys of an issuer fetched
//! from its OIDC discovery document at first need, kept across warm invocations, and fetched
//! again (at most once per `refetch_after`) when a token names a `kid` not held.
//!
//! A long-running process verifies many tokens at once: the keys held are read under a lock
//! never held across an await, and a refetch runs outside it (one at a time: the callers
//! with an unknown `kid` wait for that one fetch), then swaps the new set in. A token with an
//! unknown `kid` never stalls the verification of the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::fetch::JsonGetter;

/// Public keys by `kid`, each with the one algorithm it may be used with.
#[derive(Clone, Default)]
pub struct KeySet(HashMap<String, (Algorithm, DecodingKey)>);

impl KeySet {
    /// Parses a JWKS. Keys without a `kid`, or neither RSA nor P-256, are refused when
    /// `strict` (a configured JWKS: a mistake to report) and skipped otherwise (an issuer's:
    /// it may publish keys for other uses).
    pub fn from_jwks(jwks: &Value, strict: bool) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_value(jwks.clone()).map_err(|e| format!("JWKS: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let parsed = (|| {
                let kid = jwk
                    .common
                    .key_id
                    .clone()
                    .ok_or("JWKS: every key needs a kid")?;
                let algorithm = match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => Algorithm::RS256,
                    AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                        Algorithm::ES256
                    }
                    _ => return Err(format!("JWKS: key {kid} is neither RSA nor P-256")),
                };
                let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWKS key {kid}: {e}"))?;
                Ok((kid, (algorithm, key)))
            })();
            match parsed {
                Ok((kid, key)) => {
                    keys.insert(kid, key);
                }
                Err(error) if strict => return Err(error),
                Err(_) => {}
            }
        }
        if keys.is_empty() {
            return Err("JWKS has no usable keys".into());
        }
        Ok(Self(keys))
    }

    pub fn get(&self, kid: &str) -> Option<&(Algorithm, DecodingKey)> {
        self.0.get(kid)
    }
}

/// Where an issuer's keys are published.
#[derive(Clone, Debug)]
pub enum JwksLocation {
    /// `{issuer}/.well-known/openid-configuration`, whose `jwks_uri` names the JWKS.
    Discovery(String),
    /// The JWKS itself.
    Jwks(String),
}

/// What only the one fetch in flight reads and writes.
#[derive(Default)]
struct Fetching {
    jwks_uri: Option<String>,
    last_fetch: Option<Instant>,
}

pub struct RemoteKeys {
    location: JwksLocation,
    refetch_after: Duration,
    getter: JsonGetter,
    /// The keys held: swapped whole after a fetch, read without waiting on one.
    held: RwLock<Arc<KeySet>>,
    /// Single flight: whoever holds this fetches; the others with an unknown `kid` wait.
    fetching: tokio::sync::Mutex<Fetching>,
    fetches: AtomicU32,
}

impl RemoteKeys {
    pub fn new(location: JwksLocation, refetch_after: Duration) -> Self {
        Self {
            location,
            refetch_after,
            getter: JsonGetter::default(),
            held: Default::default(),
            fetching: Default::default(),
            fetches: AtomicU32::new(0),
        }
    }

    /// How many times the JWKS was fetched (attempts, failed ones included).
    pub fn fetches(&self) -> u32 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key named `kid`: held, or fetched when it is not and the last fetch is older than
    /// `refetch_after`. A failed fetch keeps the keys held and is logged, never the token.
    pub async fn key(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        if let Some(key) = self.held_key(kid) {
            return Some(key);
        }
        let mut fetching = self.fetching.lock().await;
        if let Some(key) = self.held_key(kid) {
            return Some(key); // the fetch this caller waited for brought it
        }
        if fetching
            .last_fetch
            .is_some_and(|at| at.elapsed() < self.refetch_after)
        {
            return None;
        }
        fetching.last_fetch = Some(Instant::now());
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match self.fetch(&mut fetching).await {
            Ok(keys) => *self.held.write().expect("keys lock") = Arc::new(keys),
            Err(error) => {
                tracing::warn!(error = %error, "JWKS fetch failed; keeping the keys held")
            }
        }
        self.held_key(kid)
    }

    fn held_key(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        self.held.read().expect("keys lock").get(kid).cloned()
    }

    async fn fetch(&self, fetching: &mut Fetching) -> Result<KeySet, String> {
        let jwks_uri = match (&self.location, &fetching.jwks_uri) {
            (JwksLocation::Jwks(uri), _) => uri.clone(),
            (JwksLocation::Discovery(_), Some(uri)) => uri.clone(),
            (JwksLocation::Discovery(url), None) => {
                let discovery = self.getter.get(url).await?;
                let uri = discovery["jwks_uri"]
                    .as_str()
                    .ok_or("discovery document without jwks_uri")?
                    .to_owned();
                fetching.jwks_uri = Some(uri.clone());
                uri
            }
        };
        KeySet::from_jwks(&self.getter.get(&jwks_uri).await?, false)
    }
}
