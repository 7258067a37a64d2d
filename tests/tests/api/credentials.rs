//! Credentials as each platform gives them, found by the SDK configuration every process
//! loads (`shared::edge::config::load_sdk_config`, the default chain off Lambda): the ECS task
//! role (the container credentials endpoint), EKS Pod Identity (the same provider, with the
//! agent's token file) and IAM roles for service accounts (a web identity token exchanged
//! with STS). Each runs against a stand-in of that endpoint on loopback, as the local run
//! stands in for the other AWS endpoints.
//!
//! The chain reads the process environment, and aws-config offers no public way to give it
//! another (`ProviderConfig::with_env` is crate-private), while this test binary's threads
//! must not have theirs changed. So each case runs this binary again as a child process with
//! exactly the platform's variables: the child loads the configuration as the server does at
//! start, reads the cursor key from Secrets Manager and makes one DynamoDB call, both at the
//! stand-in, which records what each request was signed with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Set in the child's environment only.
const CHILD: &str = "STORE_SERVICES_CREDENTIALS_CHILD";
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:CursorSecret-AbCdEf";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/store-services-eks-server";
const SECRET_KEY: &str = "stand-in-secret-access-key";

/// What a platform's credentials endpoint hands out, and what it expects to be shown.
struct StandIn {
    /// The access key it gives (each case its own, so a key can only come from it).
    access_key: &'static str,
    session_token: &'static str,
    /// ECS and Pod Identity: the `Authorization` header the request must carry.
    authorization: Option<String>,
    /// IRSA: the web identity token STS must be shown.
    web_identity_token: Option<String>,
}

/// One HTTP request as the stand-in read it: the request line and headers, lower-cased
/// names, and the body.
#[derive(Clone, Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves, on one loopback port: the container credentials endpoint (any GET), STS
/// `AssumeRoleWithWebIdentity` (a form POST), Secrets Manager `GetSecretValue` and DynamoDB
/// `ListTables` (JSON POSTs told apart by `X-Amz-Target`). A credentials request without
/// the expected token or web identity is refused, as the real endpoints refuse it.
async fn stand_in(platform: StandIn) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let platform = Arc::new(platform);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let Some(request) = read_request(&mut stream).await else {
                continue;
            };
            record.lock().unwrap().push(request.clone());
            let (status, content_type, body) = answer(&platform, &request);
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    (endpoint, seen)
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let mut lines = head.lines();
        let request_line = lines.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        if body.len() >= length {
            return Some(Seen {
                request_line,
                headers,
                body: body.to_owned(),
            });
        }
    }
}

fn answer(platform: &StandIn, request: &Seen) -> (&'static str, &'static str, String) {
    let expiration = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap();
    let target = request.header("x-amz-target").unwrap_or_default();
    if request.request_line.starts_with("GET ") {
        // The container credentials endpoint (ECS agent, EKS Pod Identity Agent).
        if request.header("authorization").map(str::to_owned) != platform.authorization {
            return (
                "401 Unauthorized",
                "application/json",
                r#"{"code":"AccessDenied","message":"bad token"}"#.into(),
            );
        }
        let body = serde_json::json!({
            "AccessKeyId": platform.access_key,
            "SecretAccessKey": SECRET_KEY,
            "Token": platform.session_token,
            "Expiration": expiration,
        });
        return ("200 OK", "application/json", body.to_string());
    }
    if request.body.contains("Action=AssumeRoleWithWebIdentity") {
        let shown = form_value(&request.body, "WebIdentityToken");
        let role = form_value(&request.body, "RoleArn");
        if shown != platform.web_identity_token || role.as_deref() != Some(ROLE_ARN) {
            return (
                "400 Bad Request",
                "text/xml",
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error><RequestId>1</RequestId></ErrorResponse>"#.into(),
            );
        }
        let body = format!(
            r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:store-services:store-server</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/store-services-eks-server/pod</Arn>
      <AssumedRoleId>AROAEXAMPLE:pod</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{}</AccessKeyId>
      <SecretAccessKey>{SECRET_KEY}</SecretAccessKey>
      <SessionToken>{}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#,
            platform.access_key, platform.session_token
        );
        return ("200 OK", "text/xml", body);
    }
    if target.eq_ignore_ascii_case("secretsmanager.GetSecretValue") {
        let body = serde_json::json!({
            "ARN": SECRET_ARN, "Name": "CursorSecret",
            "SecretString": "Zq8Lk3Vx0Pw7Rt2Ny5Bm9Hc4Jd6Fg1Sa8Qe3Uo0Ii7Ty2Wr5Xz9Cv4Bn6Ml1Kj3Hg",
            "VersionId": "v1",
        });
        return ("200 OK", "application/x-amz-json-1.1", body.to_string());
    }
    if target.eq_ignore_ascii_case("DynamoDB_20120810.ListTables") {
        return (
            "200 OK",
            "application/x-amz-json-1.0",
            r#"{"TableNames":[]}"#.into(),
        );
    }
    (
        "404 Not Found",
        "application/json",
        r#"{"message":"not stood in"}"#.into(),
    )
}

/// A form field's value (STS's query protocol), percent-decoded.
fn form_value(body: &str, name: &str) -> Option<String> {
    let value = body.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })?;
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A file only this test writes (a token file, an empty home).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "store-services-credentials-{}-{}",
        std::process::id(),
        ulid::Ulid::new()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs [`the_server_s_sdk_configuration_in_a_platform_s_environment`] in a child process
/// with only `platform_env` and what the server is given anyway (tables, region, the cursor
/// key's ARN, the stand-in as the DynamoDB and Secrets Manager endpoint), and returns the
/// access key it says it was given.
async fn run_child(endpoint: &str, platform_env: Vec<(&'static str, String)>) -> String {
    let home = scratch("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "credentials::the_server_s_sdk_configuration_in_a_platform_s_environment",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(CHILD, "1")
        // No profile files, no instance metadata: only the platform's own source remains.
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("REQUESTS_TABLE", "supervisor-requests")
        .env("ITEMS_TABLE", "preferred-items")
        .env("EVENTS_TABLE", "supervisor-request-events")
        .env("CONNECTIONS_TABLE", "websocket-connections")
        .env("CURSOR_SECRET_ARN", SECRET_ARN)
        .env("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
        .envs(platform_env);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child failed:\n{stdout}\n{stderr}"
    );
    stdout
        .lines()
        .find_map(|line| line.split("credentials-from: ").nth(1))
        .unwrap_or_else(|| panic!("the child named no credentials:\n{stdout}"))
        .trim()
        .to_owned()
}

/// Every AWS request the child made after getting its credentials (the cursor key's read,
/// the DynamoDB call) was signed with the stand-in's key and carried its session token.
fn assert_signed_with(seen: &[Seen], access_key: &str, session_token: &str) {
    let signed: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.header("x-amz-target").is_some())
        .collect();
    let targets: Vec<&str> = signed
        .iter()
        .filter_map(|s| s.header("x-amz-target"))
        .collect();
    assert_eq!(
        targets,
        [
            "secretsmanager.GetSecretValue",
            "DynamoDB_20120810.ListTables"
        ],
        "the cursor key at start, then the table"
    );
    for request in signed {
        let authorization = request.header("authorization").unwrap_or_default();
        assert!(
            authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={access_key}/")),
            "{authorization}"
        );
        assert_eq!(request.header("x-amz-security-token"), Some(session_token));
    }
}

/// The ECS task role: the agent's credentials endpoint, named by
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN`. (Fargate
/// itself sets `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, which the same provider resolves
/// against 169.254.170.2, an address this test cannot serve on loopback.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecs_task_role_from_the_container_credentials_endpoint() {
    let token = "ecs-agent-token-1";
    let (endpoint, seen) = stand_in(StandIn {
        access_key: "ASIAECSTASKROLE",
        session_token: "ecs-session-token",
        authorization: Some(token.into()),
        web_identity_token: None,
    })
    .await;
    let key = run_child(
        &endpoint,
        vec![
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{endpoint}/v2/credentials/6f2a1c9e-task"),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.into()),
        ],
    )
    .await;
    assert_eq!(key, "ASIAECSTASKROLE");
    let seen = seen.lock().unwrap().clone();
    let fetches: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.request_line.starts_with("GET "))
        .collect();
    // The child's own look at the chain, then one for both clients: they share the SDK
    // configuration's identity cache, so the server fetches once per expiry, not per call.
    assert_eq!(fetches.len(), 2, "{seen:?}");
    assert!(
        fetches[0]
            .request_line
            .starts_with("GET /v2/credentials/6f2a1c9e-task ")
    );
    assert_signed_with(&seen, "ASIAECSTASKROLE", "ecs-session-token");
}

/// EKS Pod Identity: the agent at 169.254.170.23 (here loopback), with the projected
/// service account token read from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` at each fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eks_pod_identity_from_the_agent_with_the_token_file() {
    let token = "eyJhbGciOiJSUzI1NiJ9.pod-identity-service-account-token.signature";
    let token_file = scratch("eks-pod-identity-token");
    std::fs::write(&token_file, token).unwrap();
    let (endpoint, seen) = stand_in(StandIn {
        access_key: "ASIAPODIDENTITY",
        session_token: "pod-identity-session-token",
        authorization: Some(token.into()),
        web_identity_token: None,
    })
    .await;
    let key = run_child(
        &endpoint,
        vec![
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{endpoint}/v1/credentials"),
            ),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                path(&token_file).into(),
            ),
        ],
    )
    .await;
    assert_eq!(key, "ASIAPODIDENTITY");
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.request_line.starts_with("GET /v1/credentials ")),
        "{seen:?}"
    );
    assert_signed_with(&seen, "ASIAPODIDENTITY", "pod-identity-session-token");
}

/// IAM roles for service accounts: the projected token file and the role's ARN, exchanged
/// by STS `AssumeRoleWithWebIdentity` (here at `AWS_ENDPOINT_URL_STS`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irsa_web_identity_exchanged_with_sts() {
    let token = "eyJhbGciOiJSUzI1NiJ9.irsa-service-account-token.signature";
    let token_file = scratch("token");
    std::fs::write(&token_file, token).unwrap();
    let (endpoint, seen) = stand_in(StandIn {
        access_key: "ASIAIRSAWEBIDENTITY",
        session_token: "irsa-session-token",
        authorization: None,
        web_identity_token: Some(token.into()),
    })
    .await;
    let key = run_child(
        &endpoint,
        vec![
            ("AWS_ROLE_ARN", ROLE_ARN.into()),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", path(&token_file).into()),
            ("AWS_STS_REGIONAL_ENDPOINTS", "regional".into()),
            ("AWS_ENDPOINT_URL_STS", endpoint.clone()),
        ],
    )
    .await;
    assert_eq!(key, "ASIAIRSAWEBIDENTITY");
    let seen = seen.lock().unwrap().clone();
    let exchanges: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.body.contains("Action=AssumeRoleWithWebIdentity"))
        .collect();
    // As for ECS: the child's own look, then one for both clients.
    assert_eq!(exchanges.len(), 2, "{seen:?}");
    // The exchange itself is unsigned: the token is the proof.
    assert_eq!(exchanges[0].header("authorization"), None);
    assert_signed_with(&seen, "ASIAIRSAWEBIDENTITY", "irsa-session-token");
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The child: what the server does at start with the platform's environment. Ignored in
/// ordinary runs (the tests above run it with `--ignored` in a child process).
#[tokio::test]
#[ignore = "run by the credentials tests in a child process with a platform's environment"]
async fn the_server_s_sdk_configuration_in_a_platform_s_environment() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    use aws_sdk_dynamodb::config::ProvideCredentials;
    let sdk = shared::edge::config::load_sdk_config().await;
    let credentials = sdk
        .credentials_provider()
        .expect("the default chain")
        .provide_credentials()
        .await
        .expect("credentials from the platform's source");
    println!("credentials-from: {}", credentials.access_key_id());
    // The server's start: the cursor key from Secrets Manager, signed with them.
    let app = shared::App::from_sdk_config(&sdk)
        .await
        .expect("starts as the server would");
    assert!(app.cursor_key.is_some());
    // A table call, signed with them.
    let client =
        aws_sdk_dynamodb::Client::from_conf(shared::edge::config::dynamodb_config(&sdk).build());
    client.list_tables().send().await.expect("ListTables");
}
