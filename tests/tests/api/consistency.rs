//! The routes of `template.yaml`, `shared::edge::routes::ROUTES` (which the local gateway serves)
//! and the `events/` fixtures agree: nothing is missing from any of them.

use std::collections::BTreeSet;

use integration_tests::{app, event, parts};
use shared::edge::routes::ROUTES;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A function resource's name in kebab case without `Function` (`CreateRequestFunction`:
/// `create-request`): its crate, binary and fixture name.
fn function_name(resource: &str) -> String {
    resource
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
        })
}

/// (function, binary, method, path) for each function resource of the template (see
/// [`function_name`]); method and path are empty for functions without an HTTP route.
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
            functions.insert((
                function_name(&name),
                binary,
                value("Method:").unwrap_or_default(),
                value("Path:").unwrap_or_default(),
            ));
        }
    }
    functions
}

/// Every route is a function of the template with its route, deploying its own binary.
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
                r.function.to_owned(),
                r.method.to_owned(),
                r.path.to_owned(),
            )
        })
        .collect();
    assert_eq!(in_template, served);
}

/// Every function crate is a function of the template, has its fixture, and is deployed as
/// its own crate's binary: `BuildProperties.Binary` names the crate's one `[[bin]]`, built
/// from its thin `main.rs`, so `sam deploy` and `cargo lambda deploy <name>` ship the same.
#[test]
fn every_function_crate_is_in_the_template_and_has_a_fixture() {
    let crates: BTreeSet<String> = std::fs::read_dir(format!("{ROOT}/functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let functions = template_functions();
    let names: BTreeSet<String> = functions.iter().map(|(f, ..)| f.clone()).collect();
    assert_eq!(crates, names);
    for (function, binary, ..) in &functions {
        assert_eq!(
            function, binary,
            "{function} deploys its own crate's binary"
        );
        let manifest =
            std::fs::read_to_string(format!("{ROOT}/functions/{function}/Cargo.toml")).unwrap();
        let bins: Vec<&str> = manifest
            .split("[[bin]]")
            .skip(1)
            .filter_map(|section| {
                section
                    .lines()
                    .find_map(|line| line.strip_prefix("name = "))
                    .map(|name| name.trim_matches('"'))
            })
            .collect();
        assert_eq!(
            bins,
            [function.as_str()],
            "functions/{function}: one binary, its name"
        );
        assert!(
            manifest.contains("path = \"src/main.rs\""),
            "functions/{function} builds from its main.rs"
        );
    }
    for name in &crates {
        assert!(
            std::path::Path::new(&format!("{ROOT}/events/{name}.json")).exists(),
            "events/{name}.json is missing"
        );
    }
}

/// Every route's fixture names its route, and the one-process router (local gateway, the
/// long-running service) reaches its handler (which, without a principal, answers 403).
#[tokio::test]
async fn the_router_serves_every_route_its_fixture_names() {
    let app = app().await;
    for route in ROUTES {
        let fixture = || event(route.function).authorizer_context(Default::default());
        assert_eq!(
            shared::edge::lambda::route_of(&fixture().build_event()),
            Some(route),
            "the fixture's routeKey names {}",
            route.key()
        );
        let request = fixture().build();
        assert_eq!(request.route(), route);
        assert_eq!(
            parts(api_router::handle(&app, request).await).0,
            403,
            "{}",
            route.key()
        );
    }
}

/// A function's binary invoked for another route (a template mistake) answers a JSON 500
/// naming the request, rather than some other route's answer.
#[tokio::test]
async fn a_function_invoked_for_another_route_refuses_it() {
    let event = event("get-item")
        .authorizer_context(Default::default())
        .gateway_request_id("misrouted-1")
        .build_event();
    let refusal = shared::edge::lambda::api_request(
        shared::edge::routes::Operation::GetRequest.route(),
        event,
    )
    .expect_err("another route's event");
    let (status, body) = parts(*refusal);
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "internal_error", "{body}");
    assert_eq!(body["error"]["requestId"], "misrouted-1");
}

#[test]
fn every_route_fixture_names_its_route() {
    for route in ROUTES {
        let request = event(route.function).build_event();
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
            .build_event();
        let response = local_gateway::dispatch(&app, route, request).await;
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
/// Every Rust source under `dirs` (relative to the repository), concatenated.
fn rust_sources(dirs: &[&str]) -> String {
    let mut sources = String::new();
    for dir in dirs {
        let mut stack = vec![std::path::PathBuf::from(format!("{ROOT}/{dir}"))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    sources
}

#[test]
fn every_error_code_in_the_sources_is_documented() {
    use shared::edge::error::ApiError;
    let sources = rust_sources(&["shared/src", "functions", "router/src"]);
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
            "{code} is written in the sources but no route's failures (shared::edge::routes) answer with it"
        );
    }
    for code in &answered {
        assert!(ApiError::meaning(code).is_some(), "{code}");
    }
}

/// The request headers the document gives an operation are those its failures read.
#[test]
fn the_documents_headers_follow_the_routes_failures() {
    use shared::edge::error::Failure;
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
/// table allows more than appending (PutItem, conditioned in code) and reading (Query,
/// BatchGetItem).
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
                matches!(action, "PutItem" | "Query" | "BatchGetItem"),
                "dynamodb:{action} on the audit trail in {statement:?}"
            );
        }
    }
    // create, update, respond, delete, the sweeper append; two routes read, and the report
    // reads by time and by key.
    assert_eq!(statements_on_events, 9);
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

    // A deployment allows no other origin unless told: `ConsoleOrigins` defaults to empty,
    // and then the API has no CORS configuration at all (not an empty or `*` one). The local
    // gateway's own default is its (documented) choice: local/src/cors.rs.
    let console_origins = template_parameter(&template, "ConsoleOrigins");
    assert!(
        console_origins.contains(&"Default: \"\"".to_owned()),
        "{console_origins:?}"
    );
    let configuration: Vec<&str> = cors.lines().take(8).map(str::trim).collect();
    assert_eq!(configuration[0], "!If", "{configuration:?}");
    assert_eq!(configuration[1], "- HasConsoleOrigins");
    assert_eq!(configuration[2], "- AllowOrigins: !Ref ConsoleOrigins");
    assert_eq!(configuration[7], "- !Ref AWS::NoValue");
    assert!(
        template.contains(
            "HasConsoleOrigins: !Not [!Equals [!Join [\"\", !Ref ConsoleOrigins], \"\"]]"
        )
    );
}

/// A parameter's lines, trimmed.
fn template_parameter(template: &str, name: &str) -> Vec<String> {
    let parameters = template
        .split("\nParameters:\n")
        .nth(1)
        .expect("Parameters")
        .split("\n\n")
        .next()
        .unwrap();
    let mut lines = parameters
        .lines()
        .skip_while(|line| *line != format!("  {name}:"))
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .map(|line| line.trim().to_owned())
        .peekable();
    assert!(lines.peek().is_some(), "no parameter {name}");
    lines.collect()
}

/// The cursor key is no deploy-time parameter and no plaintext variable: the stack has
/// Secrets Manager generate it, and only the functions of the routes that take a `cursor`
/// get its ARN and may read it (their policy names the one secret, nothing more).
#[test]
fn only_the_paginated_routes_read_the_cursor_key() {
    let template = std::fs::read_to_string(format!("{ROOT}/template.yaml")).unwrap();
    assert!(
        !template.contains("\n  CursorSecret:\n    Type: String"),
        "the cursor key is not a parameter"
    );
    let paginated: BTreeSet<String> = ROUTES
        .iter()
        .filter(|route| route.query.contains(&"cursor"))
        .map(|route| route.function.to_owned())
        .collect();
    assert_eq!(paginated.len(), 5, "{paginated:?}");
    let resources = template_resources();
    let mut readers = BTreeSet::new();
    for (name, body) in &resources {
        if !body.iter().any(|l| l == "Type: AWS::Serverless::Function") {
            continue;
        }
        assert!(
            !body.iter().any(|l| l.starts_with("CURSOR_SECRET:")),
            "{name} has the cursor key in plaintext"
        );
        let has_arn = body.contains(&"CURSOR_SECRET_ARN: !Ref CursorSecret".to_owned());
        let may_read = body.contains(&"- !Ref CursorSecretReadPolicy".to_owned());
        assert_eq!(has_arn, may_read, "{name}");
        if has_arn {
            readers.insert(function_name(name));
        }
    }
    assert_eq!(readers, paginated);

    let resource = |wanted: &str| -> &Vec<String> {
        &resources
            .iter()
            .find(|(name, _)| name == wanted)
            .unwrap_or_else(|| panic!("no {wanted}"))
            .1
    };
    let secret = resource("CursorSecret");
    assert!(secret.contains(&"Type: AWS::SecretsManager::Secret".to_owned()));
    assert!(secret.contains(&"GenerateSecretString:".to_owned()));
    assert!(!secret.iter().any(|l| l.starts_with("SecretString:")));
    let policy = resource("CursorSecretReadPolicy");
    let actions: Vec<&String> = policy
        .iter()
        .filter(|l| l.starts_with("Action:") || l.starts_with("- secretsmanager:"))
        .collect();
    assert_eq!(
        actions,
        [
            "Action: secretsmanager:GetSecretValue",
            "Action: kms:Decrypt"
        ],
        "{policy:?}"
    );
    assert!(policy.contains(&"Resource: !Ref CursorSecret".to_owned()));
    // Nothing else in the template may touch a secret.
    let elsewhere: Vec<&String> = resources
        .iter()
        .filter(|(name, _)| name != "CursorSecretReadPolicy")
        .flat_map(|(_, body)| body)
        .filter(|l| l.contains("secretsmanager:"))
        .collect();
    assert!(elsewhere.is_empty(), "{elsewhere:?}");
}

/// Every function can be capped by its kind's reserved-concurrency parameter, which
/// defaults to no cap (-1).
#[test]
fn every_function_has_a_concurrency_cap_of_its_kind() {
    let template = std::fs::read_to_string(format!("{ROOT}/template.yaml")).unwrap();
    let routed: BTreeSet<String> = ROUTES.iter().map(|r| r.function.to_owned()).collect();
    for (name, body) in template_resources() {
        if !body.iter().any(|l| l == "Type: AWS::Serverless::Function") {
            continue;
        }
        let cap = body
            .iter()
            .find_map(|l| l.strip_prefix("ReservedConcurrentExecutions: !If ["))
            .unwrap_or_else(|| panic!("{name} has no concurrency cap"));
        let parameter = cap
            .split(", ")
            .nth(1)
            .and_then(|p| p.strip_prefix("!Ref "))
            .unwrap_or_else(|| panic!("{name}: {cap}"));
        if routed.contains(&function_name(&name)) {
            assert_eq!(parameter, "ApiFunctionReservedConcurrency", "{name}");
        }
        let lines = template_parameter(&template, parameter);
        assert!(lines.contains(&"Default: -1".to_owned()), "{parameter}");
        let condition = cap.split(',').next().unwrap();
        assert!(
            template.contains(&format!(
                "  {condition}: !Not [!Equals [!Ref {parameter}, \"-1\"]]"
            )),
            "{name}: {condition}"
        );
    }
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
    resources_of("template.yaml")
}

/// A CloudFormation template's resources (a path from the repository's root) as (name, body
/// lines trimmed).
fn resources_of(file: &str) -> Vec<(String, Vec<String>)> {
    let template = std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap();
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
    let sources = rust_sources(&["shared/src", "functions"]);
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

/// What an IAM policy allows, as (resource, action) pairs: the resource by the template
/// resource it names (a table, the cursor key, the KMS key parameter) and the index path
/// after it (`/index/byTime`), whether the template names it (`!GetAtt
/// SupervisorRequestsTable.Arn`) or imports its export (`${StoreStackName}-SupervisorRequestsTableArn`).
type Grants = BTreeSet<(String, String)>;

/// The grants of the `- Sid:` statements in a resource's body lines (up to its `Events:`, for
/// a function), and of `CursorSecretReadPolicy` when the body attaches it.
fn grants(body: &[String]) -> Grants {
    const NAMED: [&str; 6] = [
        "SupervisorRequestsTable",
        "SupervisorRequestEventsTable",
        "PreferredItemsTable",
        "WebSocketConnectionsTable",
        "CursorSecret",
        "KmsKeyArn",
    ];
    let body: Vec<&String> = body.iter().take_while(|l| *l != "Events:").collect();
    let mut grants = Grants::new();
    if body.iter().any(|l| *l == "- !Ref CursorSecretReadPolicy") {
        let policy = template_resources()
            .into_iter()
            .find(|(name, _)| name == "CursorSecretReadPolicy")
            .unwrap()
            .1;
        grants.extend(self::grants(&policy));
    }
    let text: Vec<&str> = body.iter().map(|l| l.as_str()).collect();
    for statement in text.split(|l| l.starts_with("- Sid:")).skip(1) {
        let actions: Vec<&str> = statement
            .iter()
            .map(|l| l.trim_start_matches("- ").trim_start_matches("Action: "))
            .filter(|l| {
                l.split_once(':').is_some_and(|(service, action)| {
                    !service.is_empty()
                        && service.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                        && !action.is_empty()
                        && action.chars().all(|c| c.is_ascii_alphanumeric())
                })
            })
            .collect();
        let resources: Vec<String> = statement
            .iter()
            .skip_while(|l| !l.starts_with("Resource:"))
            .take_while(|l| l.starts_with("Resource:") || l.starts_with("- "))
            .filter_map(|l| {
                let named = NAMED
                    .iter()
                    .filter(|n| l.contains(*n))
                    .max_by_key(|n| n.len())?;
                let index = l
                    .split_once("/index/")
                    .map(|(_, rest)| {
                        let name: String =
                            rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                        format!("/index/{name}")
                    })
                    .unwrap_or_default();
                Some(format!("{named}{index}"))
            })
            .collect();
        assert!(
            !actions.is_empty() && !resources.is_empty(),
            "a statement whose actions or resources were not read: {statement:?}"
        );
        for resource in &resources {
            for action in &actions {
                grants.insert((resource.clone(), (*action).to_owned()));
            }
        }
    }
    grants
}

/// The grants of every function of the template whose name `wanted` accepts.
fn functions_grants(wanted: impl Fn(&str) -> bool) -> Grants {
    let mut union = Grants::new();
    let mut functions = 0;
    for (name, body) in template_resources() {
        if body.iter().any(|l| l == "Type: AWS::Serverless::Function")
            && wanted(&function_name(&name))
        {
            functions += 1;
            union.extend(grants(&body));
        }
    }
    assert!(functions > 0);
    union
}

/// The container deployments' roles are exactly as narrow as the functions they replace:
/// the server's is the union of the HTTP route functions' statements (and, with them, the
/// cursor key), the sweeper's the sweeper function's, on the same tables and indexes; so
/// neither may do what no function may (the audit trail: PutItem and reads only), and a
/// change of a function's policy fails here until the containers follow.
#[test]
fn the_container_roles_are_the_functions_policies() {
    let routed: BTreeSet<&str> = ROUTES.iter().map(|r| r.function).collect();
    let server = functions_grants(|f| routed.contains(f));
    let sweeper = functions_grants(|f| f == "timeout-sweeper");
    assert!(server.contains(&(
        "CursorSecret".into(),
        "secretsmanager:GetSecretValue".into()
    )));
    assert!(server.contains(&(
        "SupervisorRequestEventsTable/index/byTime".into(),
        "dynamodb:Query".into()
    )));
    for (resource, action) in server.iter().chain(&sweeper) {
        if resource.starts_with("SupervisorRequestEventsTable") {
            assert!(
                matches!(
                    action.as_str(),
                    "dynamodb:PutItem" | "dynamodb:Query" | "dynamodb:BatchGetItem"
                ),
                "{action} on the audit trail"
            );
        }
        assert!(
            !resource.starts_with("WebSocketConnectionsTable"),
            "{resource}"
        );
    }
    for (file, server_role, sweeper_role) in [
        (
            "deploy/ecs/service.yaml",
            "ServiceTaskRole",
            "SweeperTaskRole",
        ),
        ("deploy/k8s/eks-iam.yaml", "ServerRole", "SweeperRole"),
    ] {
        let resources = resources_of(file);
        let role = |wanted: &str| {
            let body = &resources
                .iter()
                .find(|(name, _)| name == wanted)
                .unwrap_or_else(|| panic!("{file}: no {wanted}"))
                .1;
            // Every table and the key come from the SAM stack's exports, never a literal.
            let literal = body.iter().find(|l| l.contains("arn:aws:dynamodb"));
            assert!(
                literal.is_none(),
                "{file} {wanted}: a table named outside the stack's exports: {literal:?}"
            );
            grants(body)
        };
        assert_eq!(role(server_role), server, "{file}: {server_role}");
        assert_eq!(role(sweeper_role), sweeper, "{file}: {sweeper_role}");
    }
}

/// The containers are configured as the functions are: every variable `Globals` gives the
/// functions (tables, timeout, retention) and every identity setting ws-connect gets reach
/// the ECS task and the Kubernetes pods; the sweeper gets the tables but neither the cursor
/// key nor the identity settings, as the sweeper function.
#[test]
fn the_containers_get_the_functions_configuration() {
    let template = std::fs::read_to_string(format!("{ROOT}/template.yaml")).unwrap();
    let globals = template
        .split("\nGlobals:\n")
        .nth(1)
        .unwrap()
        .split("\nResources:\n")
        .next()
        .unwrap();
    let variables = |block: &str| -> BTreeSet<String> {
        block
            .lines()
            .skip_while(|l| l.trim() != "Variables:")
            .skip(1)
            .map_while(|l| {
                let (name, _) = l.trim().split_once(':')?;
                name.chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_')
                    .then(|| name.to_owned())
            })
            .collect()
    };
    let tables = variables(globals);
    assert!(
        tables.contains("EVENTS_TABLE") && tables.len() == 6,
        "{tables:?}"
    );
    let ws_connect = template.split("\n  WsConnectFunction:\n").nth(1).unwrap();
    let identity = variables(ws_connect);
    assert!(
        identity.contains("JWT_ISSUER") && identity.len() == 10,
        "{identity:?}"
    );

    let ecs = std::fs::read_to_string(format!("{ROOT}/deploy/ecs/service.yaml")).unwrap();
    let (server, sweeper) = ecs
        .split_once("\n  SweeperTaskDefinition:\n")
        .expect("the sweeper's task definition");
    let server = server.split_once("\n  ServerTaskDefinition:\n").unwrap().1;
    let names = |block: &str| -> BTreeSet<String> {
        block
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- Name: "))
            .filter(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .map(str::to_owned)
            .collect()
    };
    let k8s = |file: &str| -> BTreeSet<String> {
        std::fs::read_to_string(format!("{ROOT}/deploy/k8s/{file}"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(n, _)| n.to_owned()))
            .collect()
    };
    let (ecs_server, ecs_sweeper) = (names(server), names(sweeper));
    for (what, server, sweeper) in [
        ("ECS", ecs_server.clone(), ecs_sweeper.clone()),
        (
            "Kubernetes",
            &k8s("base/tables.env") | &k8s("base/server.env"),
            k8s("base/tables.env"),
        ),
        (
            "EKS overlay",
            &k8s("overlays/eks/tables.env") | &k8s("overlays/eks/server.env"),
            k8s("overlays/eks/tables.env"),
        ),
    ] {
        for name in tables
            .iter()
            .chain(&identity)
            .chain(["CURSOR_SECRET_ARN".to_owned()].iter())
        {
            assert!(server.contains(name), "{what}: the server has no {name}");
        }
        for name in &tables {
            assert!(sweeper.contains(name), "{what}: the sweeper has no {name}");
        }
        for name in &sweeper {
            assert!(
                !name.starts_with("JWT_") && !name.starts_with("CURSOR_SECRET"),
                "{what}: the sweeper gets {name}"
            );
        }
    }
}

/// Stopping never cuts a request: the platform waits longer than the server's own drain
/// (`SHUTDOWN_GRACE_SECONDS`) before killing it; both health checks are the readiness
/// endpoint; the sweeper ends before the next minute's run.
#[test]
fn the_platforms_wait_for_the_servers_drain() {
    let read = |file: &str| std::fs::read_to_string(format!("{ROOT}/deploy/{file}")).unwrap();
    let number = |text: &str, key: &str| -> u32 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key}"))
            .trim()
            .trim_matches('"')
            .parse()
            .unwrap()
    };
    let ecs = read("ecs/service.yaml");
    let grace: u32 = ecs
        .split("- Name: SHUTDOWN_GRACE_SECONDS")
        .nth(1)
        .map(|rest| number(rest, "Value:"))
        .unwrap();
    let server_env = read("k8s/base/server.env");
    assert_eq!(number(&server_env, "SHUTDOWN_GRACE_SECONDS="), grace);
    assert!(number(&ecs, "StopTimeout:") > grace);
    assert_eq!(
        ecs.matches("StopTimeout:").count(),
        ecs.matches("StopTimeout: 30").count()
    );
    assert!(ecs.contains("HealthCheckPath: /readyz"));
    assert!(ecs.contains("Enable: true\n          Rollback: true"));

    let deployment = read("k8s/base/deployment.yaml");
    let pre_stop = number(&deployment, "seconds:");
    assert!(number(&deployment, "terminationGracePeriodSeconds:") > pre_stop + grace);
    assert!(deployment.contains("path: /readyz") && deployment.contains("path: /healthz"));
    let ingress = read("k8s/overlays/eks/ingress.yaml");
    assert!(ingress.contains("healthcheck-path: /readyz"));
    let cronjob = read("k8s/base/cronjob.yaml");
    assert!(cronjob.contains("concurrencyPolicy: Forbid"));
    assert!(number(&cronjob, "activeDeadlineSeconds:") < 60);
}
