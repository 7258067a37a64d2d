//! What an operator watches: metrics in CloudWatch Embedded Metric Format, written by the
//! real handlers on their real paths, each line held to the specification.

use integration_tests::{
    app, app_with_fresh_table, call_function, create_request, emf_lines, event, fresh_store,
};
use serde_json::{Value, json};

/// Checks one line against the EMF specification and returns it parsed.
fn emf(line: &str) -> Value {
    let value: Value = serde_json::from_str(line).expect("an EMF line is JSON");
    let aws = &value["_aws"];
    assert!(
        aws["Timestamp"]
            .as_i64()
            .is_some_and(|t| t > 1_700_000_000_000),
        "{line}"
    );
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .expect("CloudWatchMetrics");
    assert_eq!(directives.len(), 1, "{line}");
    let directive = &directives[0];
    assert_eq!(directive["Namespace"], "StoreServices");
    for set in directive["Dimensions"].as_array().expect("Dimensions") {
        let set = set.as_array().expect("a dimension set is an array");
        assert!(!set.is_empty() && set.len() <= 30, "{line}");
        for name in set {
            let name = name.as_str().expect("dimension names are strings");
            assert!(
                value[name].is_string(),
                "dimension {name} is a string member: {line}"
            );
        }
    }
    let metrics = directive["Metrics"].as_array().expect("Metrics");
    assert!(!metrics.is_empty() && metrics.len() <= 100, "{line}");
    for metric in metrics {
        let name = metric["Name"].as_str().expect("a metric name");
        assert!(
            matches!(metric["Unit"].as_str(), Some("Count" | "Milliseconds")),
            "{line}"
        );
        assert!(
            value[name].is_number(),
            "metric {name} is a number member: {line}"
        );
    }
    value
}

fn lines_with(metric: &str, property: (&str, &str)) -> Vec<Value> {
    emf_lines()
        .iter()
        .map(|line| emf(line))
        .filter(|v| !v[metric].is_null() && v[property.0] == property.1)
        .collect()
}

/// A replayed create stores nothing, so it is neither counted nor logged as created.
#[tokio::test]
async fn a_replayed_create_is_not_counted_or_logged_as_created() {
    let app = app().await;
    let store = fresh_store();
    let create = || {
        event("create-request")
            .store(&store)
            .principal("associate-1", "associate", &[&store])
            .header("idempotency-key", "replayed-once")
            .json(json!({"requestType": "VOID", "details": "sent twice"}))
            .build()
    };
    let (first, body) = call_function(&app, "create-request", create()).await;
    let (again, replayed) = call_function(&app, "create-request", create()).await;
    assert_eq!((first, again), (201, 201));
    assert_eq!(body, replayed);
    assert_eq!(lines_with("RequestsCreated", ("storeId", &store)).len(), 1);
    let id = body["requestId"].as_str().unwrap();
    let logged = integration_tests::log_lines()
        .iter()
        .filter(|line| line.contains("request created") && line.contains(id))
        .count();
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn business_metrics_are_emitted_as_emf_by_the_real_handlers() {
    let app = app().await;
    let store = fresh_store();
    let (status, created) = create_request(
        &app,
        &store,
        json!({"requestType": "REFUND", "priority": "URGENT", "details": "receipt 9"}),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["requestId"].as_str().unwrap();
    let made = lines_with("RequestsCreated", ("storeId", &store));
    assert_eq!(made.len(), 1);
    assert_eq!(
        (
            made[0]["Priority"].as_str(),
            made[0]["RequestType"].as_str()
        ),
        (Some("URGENT"), Some("REFUND"))
    );
    assert_eq!(made[0]["RequestsCreated"], 1.0);
    // The store is a property, not a dimension (cost), unless configured.
    let dimensions = made[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"].to_string();
    assert!(!dimensions.contains("StoreId"), "{dimensions}");

    let (status, _) = call_function(
        &app,
        "respond-to-request",
        event("respond-to-request")
            .store(&store)
            .principal("supervisor-1", "supervisor", &[&store])
            .request_id(id)
            .json(json!({"decision": "DENIED"}))
            .build(),
    )
    .await;
    assert_eq!(status, 200);
    let answered = lines_with("RequestsAnswered", ("storeId", &store));
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["Decision"], "DENIED");
    assert!(
        answered[0]["TimeToAnswer"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0)
    );
}

#[tokio::test]
async fn sweeps_and_authorizer_denials_are_counted() {
    let app = app_with_fresh_table().await;
    let store = fresh_store();
    for details in ["first", "second"] {
        let (status, _) = create_request(
            &app,
            &store,
            json!({"requestType": "REFUND", "priority": "HIGH", "details": details}),
        )
        .await;
        assert_eq!(status, 201);
    }
    // The table is this test's own: what a sweep sees is exactly the two requests.
    let sweep_at = integration_tests::sweep_at;
    let now = time::OffsetDateTime::now_utc();
    // Other tests sweep their tables at the same time: look for this sweep's line among them.
    let swept = |before: usize, waiting: f64, timed_out: f64| -> bool {
        emf_lines()[before..].iter().map(|l| emf(l)).any(|v| {
            v["Sweeps"] == 1.0
                && v["RequestsWaiting"] == waiting
                && v["RequestsTimedOut"] == timed_out
        })
    };
    let before = emf_lines().len();
    timeout_sweeper::handler(&app, sweep_at(now), integration_tests::unlimited())
        .await
        .unwrap();
    assert!(swept(before, 2.0, 0.0));
    // A day later both are past their deadline: timed out, none waiting.
    let before = emf_lines().len();
    timeout_sweeper::handler(
        &app,
        sweep_at(now + time::Duration::days(1)),
        integration_tests::unlimited(),
    )
    .await
    .unwrap();
    assert!(swept(before, 0.0, 2.0));

    let authenticator = shared::auth::Authenticator::with_hs256_secret(
        b"operability-secret-of-32-bytes-or-more",
        "local",
        "store-services",
    )
    .unwrap();
    let mut request: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../events/authorizer.json"
            ))
            .unwrap(),
        )
        .unwrap();
    request.headers.remove("authorization");
    let decision = authorizer::handler(&authenticator, &request).await;
    assert!(!decision.is_authorized);
    assert!(
        emf_lines()
            .iter()
            .map(|l| emf(l))
            .any(|v| v["AuthorizerDenials"] == 1.0 && v["Reason"] == "MissingToken")
    );
}

/// An error carries API Gateway's request id, so a store can quote it; the log lines of
/// that request carry it too, beside the handler's own.
#[tokio::test]
async fn errors_carry_the_request_id_and_so_do_the_requests_log_lines() {
    let app = app().await;
    let store = fresh_store();
    let gateway_id = format!("apigw-{}", ulid::Ulid::new());
    let request = event("get-request")
        .store(&store)
        .principal("associate-1", "associate", &[&store])
        .request_id(&shared::domain::ids::RequestId::generate().to_string())
        .gateway_request_id(&gateway_id)
        .build_event();
    // Through the local gateway's dispatch: the Lambda runtime's span and API Gateway's.
    let route = shared::edge::routes::Operation::GetRequest.route();
    let response = local_gateway::dispatch(&app, route, request).await;
    integration_tests::hold_to_document(route, &response);
    let (status, body) = integration_tests::parts(response);
    assert_eq!(status, 404);
    assert_eq!(body["error"]["requestId"], gateway_id.as_str());
    let lines: Vec<Value> = integration_tests::log_lines()
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &Value| line.to_string().contains(&gateway_id))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["fields"]["message"] == "request rejected"),
        "{lines:?}"
    );
    // As on Lambda, the runtime's span names the invocation and its trace: one of each for
    // every line of the request.
    let span_field = |line: &Value, name: &str| -> Vec<String> {
        line["spans"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|span| span[name].as_str().map(str::to_owned))
            .collect()
    };
    let invocations: std::collections::BTreeSet<Vec<String>> = lines
        .iter()
        .map(|line| span_field(line, "requestId"))
        .collect();
    assert_eq!(invocations.len(), 1, "{lines:?}");
    let invocation = invocations.into_iter().next().unwrap();
    assert!(
        invocation.len() == 1 && invocation[0].len() == 36,
        "{invocation:?}"
    );
    for line in &lines {
        let trace = span_field(line, "xrayTraceId");
        assert!(
            trace.len() == 1 && trace[0].starts_with("Root=1-"),
            "{line}"
        );
    }
}

/// A sampled X-Ray trace header with a root of its own, as Lambda passes it.
fn sampled_trace(sampled: bool) -> (String, String) {
    let root = format!(
        "1-{:08x}-{:024x}",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        ulid::Ulid::new().0 & ((1 << 96) - 1)
    );
    let header = format!(
        "Root={root};Parent=53995c3f42cd8ad8;Sampled={}",
        u8::from(sampled)
    );
    (root, header)
}

/// The subsegments the X-Ray daemon at `daemon` received, each checked against the daemon's
/// wire format (a JSON header line, then the document).
fn subsegments(daemon: &std::net::UdpSocket, count: usize) -> Vec<Value> {
    let mut buffer = [0u8; 64 * 1024];
    (0..count)
        .map(|_| {
            let (length, _) = daemon.recv_from(&mut buffer).expect("a subsegment arrives");
            let text = std::str::from_utf8(&buffer[..length]).unwrap();
            let (header, document) = text.split_once('\n').expect("header line");
            assert_eq!(
                serde_json::from_str::<Value>(header).unwrap(),
                json!({"format": "json", "version": 1})
            );
            let document: Value = serde_json::from_str(document).unwrap();
            assert_eq!(document["type"], "subsegment", "{document}");
            assert!(
                document["id"]
                    .as_str()
                    .is_some_and(|id| id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit())),
                "{document}"
            );
            let (start, end) = (
                document["start_time"].as_f64().unwrap(),
                document["end_time"].as_f64().unwrap(),
            );
            assert!(start > 1.7e9 && end >= start, "{document}");
            document
        })
        .collect()
}

/// GET of the request `created` in the trace `header`: its status.
async fn traced_get(
    app: &shared::App,
    tracer: &shared::telemetry::Tracer,
    header: &str,
    store: &str,
    created: &Value,
) -> u16 {
    let request = event("get-request")
        .store(store)
        .principal("associate-1", "associate", &[store])
        .request_id(created["requestId"].as_str().unwrap())
        .build();
    tracer
        .scope(
            "get-request",
            Some(header),
            call_function(app, "get-request", request),
        )
        .await
        .0
}

fn daemon() -> (std::net::UdpSocket, shared::telemetry::Tracer) {
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let tracer = shared::telemetry::Tracer::to(daemon.local_addr().unwrap());
    (daemon, tracer)
}

#[tokio::test]
async fn a_sampled_invocation_sends_a_subsegment_for_each_dynamodb_call_and_an_unsampled_one_none()
{
    let app = app().await;
    let store = fresh_store();
    let (daemon, tracer) = daemon();
    let body = json!({"requestType": "VOID", "priority": "LOW", "details": "traced"});

    let (_, unsampled) = sampled_trace(false);
    let (status, _) = tracer
        .scope(
            "create-request",
            Some(&unsampled),
            create_request(&app, &store, body.clone()),
        )
        .await;
    assert_eq!(status, 201);

    let (root, sampled) = sampled_trace(true);
    let (status, created) = tracer
        .scope(
            "create-request",
            Some(&sampled),
            create_request(&app, &store, body),
        )
        .await;
    assert_eq!(status, 201);
    let status = traced_get(&app, &tracer, &sampled, &store, &created).await;
    assert_eq!(status, 200);

    // The unsampled create sent nothing: the first documents are the sampled invocations',
    // in order: each DynamoDB call as it ends (a create is one transaction, a read one
    // GetItem), then its handler, the function's segment its parent and the calls' parent.
    let received = subsegments(&daemon, 4);
    for (call, handler, operation, name) in [
        (
            &received[0],
            &received[1],
            "TransactWriteItems",
            "create-request",
        ),
        (&received[2], &received[3], "GetItem", "get-request"),
    ] {
        assert_eq!(handler["name"], name, "{handler}");
        assert_eq!(handler["trace_id"], root.as_str(), "{handler}");
        assert_eq!(handler["parent_id"], "53995c3f42cd8ad8", "{handler}");
        assert_eq!(call["name"], "DynamoDB", "{call}");
        assert_eq!(call["namespace"], "aws", "{call}");
        assert_eq!(call["trace_id"], root.as_str(), "{call}");
        assert_eq!(call["parent_id"], handler["id"], "{call}");
        assert_eq!(call["aws"]["operation"], operation, "{call}");
        assert_eq!(call["http"]["response"]["status"], 200, "{call}");
        assert_eq!(call["aws"]["retries"], 0, "{call}");
        assert!(call.get("fault").is_none() && call.get("error").is_none());
        assert!(
            handler["start_time"].as_f64() <= call["start_time"].as_f64()
                && call["end_time"].as_f64() <= handler["end_time"].as_f64(),
            "the call is within its handler: {call} {handler}"
        );
    }
    assert_eq!(
        received[2]["aws"]["table_name"],
        integration_tests::SHARED_TABLE
    );
}

#[tokio::test]
async fn a_throttled_call_that_succeeds_on_retry_is_counted_and_traced_with_its_retry() {
    let (app, _, faults) = integration_tests::app_with_faults().await;
    let store = fresh_store();
    let (daemon, tracer) = daemon();
    let (root, sampled) = sampled_trace(true);
    let (status, created) = create_request(
        &app,
        &store,
        json!({"requestType": "VOID", "priority": "LOW", "details": "throttled"}),
    )
    .await;
    assert_eq!(status, 201);

    faults.fail(
        "GetItem",
        integration_tests::faults::Fault::Throttling,
        Some(1),
    );
    let status = traced_get(&app, &tracer, &sampled, &store, &created).await;
    assert_eq!(status, 200, "the SDK's retry succeeded");

    let lines: Vec<Value> = emf_lines()
        .iter()
        .map(|line| emf(line))
        .filter(|v| v["traceId"] == root.as_str())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["Service"], "dynamodb");
    assert_eq!(lines[0]["Operation"], "GetItem");
    assert_eq!(lines[0]["DynamoDbRetries"], 1.0);
    assert_eq!(lines[0]["DynamoDbThrottles"], 1.0);

    let received = subsegments(&daemon, 1);
    assert_eq!(received[0]["trace_id"], root.as_str());
    assert_eq!(received[0]["aws"]["retries"], 1);
    assert_eq!(received[0]["http"]["response"]["status"], 200);
}
