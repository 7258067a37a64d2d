//! Bearer-token verification for the Lambda authorizer.
//!
//! Tokens are JWTs verified with jsonwebtoken against an explicit algorithm allow-list:
//! RS256/ES256 with public keys from a configured JWKS (chosen by `kid`) in production, or
//! HS256 with a symmetric key only when one is configured explicitly, never both at once.
//! `exp`, `iss`, `aud` and `sub` are required; `exp` and `nbf` are checked with a small
//! leeway. Claims `role` and `stores` become the [`Principal`] that handlers read.
//!
//! Nothing here logs a token or key: denials carry a [`Denial`] reason only.

use std::collections::HashMap;
use std::env;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::ids::StoreId;
use crate::principal::{Principal, Role};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
/// Longest `Authorization` value considered.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Shortest HS256 secret accepted.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

/// Why a request was denied; for logs and tests, never for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    MissingToken,
    NotBearer,
    Malformed,
    AlgorithmNotAllowed,
    UnknownKey,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    BadSignature,
    InvalidClaims,
}

enum Keys {
    /// Production: public keys by `kid`, each with its one algorithm.
    Jwks(HashMap<String, (Algorithm, DecodingKey)>),
    /// Development, when configured explicitly.
    Hs256(DecodingKey),
}

pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// The claims this API reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub stores: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

impl Authenticator {
    /// Production keys: a JWKS document (JSON). Only RSA and P-256 EC keys are taken.
    pub fn with_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(jwks).map_err(|e| format!("JWKS: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
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
            keys.insert(kid, (algorithm, key));
        }
        if keys.is_empty() {
            return Err("JWKS has no keys".into());
        }
        Ok(Self::new(Keys::Jwks(keys), issuer, audience))
    }

    /// A symmetric development key. Never combined with a JWKS.
    pub fn with_hs256_secret(secret: &[u8], issuer: &str, audience: &str) -> Result<Self, String> {
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(format!(
                "HS256 secret must be at least {MIN_HS256_SECRET_BYTES} bytes"
            ));
        }
        Ok(Self::new(
            Keys::Hs256(DecodingKey::from_secret(secret)),
            issuer,
            audience,
        ))
    }

    fn new(keys: Keys, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway: DEFAULT_LEEWAY_SECONDS,
        }
    }

    /// Reads `JWT_ISSUER`, `JWT_AUDIENCE`, and exactly one of `JWT_JWKS` (a JWKS document)
    /// or `JWT_HS256_SECRET` (base64; development only).
    pub fn from_env() -> Result<Self, String> {
        let required = |name: &str| env::var(name).map_err(|_| format!("{name} is not set"));
        let issuer = required("JWT_ISSUER")?;
        let audience = required("JWT_AUDIENCE")?;
        let jwks = env::var("JWT_JWKS").ok().filter(|v| !v.trim().is_empty());
        let secret = env::var("JWT_HS256_SECRET")
            .ok()
            .filter(|v| !v.trim().is_empty());
        match (jwks, secret) {
            (Some(jwks), None) => Self::with_jwks(&jwks, &issuer, &audience),
            (None, Some(secret)) => {
                let secret = STANDARD
                    .decode(secret.trim())
                    .map_err(|_| "JWT_HS256_SECRET is not base64".to_owned())?;
                Self::with_hs256_secret(&secret, &issuer, &audience)
            }
            (Some(_), Some(_)) => {
                Err("set JWT_JWKS or JWT_HS256_SECRET, not both: one key family at a time".into())
            }
            (None, None) => {
                Err("set JWT_JWKS (production) or JWT_HS256_SECRET (development)".into())
            }
        }
    }

    /// Verifies an `Authorization` header value and returns the principal it proves.
    pub fn verify(&self, authorization: Option<&str>) -> Result<Principal, Denial> {
        let value = authorization.ok_or(Denial::MissingToken)?;
        if value.len() > MAX_TOKEN_BYTES {
            return Err(Denial::Malformed);
        }
        let (scheme, token) = value.trim().split_once(' ').ok_or(Denial::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Denial::NotBearer);
        }
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token).map_err(|_| Denial::Malformed)?;
        let key = match &self.keys {
            Keys::Hs256(key) if header.alg == Algorithm::HS256 => key,
            Keys::Hs256(_) => return Err(Denial::AlgorithmNotAllowed),
            Keys::Jwks(keys) => {
                if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                    return Err(Denial::AlgorithmNotAllowed);
                }
                let kid = header.kid.as_deref().ok_or(Denial::UnknownKey)?;
                let (algorithm, key) = keys.get(kid).ok_or(Denial::UnknownKey)?;
                // A key is used only with its own algorithm.
                if *algorithm != header.alg {
                    return Err(Denial::AlgorithmNotAllowed);
                }
                key
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind::*;
                match error.kind() {
                    ExpiredSignature => Denial::Expired,
                    ImmatureSignature => Denial::NotYetValid,
                    InvalidIssuer => Denial::WrongIssuer,
                    InvalidAudience => Denial::WrongAudience,
                    InvalidSignature => Denial::BadSignature,
                    Json(_) | MissingRequiredClaim(_) | InvalidClaimFormat(_) => {
                        Denial::InvalidClaims
                    }
                    _ => Denial::Malformed,
                }
            })?
            .claims;
        principal_from_claims(claims)
    }
}

fn principal_from_claims(claims: Claims) -> Result<Principal, Denial> {
    let role = Role::parse(&claims.role).ok_or(Denial::InvalidClaims)?;
    if claims.sub.is_empty() || claims.stores.is_empty() {
        return Err(Denial::InvalidClaims);
    }
    let stores = claims
        .stores
        .iter()
        .map(|s| StoreId::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| Denial::InvalidClaims)?;
    Ok(Principal {
        subject: claims.sub,
        role,
        stores,
    })
}

#[cfg(any(test, feature = "dev"))]
/// Signs a token with an HS256 development key: for the local run's token command and tests.
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing does not fail")
}
