//! Bodies with several mistakes: one 422 names every field at fault, by its JSON path, in
//! words for people; a whole number written `137.0` is a whole number.

use integration_tests::{app, call_function, create_request, event, fresh_store};
use serde_json::{Value, json};

#[tokio::test]
async fn every_invalid_field_of_a_body_is_named_at_once() {
    let app = app().await;
    let store = fresh_store();
    let as_admin = |fixture: &str| {
        event(fixture)
            .store(&store)
            .principal("admin-1", "admin", &[&store])
    };
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "create-request",
            json!({"requestType": "REFUNDS", "priority": 3, "timeoutSeconds": -5, "colour": 1}),
            vec![
                "colour",
                "requestType",
                "priority",
                "details",
                "timeoutSeconds",
            ],
        ),
        // Rules of the values (blank text, a range) with the shape's, in the same answer.
        (
            "create-request",
            json!({"requestType": "VOID", "details": "   ", "timeoutSeconds": 10}),
            vec!["details", "timeoutSeconds"],
        ),
        (
            "update-request",
            json!({"priority": "SOON", "details": 12, "version": "1"}),
            vec!["priority", "details", "version"],
        ),
        (
            "respond-to-request",
            json!({"decision": "MAYBE", "note": false}),
            vec!["decision", "note"],
        ),
        (
            "create-master-item",
            json!({"name": null, "currency": "usd", "description": []}),
            vec!["name", "description", "currency"],
        ),
        (
            "update-master-item",
            json!({"name": 1, "version": 1.5}),
            vec!["name", "version"],
        ),
        (
            "create-item",
            json!({"vendor": 3, "price": {"amount": 1.29, "currency": "XXX", "tax": 0}, "status": "SOLD"}),
            vec![
                "vendor",
                "price.tax",
                "price.amount",
                "price.currency",
                "status",
            ],
        ),
        (
            "update-item",
            json!({"price": "1.29", "status": 2}),
            vec!["price", "status"],
        ),
        (
            "pin-preferred-item",
            json!({"item": "x"}),
            vec!["item", "itemId"],
        ),
        (
            "put-scoring-weights",
            json!({"priceWeight": "70", "statusWeight": -1, "activeScore": 100}),
            vec!["priceWeight", "statusWeight", "outOfStockScore"],
        ),
    ];
    for (function, body, fields) in cases {
        let (status, answer) = call_function(
            &app,
            function,
            as_admin(function)
                .without_header("idempotency-key")
                .header("if-match", "\"1\"")
                .json(body.clone())
                .build(),
        )
        .await;
        assert_eq!(status, 422, "{function} {body}: {answer}");
        let named: Vec<&str> = answer["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{function}: {answer}");
        // Words for people, not the parser's.
        let text = answer["error"].to_string();
        for jargon in ["expected", "u32", "u64", "struct", "invalid type"] {
            assert!(!text.contains(jargon), "{function}: {jargon} in {text}");
        }
    }
}

#[tokio::test]
async fn a_whole_number_with_a_zero_fraction_is_a_whole_number() {
    let app = app().await;
    let store = fresh_store();
    let (status, created) = create_request(
        &app,
        &store,
        json!({"requestType": "VOID", "details": "line 2", "timeoutSeconds": 900.0}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    // Timestamps always carry exactly three fractional digits: they compare as strings.
    for field in ["createdAt", "deadline", "updatedAt"] {
        let text = created[field].as_str().unwrap();
        let (_, fraction) = text.rsplit_once('.').unwrap();
        assert!(
            fraction.len() == 4
                && fraction.ends_with('Z')
                && fraction[..3].bytes().all(|b| b.is_ascii_digit()),
            "{field}: {text}"
        );
    }
}

/// A bad query parameter is named in `fields` too.
#[tokio::test]
async fn a_bad_query_parameter_is_named() {
    let app = app().await;
    let store = fresh_store();
    for (name, value) in [
        ("limit", "0"),
        ("priority", "SOON"),
        ("since", "yesterday"),
        ("status", "OPEN"),
    ] {
        let (status, body) = call_function(
            &app,
            "list-requests",
            event("list-requests")
                .store(&store)
                .principal("associate-1", "associate", &[&store])
                .query(&[(name, value)])
                .build(),
        )
        .await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], name, "{body}");
    }
}
