//! The local gateway behaves as API Gateway: authorizer first, then the handler with the
//! authorizer's context, path parameters, query string, headers and body passed through.

use integration_tests::{app, fresh_store, gateway_parts, hold_gateway_answer};
use lambda_http::http::{HeaderMap, HeaderValue, Method};
use local_gateway::oidc::LocalIssuer;
use local_gateway::{Gateway, Incoming};
use shared::auth::Authenticator;

/// A token of the local issuer, as `make token` mints it.
fn token(issuer: &LocalIssuer, role: &str, store: &str) -> String {
    issuer.token("store-services", ("gateway-user", role, &[store]), 0, 60)
}

async fn call(
    gateway: &Gateway,
    method: Method,
    path: &str,
    query: &str,
    authorization: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(value) = authorization {
        headers.insert("authorization", HeaderValue::from_str(value).unwrap());
    }
    let response = gateway
        .handle(Incoming {
            method: &method,
            path,
            raw_query: query,
            headers: &headers,
            body: body.as_bytes(),
        })
        .await;
    // The gateway's own answers (401, 403) are held to the document as the handlers' are.
    hold_gateway_answer(method.as_str(), path, &response);
    gateway_parts(response)
}

#[tokio::test]
async fn requests_pass_the_authorizer_then_reach_the_handler_intact() {
    // The production path: the authorizer reads the issuer's discovery document and JWKS
    // over HTTP, from the local issuer `make run` serves.
    let issuer = LocalIssuer::spawn().await.unwrap();
    let gateway = Gateway {
        app: app().await,
        authenticator: issuer.authenticator("store-services"),
        issuer: None,
    };
    let store = fresh_store();
    let base = format!("/stores/{store}/supervisor-requests");
    let bearer = format!("Bearer {}", token(&issuer, "associate", &store));
    let body = r#"{"requestType":"VOID","priority":"URGENT","details":"line 2 scanned twice"}"#;

    let (status, created) = call(&gateway, Method::POST, &base, "", Some(&bearer), body).await;
    assert_eq!(status, 201, "{created}");
    // A trailing slash is routed as API Gateway routes it: to the same route.
    let (status, page) = call(
        &gateway,
        Method::GET,
        &format!("{base}/"),
        "",
        Some(&bearer),
        "",
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["requestId"], created["requestId"]);
    assert_eq!(created["requestedBy"], "gateway-user");
    let id = created["requestId"].as_str().unwrap();

    let (status, one) = call(
        &gateway,
        Method::GET,
        &format!("{base}/{id}"),
        "",
        Some(&bearer),
        "",
    )
    .await;
    assert_eq!((status, &one), (200, &created));
    let (status, listed) = call(
        &gateway,
        Method::GET,
        &base,
        "status=PENDING&limit=5",
        Some(&bearer),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0], created);
    // The query string reaches the handler: an unknown status is the handler's 400.
    let (status, error) = call(
        &gateway,
        Method::GET,
        &base,
        "status=LATER",
        Some(&bearer),
        "",
    )
    .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("invalid_query_parameter"))
    );

    // API Gateway's own answers: no token, a denied token, unknown routes and methods.
    assert_eq!(
        call(&gateway, Method::GET, &base, "", None, "").await.0,
        401
    );
    assert_eq!(
        call(&gateway, Method::GET, &base, "", Some("Bearer nope"), "")
            .await
            .0,
        403
    );
    let other = format!("Bearer {}", token(&issuer, "admin", "another-store"));
    assert_eq!(
        call(&gateway, Method::GET, &base, "", Some(&other), "")
            .await
            .0,
        403
    );
    assert_eq!(
        call(&gateway, Method::GET, "/nowhere", "", Some(&bearer), "")
            .await
            .0,
        404
    );
    assert_eq!(
        call(&gateway, Method::PUT, &base, "", Some(&bearer), "")
            .await
            .0,
        405
    );
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_str(&bearer).unwrap());
    let response = gateway
        .handle(Incoming {
            method: &Method::PUT,
            path: &base,
            raw_query: "",
            headers: &headers,
            body: b"",
        })
        .await;
    assert_eq!(response.headers()["allow"], "POST, GET");
}

#[test]
fn query_strings_decode_as_api_gateway_does() {
    let query = local_gateway::query_parameters(
        "since=2026-11-23T10%3A00%3A00%2B02%3A00&a=1&a=2&flag&x=%zz",
    );
    assert_eq!(query["since"], "2026-11-23T10:00:00+02:00");
    assert_eq!(query["a"], "1,2");
    assert_eq!(query["flag"], "");
    assert_eq!(query["x"], "%zz");
}

/// CORS as the template configures it: API Gateway answers preflights itself (no token
/// needed) and puts the allow and expose headers on every answer to a browser.
#[tokio::test]
async fn cors_preflights_and_headers_follow_the_template() {
    let gateway = Gateway {
        app: app().await,
        authenticator: Authenticator::with_hs256_secret(
            b"cors-test-secret-of-at-least-32-bytes",
            "local",
            "store-services",
        )
        .unwrap(),
        issuer: None,
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        "origin",
        HeaderValue::from_static("https://console.example"),
    );
    headers.insert(
        "access-control-request-method",
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        "access-control-request-headers",
        HeaderValue::from_static("authorization,content-type,idempotency-key"),
    );
    let preflight = gateway
        .handle(Incoming {
            method: &Method::OPTIONS,
            path: "/stores/store-1/supervisor-requests",
            raw_query: "",
            headers: &headers,
            body: b"",
        })
        .await;
    assert_eq!(preflight.status(), 204);
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    for header in ["Authorization", "Idempotency-Key", "If-Match"] {
        assert!(allowed.contains(header), "{allowed}");
    }
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    headers.remove("access-control-request-method");
    let answer = gateway
        .handle(Incoming {
            method: &Method::GET,
            path: "/stores/store-1/supervisor-requests",
            raw_query: "",
            headers: &headers,
            body: b"",
        })
        .await;
    hold_gateway_answer("GET", "/stores/store-1/supervisor-requests", &answer);
    assert_eq!(
        answer.status(),
        401,
        "no token: refused, with CORS headers still"
    );
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    assert!(
        answer.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .contains("ETag")
    );
}

/// Over HTTP, a body over the gateway's own limit is refused before routing with API
/// Gateway's `413 {"message"}`, which the document gives for 413 on every route.
#[tokio::test]
async fn a_body_over_the_gateway_limit_is_its_own_413_as_documented() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let gateway = std::sync::Arc::new(Gateway {
        app: app().await,
        authenticator: Authenticator::with_hs256_secret(
            b"limit-test-secret-of-at-least-32-bytes",
            "local",
            "store-services",
        )
        .unwrap(),
        issuer: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(local_gateway::serve_http(gateway, listener));
    let path = "/stores/store-1/supervisor-requests";
    let length = local_gateway::MAX_GATEWAY_BODY_BYTES + 1;
    let stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // The gateway may answer before it has read everything: write in the background, and
    // keep the write half open until the answer is read (hyper closes a connection whose
    // client shut its side down).
    let writing = tokio::spawn(async move {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
        );
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&vec![b' '; length]).await;
        writer
    });
    let mut raw = Vec::new();
    reader.read_to_end(&mut raw).await.unwrap();
    drop(writing.await);
    server.abort();
    let (status, headers, body) = crate::service_models::parse_answer(&raw);
    let mut response =
        lambda_http::Response::new(lambda_http::Body::Text(String::from_utf8(body).unwrap()));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    *response.headers_mut() = headers;
    hold_gateway_answer("POST", path, &response);
    assert_eq!(
        gateway_parts(response),
        (
            413,
            serde_json::json!({"message": "Request Entity Too Large"})
        )
    );
}
