//! Identity that real stores use: the token shapes of Cognito, Entra ID, Okta and Auth0 mapped
//! by configuration; keys fetched from the issuer's OIDC discovery and rotated there; RFC 8725
//! hardening. Rotation runs against the local issuer `make run` serves, over real HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use local_gateway::oidc::{LocalIssuer, SigningKey};
use serde_json::{Value, json};
use shared::auth::principal::Role;
use shared::auth::{Authenticator, ClaimMapping, Denial, JwksLocation, RoleSource, parse_groups};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keys");

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Signed with the test RSA key of `keys/jwks.json`, as a provider would.
fn rs256(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-rsa-1".into());
    let key = EncodingKey::from_rsa_pem(&std::fs::read(format!("{KEYS}/rsa-private.pem")).unwrap())
        .unwrap();
    format!(
        "Bearer {}",
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    )
}

fn provider(issuer: &str, audience: &str, mapping: ClaimMapping) -> Authenticator {
    let jwks = std::fs::read_to_string(format!("{KEYS}/jwks.json")).unwrap();
    Authenticator::with_jwks(&jwks, issuer, audience)
        .unwrap()
        .with_mapping(mapping)
}

fn groups(claim: &str, pairs: &str) -> RoleSource {
    RoleSource::Groups {
        claim: claim.into(),
        roles: parse_groups(pairs).unwrap(),
    }
}

/// Checks the token verifies to (subject, role, stores), and that changing one field the
/// way `wrong` does is denied with `denial`.
async fn accepts_then_denies(
    authenticator: &Authenticator,
    claims: Value,
    expected: (&str, Role, &[&str]),
    wrong: impl Fn(&mut Value),
    denial: Denial,
) {
    let principal = authenticator
        .verify(Some(&rs256(&claims)))
        .await
        .unwrap_or_else(|d| panic!("{d:?} for {claims}"));
    assert_eq!(principal.subject, expected.0);
    assert_eq!(principal.role, expected.1);
    let stores: Vec<&str> = principal.stores.iter().map(|s| s.as_str()).collect();
    assert_eq!(stores, expected.2);
    let mut bad = claims.clone();
    wrong(&mut bad);
    assert_eq!(
        authenticator.verify(Some(&rs256(&bad))).await,
        Err(denial),
        "{bad}"
    );
}

const COGNITO: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
const COGNITO_CLIENT: &str = "4h3kq0tl6p3b2c5vh9m0ex7a1d";

fn cognito_mapping() -> ClaimMapping {
    ClaimMapping {
        subject: "sub".into(),
        role: groups(
            "cognito:groups",
            "store-associates=associate,store-supervisors=supervisor,store-admins=admin",
        ),
        stores: "custom:stores".into(),
    }
}

#[tokio::test]
async fn cognito_id_tokens_map_groups_and_custom_stores() {
    let authenticator =
        provider(COGNITO, COGNITO_CLIENT, cognito_mapping()).with_token_use(Some("id".into()));
    let claims = json!({
        "sub": "a1b2c3d4-0000-4000-8000-000000000001",
        "aud": COGNITO_CLIENT,
        "iss": COGNITO,
        "token_use": "id",
        "cognito:groups": ["store-associates", "store-supervisors"],
        "custom:stores": "store-1,store-2",
        "cognito:username": "dana",
        "email": "dana@example.com",
        "auth_time": now(), "iat": now(), "exp": now() + 3600,
    });
    accepts_then_denies(
        &authenticator,
        claims,
        (
            "a1b2c3d4-0000-4000-8000-000000000001",
            Role::Supervisor,
            &["store-1", "store-2"],
        ),
        |c| c["token_use"] = json!("access"),
        Denial::WrongTokenUse,
    )
    .await;
}

#[tokio::test]
async fn cognito_access_tokens_are_checked_by_client_id() {
    let authenticator =
        provider(COGNITO, COGNITO_CLIENT, cognito_mapping()).with_token_use(Some("access".into()));
    // No `aud`: Cognito access tokens name the app client in `client_id`. Custom claims come
    // from a pre token generation trigger (V2), which can add them to access tokens.
    let claims = json!({
        "sub": "a1b2c3d4-0000-4000-8000-000000000002",
        "client_id": COGNITO_CLIENT,
        "iss": COGNITO,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "username": "sam",
        "cognito:groups": ["store-admins"],
        "custom:stores": "store-9",
        "auth_time": now(), "iat": now(), "exp": now() + 3600,
    });
    accepts_then_denies(
        &authenticator,
        claims,
        (
            "a1b2c3d4-0000-4000-8000-000000000002",
            Role::Admin,
            &["store-9"],
        ),
        |c| c["client_id"] = json!("another-app-client"),
        Denial::WrongAudience,
    )
    .await;
}

#[tokio::test]
async fn entra_id_tokens_map_app_roles_with_a_guid_audience() {
    let tenant = "9188040d-6c67-4c5b-b112-36a304b66dad";
    let issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
    let audience = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let authenticator = provider(
        &issuer,
        audience,
        ClaimMapping {
            subject: "oid".into(),
            role: groups(
                "roles",
                "Store.Associate=associate,Store.Supervisor=supervisor",
            ),
            stores: "extn.stores".into(),
        },
    );
    let claims = json!({
        "aud": audience,
        "iss": issuer,
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "oid": "00000000-0000-0000-66f3-3332eca7ea81",
        "tid": tenant,
        "ver": "2.0",
        "roles": ["Store.Associate"],
        "extn.stores": ["store-1"],
        "nbf": now(), "iat": now(), "exp": now() + 3600,
    });
    accepts_then_denies(
        &authenticator,
        claims,
        (
            "00000000-0000-0000-66f3-3332eca7ea81",
            Role::Associate,
            &["store-1"],
        ),
        |c| c["aud"] = json!("00000002-0000-0000-c000-000000000000"),
        Denial::WrongAudience,
    )
    .await;
}

#[tokio::test]
async fn okta_tokens_map_groups() {
    let issuer = "https://dev-123456.okta.com/oauth2/default";
    let authenticator = provider(
        issuer,
        "api://store-services",
        ClaimMapping {
            subject: "sub".into(),
            role: groups("groups", "Store Staff=associate,Store Managers=admin"),
            stores: "stores".into(),
        },
    );
    let claims = json!({
        "ver": 1, "jti": "AT.abc", "iss": issuer, "aud": "api://store-services",
        "cid": "0oa1b2c3", "uid": "00u1b2c3", "sub": "lee@example.com",
        "scp": ["openid"], "groups": ["Everyone", "Store Managers"],
        "stores": ["store-1", "store-3"],
        "iat": now(), "exp": now() + 3600,
    });
    accepts_then_denies(
        &authenticator,
        claims,
        ("lee@example.com", Role::Admin, &["store-1", "store-3"]),
        |c| c["groups"] = json!(["Everyone"]),
        Denial::InvalidClaims,
    )
    .await;
}

#[tokio::test]
async fn auth0_tokens_with_an_audience_array_and_namespaced_claims() {
    let issuer = "https://store-services.eu.auth0.com/";
    let api = "https://api.store-services.example";
    let authenticator = provider(
        issuer,
        api,
        ClaimMapping {
            subject: "sub".into(),
            role: RoleSource::Claim("https://store-services.example/role".into()),
            stores: "https://store-services.example/stores".into(),
        },
    );
    let claims = json!({
        "iss": issuer,
        "sub": "auth0|64f1c0ffee",
        "aud": [api, "https://store-services.eu.auth0.com/userinfo"],
        "azp": "xYz123", "scope": "openid profile",
        "https://store-services.example/role": "supervisor",
        "https://store-services.example/stores": ["store-2"],
        "iat": now(), "exp": now() + 86_000,
    });
    accepts_then_denies(
        &authenticator,
        claims,
        ("auth0|64f1c0ffee", Role::Supervisor, &["store-2"]),
        |c| {
            c["aud"] = json!([
                "https://another.example",
                "https://store-services.eu.auth0.com/userinfo"
            ])
        },
        Denial::WrongAudience,
    )
    .await;
}

// --- keys from the issuer ---

fn claims_of(issuer: &LocalIssuer) -> Value {
    json!({
        "sub": "user-1", "role": "supervisor", "stores": ["store-1"],
        "iss": issuer.issuer(), "aud": "store-services", "iat": now(), "exp": now() + 600,
    })
}

fn bearer(token: String) -> String {
    format!("Bearer {token}")
}

fn discovering(issuer: &LocalIssuer, refetch_after: Duration) -> Authenticator {
    Authenticator::with_remote_keys(
        JwksLocation::Discovery(format!(
            "{}/.well-known/openid-configuration",
            issuer.issuer()
        )),
        refetch_after,
        issuer.issuer(),
        "store-services",
    )
}

#[tokio::test]
async fn rotated_keys_are_fetched_retired_ones_denied_and_held_ones_survive_an_outage() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    // Refetch on every unknown kid: rotation without waiting.
    let authenticator = discovering(&issuer, Duration::ZERO);
    let claims = claims_of(&issuer);
    let first = bearer(issuer.signing_key().sign(&claims));
    assert!(authenticator.verify(Some(&first)).await.is_ok());
    assert_eq!(issuer.jwks_reads(), 1, "keys are read at first need");
    assert!(authenticator.verify(Some(&first)).await.is_ok());
    assert_eq!(issuer.jwks_reads(), 1, "and kept");

    // A new key at the issuer: its first token makes the authorizer fetch it.
    let old_kid = issuer.signing_key().kid().to_owned();
    let second = bearer(issuer.rotate().unwrap().sign(&claims));
    assert!(authenticator.verify(Some(&second)).await.is_ok());
    assert_eq!(issuer.jwks_reads(), 2);
    assert!(
        authenticator.verify(Some(&first)).await.is_ok(),
        "old key still published"
    );

    // The old key is retired: once the authorizer refreshes, its tokens are denied.
    issuer.retire(&old_kid);
    let third = bearer(issuer.rotate().unwrap().sign(&claims));
    assert!(authenticator.verify(Some(&third)).await.is_ok());
    assert_eq!(
        authenticator.verify(Some(&first)).await,
        Err(Denial::UnknownKey)
    );

    // The issuer goes down: keys held keep working; an unknown key is denied.
    issuer.set_up(false);
    let reads = issuer.jwks_reads();
    assert!(authenticator.verify(Some(&third)).await.is_ok());
    assert!(authenticator.verify(Some(&second)).await.is_ok());
    let stranger = bearer(SigningKey::generate().unwrap().sign(&claims));
    assert_eq!(
        authenticator.verify(Some(&stranger)).await,
        Err(Denial::UnknownKey)
    );
    assert_eq!(issuer.jwks_reads(), reads + 1, "it tried, and failed");
    issuer.set_up(true);
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_interval() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let authenticator = discovering(&issuer, Duration::from_secs(3600));
    let claims = claims_of(&issuer);
    assert!(
        authenticator
            .verify(Some(&bearer(issuer.signing_key().sign(&claims))))
            .await
            .is_ok()
    );
    for _ in 0..5 {
        let stranger = bearer(SigningKey::generate().unwrap().sign(&claims));
        assert_eq!(
            authenticator.verify(Some(&stranger)).await,
            Err(Denial::UnknownKey)
        );
    }
    assert_eq!(issuer.jwks_reads(), 1);
    assert_eq!(authenticator.remote_keys().unwrap().fetches(), 1);
}

#[tokio::test]
async fn crit_headers_long_lifetimes_future_iat_and_missing_kid_or_iat_are_denied() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let authenticator = discovering(&issuer, Duration::from_secs(60)).with_max_lifetime(3600);
    let key = issuer.signing_key();
    let claims = claims_of(&issuer);
    assert!(
        authenticator
            .verify(Some(&bearer(key.sign(&claims))))
            .await
            .is_ok()
    );

    let crit = key.sign_with_header(
        &json!({"alg": "RS256", "kid": key.kid(), "crit": ["exp"], "exp": 1}),
        &claims,
    );
    assert_eq!(
        authenticator.verify(Some(&bearer(crit))).await,
        Err(Denial::CriticalHeader)
    );

    let mut long = claims.clone();
    long["exp"] = json!(now() + 7200);
    assert_eq!(
        authenticator.verify(Some(&bearer(key.sign(&long)))).await,
        Err(Denial::LifetimeTooLong)
    );

    // Issued ten years ahead with a one-minute lifetime: `exp - iat` fits the cap, but the
    // token would be good for ten years.
    let mut future = claims.clone();
    future["iat"] = json!(now() + 10 * 365 * 86_400);
    future["exp"] = json!(now() + 10 * 365 * 86_400 + 60);
    assert_eq!(
        authenticator.verify(Some(&bearer(key.sign(&future)))).await,
        Err(Denial::IssuedInTheFuture)
    );
    // Within the clock-skew leeway, a little ahead is fine.
    let mut skewed = claims.clone();
    skewed["iat"] = json!(now() + 10);
    assert!(
        authenticator
            .verify(Some(&bearer(key.sign(&skewed))))
            .await
            .is_ok()
    );

    let mut no_iat = claims.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    assert_eq!(
        authenticator.verify(Some(&bearer(key.sign(&no_iat)))).await,
        Err(Denial::InvalidClaims)
    );

    let no_kid = key.sign_with_header(&json!({"alg": "RS256", "typ": "JWT"}), &claims);
    assert_eq!(
        authenticator.verify(Some(&bearer(no_kid))).await,
        Err(Denial::UnknownKey)
    );
}

/// A long-running service verifies many tokens at once: while one token's unknown `kid`
/// keeps a JWKS fetch in flight, tokens signed with a key already held verify at once.
#[tokio::test]
async fn a_fetch_in_flight_stalls_no_verification_with_a_held_key() {
    let issuer = LocalIssuer::spawn().await.unwrap();
    let authenticator = std::sync::Arc::new(discovering(&issuer, Duration::ZERO));
    let claims = claims_of(&issuer);
    let held = bearer(issuer.signing_key().sign(&claims));
    assert!(authenticator.verify(Some(&held)).await.is_ok());
    assert_eq!(issuer.jwks_reads(), 1);

    issuer.hold_jwks();
    let rotated = bearer(issuer.rotate().unwrap().sign(&claims));
    let waiting = {
        let authenticator = std::sync::Arc::clone(&authenticator);
        tokio::spawn(async move { authenticator.verify(Some(&rotated)).await })
    };
    // The rotated key's fetch has reached the issuer, which holds its answer.
    let started = std::time::Instant::now();
    while issuer.jwks_reads() < 2 {
        assert!(started.elapsed() < Duration::from_secs(10), "no fetch");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let verified = tokio::time::timeout(Duration::from_secs(5), authenticator.verify(Some(&held)))
        .await
        .expect("a held key verifies while a fetch is in flight");
    assert!(verified.is_ok());
    assert!(!waiting.is_finished());

    issuer.release_jwks();
    assert!(
        waiting.await.unwrap().is_ok(),
        "the rotated key arrives with the fetch"
    );
}
