//! The routes of `template.yaml`, `shared::routes::ROUTES` (which the local gateway serves)
//! and the `events/` fixtures agree: nothing is missing from any of them.

use std::collections::BTreeSet;

use integration_tests::{app, event, parts};
use shared::routes::ROUTES;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// (function, binary, method, path) for each function resource of the template; the function
/// is the resource's name in kebab case without `Function` (`CreateRequestFunction`:
/// `create-request`); method and path are empty for functions without an HTTP route.
fn template_functions() -> BTreeSet<(String, String, String, String)> {
    let mut functions = BTreeSet::new();
    for (name, block) in template_resources() {
        let value = |key: &str| {
            block
                .iter()
                .find_map(|line| line.strip_prefix(key))
                .map(|v| v.trim().to_owned())
        };
        if let Some(binary) = value("Binary:") {
            let function = name
                .strip_suffix("Function")
                .expect("a function resource's name ends in Function")
                .chars()
                .enumerate()
                .fold(String::new(), |mut kebab, (i, c)| {
                    if c.is_ascii_uppercase() && i > 0 {
                        kebab.push('-');
                    }
                    kebab.push(c.to_ascii_lowercase());
                    kebab
                });
            functions.insert((
                function,
                binary,
                value("Method:").unwrap_or_default(),
                value("Path:").unwrap_or_default(),
            ));
        }
    }
    functions
}

/// Every route is a function of the template with its route, running its capability's binary.
#[test]
fn template_routes_are_exactly_the_served_routes() {
    let in_template: BTreeSet<(String, String, String, String)> = template_functions()
        .into_iter()
        .filter(|(_, _, method, _)| !method.is_empty())
        .collect();
    let served: BTreeSet<(String, String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.to_owned(),
                r.capability().binary().to_owned(),
                r.method.to_owned(),
                r.path.to_owned(),
            )
        })
        .collect();
    assert_eq!(in_template, served);
}

/// Every function crate is a function of the template, and has its fixture; the functions
/// without a route (authorizer, sweeper, stream and WebSocket handlers) run their own binary.
#[test]
fn every_function_crate_is_in_the_template_and_has_a_fixture() {
    let crates: BTreeSet<String> = std::fs::read_dir(format!("{ROOT}/functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let functions = template_functions();
    let names: BTreeSet<String> = functions.iter().map(|(f, ..)| f.clone()).collect();
    assert_eq!(crates, names);
    for (function, binary, method, _) in &functions {
        if method.is_empty() {
            assert_eq!(function, binary, "{function} runs a binary of its own");
        }
    }
    for name in &crates {
        assert!(
            std::path::Path::new(&format!("{ROOT}/events/{name}.json")).exists(),
            "events/{name}.json is missing"
        );
    }
}

/// A capability's binary given a route of the other capability (a template mistake) answers
/// a JSON 500 naming the request, rather than some other route's answer.
#[tokio::test]
async fn a_capability_binary_refuses_a_route_of_the_other() {
    let app = app().await;
    let request = event("get-item")
        .authorizer_context(Default::default())
        .gateway_request_id("misrouted-1")
        .build();
    let response = shared::lambda::serve_route(
        &app,
        shared::routes::Capability::SupervisorRequests,
        &http_api::supervisor_requests,
        request,
    )
    .await;
    let (status, body) = parts(response);
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "internal_error", "{body}");
    assert_eq!(body["error"]["requestId"], "misrouted-1");
}

/// Each capability's binary serves exactly its routes: every route's fixture reaches its
/// handler through the capability's dispatcher, and no other route does.
#[tokio::test]
async fn each_capability_binary_serves_exactly_its_routes() {
    let app = app().await;
    for route in ROUTES {
        let fixture = || {
            event(route.function)
                .authorizer_context(Default::default())
                .build()
        };
        assert_eq!(
            shared::lambda::route_of(&fixture()),
            Some(route),
            "the fixture's routeKey names {}",
            route.key()
        );
        for capability in shared::routes::Capability::ALL {
            let response = http_api::serve(capability, &app, route, fixture()).await;
            assert_eq!(
                response.is_some(),
                route.capability() == capability,
                "{} in {capability:?}",
                route.key()
            );
        }
    }
}

#[test]
fn every_route_fixture_names_its_route() {
    for route in ROUTES {
        let request = event(route.function).build();
        assert_eq!(
            request.method().as_str(),
            route.method,
            "{}",
            route.function
        );
        let text =
            std::fs::read_to_string(format!("{ROOT}/events/{}.json", route.function)).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(fixture["routeKey"], route.key(), "{}", route.function);
        assert!(
            route
                .match_path(fixture["rawPath"].as_str().unwrap())
                .is_some()
        );
    }
}

/// Every route has a handler in the local gateway (which, without authorizer context,
/// answers 403 before touching the store).
#[tokio::test]
async fn the_local_gateway_dispatches_every_route() {
    let app = app().await;
    for route in ROUTES {
        let request = event(route.function)
            .authorizer_context(Default::default())
            .build();
        let response = local_gateway::dispatch(&app, route, request)
            .await
            .unwrap_or_else(|| panic!("no handler for {}", route.key()));
        integration_tests::hold_to_document(route, &response);
        assert_eq!(parts(response).0, 403, "{}", route.key());
    }
}

#[test]
fn the_openapi_document_describes_every_route() {
    let document = integration_tests::schema::document();
    assert_eq!(document["openapi"], "3.1.0");
    for route in ROUTES {
        assert!(
            local_gateway::openapi::documents(route.function),
            "{}",
            route.function
        );
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        assert_eq!(operation["operationId"], route.function, "{}", route.key());
    }
    let documented: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "the document has no route the gateway does not serve"
    );
}

#[test]
fn the_schema_checker_rejects_what_the_document_does_not_allow() {
    use integration_tests::schema::{response_problems, response_schema, violations};
    let error = response_schema("GET", "/stores/{storeId}/master-items/{masterItemId}", 404)
        .unwrap()
        .unwrap();
    assert!(
        violations(
            &serde_json::json!({"error": {"code": "not_found", "message": "m"}}),
            error
        )
        .is_empty()
    );
    for bad in [
        serde_json::json!({"error": {"code": 404, "message": "m"}}),
        serde_json::json!({"error": {"message": "m"}}),
        serde_json::json!({"error": {"code": "x", "message": "m", "stack": "internal"}}),
        serde_json::json!("not found"),
    ] {
        assert!(!violations(&bad, error).is_empty(), "{bad}");
    }
    let weights = response_schema("GET", "/stores/{storeId}/scoring-weights", 200)
        .unwrap()
        .unwrap();
    let bad = serde_json::json!({"priceWeight": 101, "statusWeight": 0, "activeScore": 100, "outOfStockScore": 0});
    assert!(!violations(&bad, weights).is_empty());
    assert!(response_schema("GET", "/stores/{storeId}/scoring-weights", 418).is_err());
    // A route without a resource id has no 404; a code is listed only under its status and
    // only for the routes that can answer it.
    assert!(response_schema("GET", "/stores/{storeId}/master-items", 404).is_err());
    let code = |path: &str, method: &str, status: u16, code: &str| {
        let body = serde_json::json!({"error": {"code": code, "message": "m"}});
        violations(
            &body,
            response_schema(method, path, status).unwrap().unwrap(),
        )
        .is_empty()
    };
    let answer = "/stores/{storeId}/supervisor-requests/{requestId}/response";
    assert!(code(answer, "POST", 409, "request_timed_out"));
    assert!(code(answer, "POST", 403, "own_request"));
    assert!(!code(answer, "POST", 409, "request_is_history"));
    assert!(!code(answer, "POST", 409, "own_request"));
    let master = "/stores/{storeId}/master-items/{masterItemId}";
    assert!(!code(master, "GET", 403, "own_request"));
    // API Gateway's own body where it answers, and only there.
    let gateway = serde_json::json!({"message": "Request Entity Too Large"});
    let headers = lambda_http::http::HeaderMap::new();
    assert!(response_problems("GET", master, 413, &headers, &gateway).is_empty());
    assert!(!response_problems("GET", master, 404, &headers, &gateway).is_empty());
    // Headers: a declared required one missing, or one of ours undeclared, fails.
    let found = serde_json::json!({
        "storeId": "s", "masterItemId": "01KAQ3Z9V8M4N6P2R5T7W9Y1B3", "name": "n", "currency": "USD",
        "pin": null, "itemCount": 0, "version": 1,
        "createdAt": "2026-12-02T03:24:57.400Z", "updatedAt": "2026-12-02T03:24:57.400Z"
    });
    assert_eq!(
        response_problems("GET", master, 200, &headers, &found),
        ["missing header etag, declared required"]
    );
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("etag", "\"1\"".parse().unwrap());
    assert!(response_problems("GET", master, 200, &headers, &found).is_empty());
    headers.insert("retry-after", "1".parse().unwrap());
    assert!(!response_problems("GET", master, 200, &headers, &found).is_empty());
}

/// Every error code the sources write is one `ApiError::meaning` explains (the document's
/// descriptions), and every code explained is one some route's failures answer with: a new
/// code reaches the document, or this fails.
#[test]
fn every_error_code_in_the_sources_is_documented() {
    use shared::error::ApiError;
    let mut sources = String::new();
    for dir in ["shared/src", "functions", "http-api/src"] {
        let mut stack = vec![std::path::PathBuf::from(format!("{ROOT}/{dir}"))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    // Where a code is written: `code: "…"`, and the constructors that take one first.
    let mut written = BTreeSet::new();
    for marker in ["code: ", "bad_request(", "conflict("] {
        for (at, _) in sources.match_indices(marker) {
            let Some(rest) = sources[at + marker.len()..].trim_start().strip_prefix('"') else {
                continue;
            };
            let code: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            written.insert(code);
        }
    }
    assert!(written.len() >= 15, "the scan finds codes: {written:?}");
    let answered: BTreeSet<&str> = ROUTES
        .iter()
        .flat_map(|route| route.failures())
        .flat_map(|failure| failure.errors())
        .map(|error| error.code())
        .collect();
    for code in &written {
        assert!(
            ApiError::meaning(code).is_some(),
            "{code} is written in the sources but ApiError::meaning does not explain it"
        );
        assert!(
            answered.contains(code.as_str()),
            "{code} is written in the sources but no route's failures (shared::routes) answer with it"
        );
    }
    for code in &answered {
        assert!(ApiError::meaning(code).is_some(), "{code}");
    }
}

/// The request headers the document gives an operation are those its failures read.
#[test]
fn the_documents_headers_follow_the_routes_failures() {
    use shared::error::Failure;
    let document = integration_tests::schema::document();
    for route in ROUTES {
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        let headers: Vec<&str> = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let failures = route.failures();
        assert_eq!(
            headers.contains(&"If-Match"),
            failures.contains(&Failure::IfMatch),
            "{}",
            route.key()
        );
        assert_eq!(
            headers.contains(&"Idempotency-Key"),
            failures.contains(&Failure::Idempotency),
            "{}",
            route.key()
        );
        assert_eq!(
            operation["requestBody"].is_object(),
            failures.contains(&Failure::Body),
            "{}",
            route.key()
        );
    }
}

/// The audit trail is append-only by policy: no function's IAM statement on the events
/// table allows more than appending (PutItem, conditioned in code) and reading (Query).
#[test]
fn no_function_may_update_or_delete_an_audit_event() {
    let template = std::fs::read_to_string(format!("{ROOT}/template.yaml")).unwrap();
    let mut statements_on_events = 0;
    for statement in template.split("- Sid:").skip(1) {
        let statement: Vec<&str> = statement
            .lines()
            .take_while(|line| !line.trim_start().starts_with("Events:"))
            .collect();
        let on_events = statement.iter().any(|line| {
            line.contains("Resource:") && line.contains("SupervisorRequestEventsTable")
        });
        if !on_events {
            continue;
        }
        statements_on_events += 1;
        for action in statement
            .iter()
            .filter_map(|line| line.trim().strip_prefix("- dynamodb:"))
        {
            assert!(
                matches!(action, "PutItem" | "Query"),
                "dynamodb:{action} on the audit trail in {statement:?}"
            );
        }
    }
    // create, update, respond, delete, the sweeper append; two routes read.
    assert_eq!(statements_on_events, 7);
}

/// The local gateway's CORS lists are the template's `CorsConfiguration`.
#[test]
fn the_local_cors_rules_are_the_templates() {
    let template = std::fs::read_to_string(format!("{ROOT}/template.yaml")).unwrap();
    let cors = template
        .split("CorsConfiguration:")
        .nth(1)
        .expect("CorsConfiguration");
    let list = |key: &str| -> Vec<String> {
        let line = cors
            .lines()
            .find(|line| line.trim().starts_with(key))
            .unwrap_or_else(|| panic!("{key}"));
        line.split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(items, _)| items.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    };
    let ours = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        list("AllowHeaders:"),
        ours(local_gateway::cors::ALLOW_HEADERS)
    );
    assert_eq!(
        list("AllowMethods:"),
        ours(local_gateway::cors::ALLOW_METHODS)
    );
    assert_eq!(
        list("ExposeHeaders:"),
        ours(local_gateway::cors::EXPOSE_HEADERS)
    );
    assert!(cors.contains(&format!("MaxAge: {}", local_gateway::cors::MAX_AGE_SECONDS)));
}

/// Every body's example in the document is valid for its own schema, and every parameter
/// has an example.
#[test]
fn the_documents_examples_are_valid() {
    use integration_tests::schema::{document, violations};
    let document = document();
    for (name, example) in local_gateway::openapi::body_examples() {
        let schema = &document["components"]["schemas"][name];
        assert!(schema.is_object(), "{name}");
        let problems = violations(&example, schema);
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().unwrap() {
                assert!(
                    !parameter["example"].is_null(),
                    "{method} {path}: {} has no example",
                    parameter["name"]
                );
            }
        }
    }
}

/// The template's resources as (name, body lines trimmed).
fn template_resources() -> Vec<(String, Vec<String>)> {
    let template = std::fs::read_to_string(format!("{ROOT}/template.yaml")).unwrap();
    let resources = template.split("\nResources:\n").nth(1).expect("Resources");
    let resources = resources.split("\nOutputs:").next().unwrap();
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in resources.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.ends_with(':') {
            blocks.push((line.trim().trim_end_matches(':').to_owned(), Vec::new()));
        } else if let Some((_, body)) = blocks.last_mut() {
            body.push(line.trim().to_owned());
        }
    }
    blocks
}

/// Lambda's default log group keeps logs forever: every function logs to a group of its own
/// (`LoggingConfig.LogGroup`) that has the retention parameter.
#[test]
fn every_function_logs_to_a_group_with_a_retention() {
    let resources = template_resources();
    let functions: Vec<&(String, Vec<String>)> = resources
        .iter()
        .filter(|(_, body)| body.iter().any(|l| l == "Type: AWS::Serverless::Function"))
        .collect();
    assert!(functions.len() > 20, "{functions:?}");
    for (function, body) in functions {
        let group = format!("{function}Logs");
        assert!(
            body.contains(&format!("LogGroup: !Ref {group}")),
            "{function} does not log to {group}"
        );
        let retained = resources.iter().any(|(name, body)| {
            *name == group
                && body.iter().any(|l| l == "Type: AWS::Logs::LogGroup")
                && body
                    .iter()
                    .any(|l| l == "RetentionInDays: !Ref LogRetentionDays")
        });
        assert!(retained, "{group} is not a log group with a retention");
    }
}

/// An alarm on one of our own metrics names a metric some code emits, with a dimension
/// set it is emitted with (`Service` alone): else the alarm watches nothing.
#[test]
fn every_alarm_on_our_metrics_watches_an_emitted_metric() {
    let mut sources = String::new();
    for dir in ["shared/src", "functions"] {
        let mut stack = vec![std::path::PathBuf::from(format!("{ROOT}/{dir}"))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let alarms: Vec<_> = template_resources()
        .into_iter()
        .filter(|(_, body)| body.iter().any(|l| l == "Namespace: StoreServices"))
        .collect();
    assert!(alarms.len() >= 3, "{alarms:?}");
    for (name, body) in alarms {
        let metric = body
            .iter()
            .find_map(|l| l.strip_prefix("MetricName: "))
            .expect("a metric name");
        assert!(
            sources.contains(&format!(".metric(\"{metric}\"")),
            "{name}: no code emits {metric}"
        );
        let dimensions: Vec<&str> = body
            .iter()
            .filter_map(|l| l.strip_prefix("- Name: "))
            .collect();
        assert_eq!(dimensions, ["Service"], "{name}");
    }
}
