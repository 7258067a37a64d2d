//! The authorizer's token verification, the role × route permission table, and per-store
//! isolation, through the real authorizer and handlers.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use integration_tests::{
    Event, app, call_function, event, fresh_store, handle, partition_items, parts,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lambda_http::http::HeaderValue;
use serde_json::{Value, json};
use shared::auth::{Authenticator, Claims, Denial, mint_hs256};
use std::time::{SystemTime, UNIX_EPOCH};

const ISSUER: &str = "https://auth.store-services.test/";
const AUDIENCE: &str = "store-services";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/keys");
const HS_SECRET: &[u8] = b"a-development-secret-of-32-bytes-or-more";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(role: &str, stores: &[&str]) -> Claims {
    Claims {
        sub: "user-1".into(),
        role: role.into(),
        stores: stores.iter().map(|s| (*s).to_owned()).collect(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        exp: now() + 600,
        nbf: None,
        iat: Some(now()),
    }
}

fn key_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &impl serde::Serialize) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&key_file("rsa-private.pem")).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&key_file("ec-private.pem")).unwrap(),
        _ => unreachable!(),
    };
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn rs256(claims: &impl serde::Serialize) -> String {
    sign(Algorithm::RS256, Some("test-rsa-1"), claims)
}

fn production() -> Authenticator {
    let jwks = std::fs::read_to_string(format!("{KEYS}/jwks.json")).unwrap();
    Authenticator::with_jwks(&jwks, ISSUER, AUDIENCE).unwrap()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn authorizer_event(authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/authorizer.json");
    let mut request: ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    request.headers.remove("authorization");
    if let Some(value) = authorization {
        request
            .headers
            .insert("authorization", HeaderValue::from_str(value).unwrap());
    }
    request
}

#[tokio::test]
async fn rs256_and_es256_tokens_from_the_jwks_are_allowed_with_their_claims_as_context() {
    let authenticator = production();
    let rs = rs256(&claims("supervisor", &["store-1", "store-2"]));
    let es = sign(
        Algorithm::ES256,
        Some("test-ec-1"),
        &claims("associate", &["store-3"]),
    );

    let response = authorizer::handler(&authenticator, &authorizer_event(Some(&bearer(&rs)))).await;
    assert!(response.is_authorized);
    assert_eq!(
        response.context,
        json!({"sub": "user-1", "role": "supervisor", "stores": "store-1,store-2"})
    );
    let response = authorizer::handler(&authenticator, &authorizer_event(Some(&bearer(&es)))).await;
    assert!(response.is_authorized);
    assert_eq!(response.context["role"], "associate");
    // The scheme is case-insensitive, as HTTP says.
    assert!(
        authenticator
            .verify(Some(&format!("bearer {rs}")))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn every_kind_of_bad_token_is_a_clean_deny() {
    let authenticator = production();
    let valid = claims("admin", &["store-1"]);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut value = serde_json::to_value(&valid).unwrap();
        change(&mut value);
        rs256(&value)
    };
    let good = rs256(&valid);
    let (head, rest) = good.split_once('.').unwrap();
    let (body, signature) = rest.split_once('.').unwrap();
    let mut bad_signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bad_signature[10] ^= 0x01;
    let bad_signature = format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(bad_signature));
    let alg_none = format!(
        "{}.{body}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
    );
    // Algorithm confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-rsa-1".into());
        jsonwebtoken::encode(
            &header,
            &valid,
            &EncodingKey::from_secret(&key_file("rsa-public.pem")),
        )
        .unwrap()
    };
    let cases: Vec<(Option<String>, Denial)> = vec![
        (None, Denial::MissingToken),
        (Some("Basic dXNlcjpwYXNz".into()), Denial::NotBearer),
        (Some(good.clone()), Denial::NotBearer),
        (Some(bearer("garbage")), Denial::Malformed),
        (Some(bearer("a.b.c")), Denial::Malformed),
        (Some(bearer(&alg_none)), Denial::Malformed),
        (Some(bearer(&confused)), Denial::AlgorithmNotAllowed),
        (
            Some(bearer(&with(&|c| c["exp"] = json!(now() - 120)))),
            Denial::Expired,
        ),
        (
            Some(bearer(&with(&|c| c["nbf"] = json!(now() + 120)))),
            Denial::NotYetValid,
        ),
        (
            Some(bearer(&with(&|c| c["iss"] = json!("https://evil.test/")))),
            Denial::WrongIssuer,
        ),
        (
            Some(bearer(&with(&|c| c["aud"] = json!("another-api")))),
            Denial::WrongAudience,
        ),
        (Some(bearer(&bad_signature)), Denial::BadSignature),
        (
            Some(bearer(&sign(Algorithm::RS256, Some("retired-key"), &valid))),
            Denial::UnknownKey,
        ),
        (
            Some(bearer(&sign(Algorithm::RS256, None, &valid))),
            Denial::UnknownKey,
        ),
        // An ES256 token claiming the RSA key's kid: a key is used only with its algorithm.
        (
            Some(bearer(&sign(Algorithm::ES256, Some("test-rsa-1"), &valid))),
            Denial::AlgorithmNotAllowed,
        ),
        (
            Some(bearer(&with(&|c| {
                c.as_object_mut().unwrap().remove("role");
            }))),
            Denial::InvalidClaims,
        ),
        (
            Some(bearer(&with(&|c| {
                c.as_object_mut().unwrap().remove("stores");
            }))),
            Denial::InvalidClaims,
        ),
        (
            Some(bearer(&with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }))),
            Denial::InvalidClaims,
        ),
        (
            Some(bearer(&with(&|c| c["role"] = json!("owner")))),
            Denial::InvalidClaims,
        ),
        (
            Some(bearer(&with(&|c| c["stores"] = json!([])))),
            Denial::InvalidClaims,
        ),
        (
            Some(bearer(&with(&|c| c["stores"] = json!(["a#b"])))),
            Denial::InvalidClaims,
        ),
        (
            Some(bearer(&mint_hs256(HS_SECRET, &valid))),
            Denial::AlgorithmNotAllowed,
        ),
    ];
    for (header, expected) in cases {
        assert_eq!(
            authenticator.verify(header.as_deref()).await,
            Err(expected),
            "{header:?}"
        );
        let response =
            authorizer::handler(&authenticator, &authorizer_event(header.as_deref())).await;
        assert!(!response.is_authorized);
        assert_eq!(response.context, json!({}));
    }
    // Within the leeway, a just-expired token still passes.
    assert!(
        authenticator
            .verify(Some(&bearer(&with(&|c| c["exp"] = json!(now() - 5)))))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_symmetric_key_is_used_only_when_configured_and_then_alone() {
    let development = Authenticator::with_hs256_secret(HS_SECRET, ISSUER, AUDIENCE).unwrap();
    let valid = claims("associate", &["store-1"]);
    assert!(
        development
            .verify(Some(&bearer(&mint_hs256(HS_SECRET, &valid))))
            .await
            .is_ok()
    );
    assert_eq!(
        development.verify(Some(&bearer(&rs256(&valid)))).await,
        Err(Denial::AlgorithmNotAllowed)
    );
    assert_eq!(
        development
            .verify(Some(&bearer(&mint_hs256(
                b"another-secret-of-at-least-32-bytes!",
                &valid
            ))))
            .await,
        Err(Denial::BadSignature)
    );
    assert!(Authenticator::with_hs256_secret(b"short", ISSUER, AUDIENCE).is_err());
}

/// What each role may do on each route: the permission table as a test.
#[tokio::test]
async fn each_role_may_do_exactly_what_the_table_says() {
    let app = app().await;
    // route, fixture, allowed for (associate, supervisor, admin)
    let table: [(&str, [bool; 3]); 6] = [
        ("create-request", [true, true, true]),
        ("get-request", [true, true, true]),
        ("list-requests", [true, true, true]),
        ("update-request", [true, true, true]),
        ("respond-to-request", [false, true, true]),
        // Associates withdraw their own pending requests; supervisors discard any.
        ("delete-request", [true, true, true]),
    ];
    for (fixture, allowed) in table {
        for (role, allowed) in ["associate", "supervisor", "admin"]
            .into_iter()
            .zip(allowed)
        {
            let store = fresh_store();
            // The request is raised by the same principal, so "associates edit their own"
            // holds; but nobody answers their own, so answers are to someone else's.
            let raiser = if fixture == "respond-to-request" {
                ("user-2", "associate")
            } else {
                ("user-1", role)
            };
            let created = parts(
                handle(
                    &app,
                    event("create-request")
                        .store(&store)
                        .principal(raiser.0, raiser.1, &[&store])
                        .without_header("idempotency-key")
                        .build(),
                )
                .await,
            )
            .1;
            let id = created["requestId"].as_str().unwrap();
            let request = event(fixture)
                .store(&store)
                .request_id(id)
                .principal("user-1", role, &[&store])
                .header("if-match", "\"1\"")
                .build();
            let before = partition_items(&app, &store).await;
            let status = call_function(&app, fixture, request).await.0;
            if allowed {
                assert!((200..300).contains(&status), "{role} {fixture}: {status}");
            } else {
                assert_eq!(status, 403, "{role} {fixture}");
                assert_eq!(
                    partition_items(&app, &store).await,
                    before,
                    "{role} {fixture}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_principal_of_one_store_gets_403_on_every_route_of_another() {
    let app = app().await;
    let (store_a, store_b) = (fresh_store(), fresh_store());
    let secret_details = "store B's confidential refund";
    let b_request = parts(
        handle(
            &app,
            event("create-request")
                .store(&store_b)
                .principal("b-user", "associate", &[&store_b])
                .without_header("idempotency-key")
                .json(json!({"requestType": "REFUND", "details": secret_details}))
                .build(),
        )
        .await,
    )
    .1;
    let b_id = b_request["requestId"].as_str().unwrap().to_owned();
    let before = partition_items(&app, &store_b).await;
    for fixture in [
        "create-request",
        "get-request",
        "list-requests",
        "update-request",
        "respond-to-request",
        "delete-request",
    ] {
        let as_a_admin: Event = event(fixture)
            .store(&store_b)
            .request_id(&b_id)
            .principal("a-admin", "admin", &[&store_a])
            .header("if-match", "\"1\"");
        let (status, body) = call_function(&app, fixture, as_a_admin.build()).await;
        assert_eq!(status, 403, "{fixture}");
        assert!(!body.to_string().contains(secret_details), "{fixture}");
        assert!(!body.to_string().contains(&b_id), "{fixture}");
    }
    assert_eq!(partition_items(&app, &store_b).await, before);
}

#[tokio::test]
async fn the_authorizers_context_is_what_handlers_read() {
    let app = app().await;
    let store = fresh_store();
    let authenticator = production();
    let token = rs256(&claims("associate", &[&store]));
    let decision =
        authorizer::handler(&authenticator, &authorizer_event(Some(&bearer(&token)))).await;
    assert!(decision.is_authorized);
    let context = decision
        .context
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let request = event("create-request")
        .store(&store)
        .authorizer_context(context)
        .without_header("idempotency-key")
        .build();
    let (status, created) = parts(handle(&app, request).await);
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["requestedBy"], "user-1");
}

/// Preferred items: everyone reads; only admins write (master data, items, pins, weights).
#[tokio::test]
async fn only_admins_change_the_catalogue() {
    let app = app().await;
    let reads = [
        "list-master-items",
        "get-master-item",
        "list-items",
        "get-item",
        "get-preferred-item",
        "get-scoring-weights",
    ];
    let writes = [
        "create-master-item",
        "update-master-item",
        "delete-master-item",
        "create-item",
        "update-item",
        "delete-item",
        "pin-preferred-item",
        "unpin-preferred-item",
        "put-scoring-weights",
    ];
    for role in ["associate", "supervisor", "admin"] {
        for fixture in reads.iter().chain(&writes) {
            let store = fresh_store();
            let request = event(fixture)
                .store(&store)
                .principal("user-1", role, &[&store])
                .build();
            let (status, body) = call_function(&app, fixture, request).await;
            let may = role == "admin" || reads.contains(fixture);
            if may {
                // Allowed through; the fixture's ids do not exist in a fresh store.
                assert_ne!(status, 403, "{role} {fixture}: {body}");
            } else {
                assert_eq!(status, 403, "{role} {fixture}: {body}");
                let written = integration_tests::catalog_items(&app, &store).await;
                assert!(written.is_empty(), "{role} {fixture} wrote despite the 403");
            }
        }
    }
}
