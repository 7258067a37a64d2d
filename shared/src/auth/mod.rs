//! Bearer-token verification for the Lambda authorizer.
//!
//! Tokens are JWTs verified with jsonwebtoken against an explicit algorithm allow-list:
//! RS256/ES256 with public keys (chosen by `kid`, which is then required) from the issuer's
//! OIDC discovery and JWKS, fetched at first need and kept ([`keys::RemoteKeys`]), or from a
//! configured JWKS; or HS256 with a symmetric key only when one is configured explicitly,
//! never together. `exp`, `iat` and `iss` are required; `exp` and `nbf` are checked with a
//! small leeway; `aud` may be a string or an array and must hold a configured audience (or,
//! without `aud`, Cognito access tokens' `client_id` must be one); an `iat` after now (plus
//! the leeway), a lifetime `exp - iat` or a remaining life `exp - now` above the maximum,
//! and any `crit` header are refused (RFC 8725). Which claims name the
//! caller, the role and the stores is configuration ([`ClaimMapping`]).
//!
//! Nothing here logs a token or key: denials carry a [`Denial`] reason only.

mod claims;
mod fetch;
mod keys;
pub mod principal;

use std::env;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
#[cfg(any(test, feature = "dev"))]
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use claims::{ClaimMapping, RoleSource, parse_groups};
pub use keys::{JwksLocation, KeySet, RemoteKeys};

use crate::auth::principal::Principal;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECONDS: u64 = 30;
/// Longest `Authorization` value considered.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Shortest HS256 secret accepted.
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Longest `exp - iat` accepted by default: a day, the longest of the providers' defaults.
pub const DEFAULT_MAX_LIFETIME_SECONDS: u64 = 24 * 60 * 60;
/// How often, at most, an unknown `kid` makes the authorizer fetch the JWKS again.
pub const DEFAULT_JWKS_REFETCH_SECONDS: u64 = 60;

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
    /// A `crit` header: extensions this authorizer does not understand (RFC 7515 §4.1.11).
    CriticalHeader,
    /// `exp - iat`, or what is left of it from now (`exp - now`), is longer than the
    /// configured maximum.
    LifetimeTooLong,
    /// `iat` is later than now plus the leeway: a token minted for the future would
    /// otherwise outlive the lifetime cap.
    IssuedInTheFuture,
    /// A Cognito token of the other kind (`token_use` is `id` where `access` is wanted).
    WrongTokenUse,
}

/// A verified token: the caller it proves, and when it stops proving it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub principal: Principal,
    /// The token's `exp`, in seconds since the Unix epoch.
    pub expires_at: u64,
}

enum Keys {
    /// A configured JWKS: public keys by `kid`.
    Jwks(KeySet),
    /// The issuer's keys, from its discovery document or JWKS URL.
    Remote(Box<RemoteKeys>),
    /// Development, when configured explicitly.
    Hs256(DecodingKey),
}

pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audiences: Vec<String>,
    /// Cognito: `token_use` must be this (`access` or `id`) when set.
    token_use: Option<String>,
    mapping: ClaimMapping,
    max_lifetime: u64,
    leeway: u64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// The claims of this API's own tokens, as the local run and the tests mint them.
#[cfg(any(test, feature = "dev"))]
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
    /// Keys from a JWKS document (JSON). Only RSA and P-256 EC keys are taken.
    pub fn with_jwks(jwks: &str, issuer: &str, audience: &str) -> Result<Self, String> {
        let jwks: Value = serde_json::from_str(jwks).map_err(|e| format!("JWKS: {e}"))?;
        Ok(Self::new(
            Keys::Jwks(KeySet::from_jwks(&jwks, true)?),
            issuer,
            audience,
        ))
    }

    /// Keys of the issuer, fetched at first need from `location` and kept.
    pub fn with_remote_keys(
        location: JwksLocation,
        refetch_after: Duration,
        issuer: &str,
        audience: &str,
    ) -> Self {
        Self::new(
            Keys::Remote(Box::new(RemoteKeys::new(location, refetch_after))),
            issuer,
            audience,
        )
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

    /// `audience` may list several, comma-separated.
    fn new(keys: Keys, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audiences: audience
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            token_use: None,
            mapping: ClaimMapping::default(),
            max_lifetime: DEFAULT_MAX_LIFETIME_SECONDS,
            leeway: DEFAULT_LEEWAY_SECONDS,
        }
    }

    pub fn with_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.mapping = mapping;
        self
    }

    pub fn with_token_use(mut self, token_use: Option<String>) -> Self {
        self.token_use = token_use;
        self
    }

    pub fn with_max_lifetime(mut self, seconds: u64) -> Self {
        self.max_lifetime = seconds;
        self
    }

    /// The issuer's keys, when they are fetched (for tests and metrics).
    pub fn remote_keys(&self) -> Option<&RemoteKeys> {
        match &self.keys {
            Keys::Remote(remote) => Some(remote),
            _ => None,
        }
    }

    /// Reads `JWT_ISSUER` and `JWT_AUDIENCE` (comma-separated for several), and the keys:
    /// `JWT_JWKS` (a JWKS document), or `JWT_HS256_SECRET` (base64; development only), or
    /// else the issuer's own: `JWT_JWKS_URL` if set, or OIDC discovery at
    /// `{JWT_ISSUER}/.well-known/openid-configuration` (refetched on an unknown `kid` at most
    /// every `JWT_JWKS_REFETCH_SECONDS`, default 60). Also `JWT_TOKEN_USE` (Cognito),
    /// `JWT_MAX_LIFETIME_SECONDS` (default 86400) and the claim mapping
    /// ([`ClaimMapping::from_env`]).
    pub fn from_env() -> Result<Self, String> {
        let required = |name: &str| env::var(name).map_err(|_| format!("{name} is not set"));
        let optional = |name: &str| env::var(name).ok().filter(|v| !v.trim().is_empty());
        let seconds = |name: &str, default: u64| match optional(name) {
            Some(raw) => raw
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("{name} is not a number of seconds")),
            None => Ok(default),
        };
        let issuer = required("JWT_ISSUER")?;
        let audience = required("JWT_AUDIENCE")?;
        let authenticator = match (optional("JWT_JWKS"), optional("JWT_HS256_SECRET")) {
            (Some(jwks), None) => Self::with_jwks(&jwks, &issuer, &audience)?,
            (None, Some(secret)) => {
                refuse_dev_key_when_deployed(|name| env::var(name).ok())?;
                let secret = STANDARD
                    .decode(secret.trim())
                    .map_err(|_| "JWT_HS256_SECRET is not base64".to_owned())?;
                Self::with_hs256_secret(&secret, &issuer, &audience)?
            }
            (Some(_), Some(_)) => {
                return Err(
                    "set JWT_JWKS or JWT_HS256_SECRET, not both: one key family at a time".into(),
                );
            }
            (None, None) => {
                let location = match optional("JWT_JWKS_URL") {
                    Some(url) => JwksLocation::Jwks(url),
                    None => JwksLocation::Discovery(format!(
                        "{}/.well-known/openid-configuration",
                        issuer.trim_end_matches('/')
                    )),
                };
                Self::with_remote_keys(
                    location,
                    Duration::from_secs(seconds(
                        "JWT_JWKS_REFETCH_SECONDS",
                        DEFAULT_JWKS_REFETCH_SECONDS,
                    )?),
                    &issuer,
                    &audience,
                )
            }
        };
        Ok(authenticator
            .with_mapping(ClaimMapping::from_env()?)
            .with_token_use(optional("JWT_TOKEN_USE"))
            .with_max_lifetime(seconds(
                "JWT_MAX_LIFETIME_SECONDS",
                DEFAULT_MAX_LIFETIME_SECONDS,
            )?))
    }

    /// The authorizer's decision on an `Authorization` value, wherever it runs (the Lambda
    /// authorizer, or the server in-process): the principal, or a denial logged by its
    /// reason and counted (`AuthorizerDenials`), never with the token.
    pub async fn authorize(
        &self,
        authorization: Option<&str>,
        route: Option<&str>,
    ) -> Result<Principal, Denial> {
        let verified = self.verify(authorization).await;
        match &verified {
            Ok(principal) => {
                tracing::info!(sub = %principal.subject, role = principal.role.as_str(), "allowed")
            }
            Err(denial) => {
                tracing::info!(reason = ?denial, route, "denied");
                crate::telemetry::emf::Event::new("identity")
                    .dimension("Reason", &format!("{denial:?}"))
                    .metric("AuthorizerDenials", crate::telemetry::emf::Unit::Count, 1.0)
                    .emit();
            }
        }
        verified
    }

    /// Verifies an `Authorization` header value and returns the principal it proves.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<Principal, Denial> {
        self.verify_token(authorization)
            .await
            .map(|verified| verified.principal)
    }

    /// As [`Self::verify`], with the token's `exp`: what outlives one request (a WebSocket
    /// connection) must not outlive the token that opened it.
    pub async fn verify_token(&self, authorization: Option<&str>) -> Result<Verified, Denial> {
        let value = authorization.ok_or(Denial::MissingToken)?;
        if value.len() > MAX_TOKEN_BYTES {
            return Err(Denial::Malformed);
        }
        let (scheme, token) = value.trim().split_once(' ').ok_or(Denial::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Denial::NotBearer);
        }
        let token = token.trim();
        refuse_critical_headers(token)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| Denial::Malformed)?;
        let remote;
        let key = match &self.keys {
            Keys::Hs256(key) if header.alg == Algorithm::HS256 => key,
            Keys::Hs256(_) => return Err(Denial::AlgorithmNotAllowed),
            Keys::Jwks(_) | Keys::Remote(_) => {
                if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                    return Err(Denial::AlgorithmNotAllowed);
                }
                let kid = header.kid.as_deref().ok_or(Denial::UnknownKey)?;
                let (algorithm, key) = match &self.keys {
                    Keys::Jwks(keys) => keys.get(kid).ok_or(Denial::UnknownKey)?,
                    Keys::Remote(keys) => {
                        remote = keys.key(kid).await.ok_or(Denial::UnknownKey)?;
                        &remote
                    }
                    Keys::Hs256(_) => unreachable!("matched above"),
                };
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
        // `aud` is checked below: a string or an array, or Cognito's `client_id`.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind::*;
                match error.kind() {
                    ExpiredSignature => Denial::Expired,
                    ImmatureSignature => Denial::NotYetValid,
                    InvalidIssuer => Denial::WrongIssuer,
                    InvalidSignature => Denial::BadSignature,
                    Json(_) | MissingRequiredClaim(_) | InvalidClaimFormat(_) => {
                        Denial::InvalidClaims
                    }
                    _ => Denial::Malformed,
                }
            })?
            .claims;
        self.check_audience(&claims)?;
        if let Some(wanted) = &self.token_use
            && claims.get("token_use").and_then(Value::as_str) != Some(wanted.as_str())
        {
            return Err(Denial::WrongTokenUse);
        }
        let number = |name: &str| claims.get(name).and_then(Value::as_u64);
        let (exp, iat) = (
            number("exp").ok_or(Denial::InvalidClaims)?,
            number("iat").ok_or(Denial::InvalidClaims)?,
        );
        // `exp - iat` alone is not a bound: a token with `iat` ten years ahead and
        // `exp = iat + 60` passes it. Bound `iat` by now and what is left by the cap.
        let now = jsonwebtoken::get_current_timestamp();
        if iat > now.saturating_add(self.leeway) {
            return Err(Denial::IssuedInTheFuture);
        }
        if exp.saturating_sub(iat) > self.max_lifetime
            || exp.saturating_sub(now) > self.max_lifetime
        {
            return Err(Denial::LifetimeTooLong);
        }
        Ok(Verified {
            principal: self.mapping.principal(&claims)?,
            expires_at: exp,
        })
    }

    /// `aud`, a string or an array, holds one of the audiences; a token without `aud`
    /// (Cognito's access tokens) must name one as its `client_id`.
    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), Denial> {
        let accepted = |value: &Value| {
            value
                .as_str()
                .is_some_and(|a| self.audiences.iter().any(|wanted| wanted == a))
        };
        let ok = match (claims.get("aud"), claims.get("client_id")) {
            (Some(Value::Array(audiences)), _) => audiences.iter().any(accepted),
            (Some(audience), _) => accepted(audience),
            (None, Some(client_id)) => accepted(client_id),
            (None, None) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(Denial::WrongAudience)
        }
    }
}

/// Set to `true` to accept `JWT_HS256_SECRET` where it is refused by default: in a Lambda
/// function, an ECS task or a Kubernetes pod. The name says what it is.
pub const ALLOW_DEPLOYED_HS256: &str = "INSECURE_ALLOW_HS256_DEV_KEY_IN_DEPLOYMENT";

/// A symmetric development key is for local runs: whoever holds it can mint any token. In a
/// deployment (Lambda, ECS or Kubernetes tell themselves by their own variables) it is
/// refused unless [`ALLOW_DEPLOYED_HS256`] is `true`.
fn refuse_dev_key_when_deployed(lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let deployed = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "ECS_CONTAINER_METADATA_URI_V4",
        "KUBERNETES_SERVICE_HOST",
    ]
    .into_iter()
    .find(|name| lookup(name).is_some());
    match deployed {
        Some(marker) if lookup(ALLOW_DEPLOYED_HS256).as_deref() != Some("true") => Err(format!(
            "JWT_HS256_SECRET is a development key and this is a deployment ({marker} is set): \
             configure the issuer's keys (JWT_ISSUER discovery, JWT_JWKS_URL or JWT_JWKS), \
             or set {ALLOW_DEPLOYED_HS256}=true"
        )),
        _ => Ok(()),
    }
}

/// RFC 8725 §3.1 via RFC 7515 §4.1.11: a `crit` header names extensions the recipient must
/// understand; this authorizer understands none, so any `crit` is refused.
fn refuse_critical_headers(token: &str) -> Result<(), Denial> {
    let encoded = token.split('.').next().ok_or(Denial::Malformed)?;
    let header: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(Denial::Malformed)?;
    if header.contains_key("crit") {
        return Err(Denial::CriticalHeader);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_development_key_is_refused_in_a_deployment_unless_allowed_by_name() {
        let with = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(refuse_dev_key_when_deployed(with(&[])).is_ok());
        for marker in [
            "AWS_LAMBDA_FUNCTION_NAME",
            "ECS_CONTAINER_METADATA_URI_V4",
            "KUBERNETES_SERVICE_HOST",
        ] {
            let deployed: &'static [(&str, &str)] = Box::leak(Box::new([(marker, "x")]));
            let error = refuse_dev_key_when_deployed(with(deployed)).unwrap_err();
            assert!(error.contains(marker), "{error}");
            let allowed: &'static [(&str, &str)] =
                Box::leak(Box::new([(marker, "x"), (ALLOW_DEPLOYED_HS256, "true")]));
            assert!(refuse_dev_key_when_deployed(with(allowed)).is_ok());
            let not_quite: &'static [(&str, &str)] =
                Box::leak(Box::new([(marker, "x"), (ALLOW_DEPLOYED_HS256, "yes")]));
            assert!(refuse_dev_key_when_deployed(with(not_quite)).is_err());
        }
    }
}
