//! Preferred items against DynamoDB Local: master items, items, scoring weights, the
//! explained preferred item, and the pin's life cycle.

use integration_tests::{
    Event, app, call_function, catalog_items, event, fresh_store, handle, parts,
};
use serde_json::{Value, json};
use shared::App;

fn admin(fixture: &str, store: &str) -> Event {
    event(fixture)
        .store(store)
        .principal("admin-1", "admin", &[store])
}

fn reader(fixture: &str, store: &str) -> Event {
    event(fixture)
        .store(store)
        .principal("associate-1", "associate", &[store])
}

async fn call(app: &App, fixture: &str, request: Event) -> (u16, Value) {
    call_function(app, fixture, request.build()).await
}

async fn new_master(app: &App, store: &str, name: &str, currency: &str) -> String {
    let (status, body) = call(
        app,
        "create-master-item",
        admin("create-master-item", store).json(json!({"name": name, "currency": currency})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["masterItemId"].as_str().unwrap().to_owned()
}

async fn new_item(
    app: &App,
    store: &str,
    master: &str,
    vendor: &str,
    cents: u64,
    status: &str,
) -> String {
    let (code, body) = call(
        app,
        "create-item",
        admin("create-item", store)
            .path("masterItemId", master)
            .json(json!({
                "vendor": vendor, "price": {"amount": cents, "currency": "USD"}, "status": status
            })),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    body["itemId"].as_str().unwrap().to_owned()
}

async fn preferred(app: &App, store: &str, master: &str) -> (u16, Value) {
    call(
        app,
        "get-preferred-item",
        reader("get-preferred-item", store).path("masterItemId", master),
    )
    .await
}

async fn set_status(app: &App, store: &str, item: &str, status: &str) {
    let (_, current) = call(
        app,
        "get-item",
        reader("get-item", store).path("itemId", item),
    )
    .await;
    let (code, body) = call(
        app,
        "update-item",
        admin("update-item", store)
            .path("itemId", item)
            .header("if-match", &format!("\"{}\"", current["version"]))
            .json(json!({"status": status})),
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn master_items_are_created_read_listed_edited_and_deleted() {
    let app = app().await;
    let store = fresh_store();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(new_master(&app, &store, &format!("product {i}"), "USD").await);
    }
    let (status, one) = call(
        &app,
        "get-master-item",
        reader("get-master-item", &store).path("masterItemId", &ids[0]),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            one["name"].as_str(),
            one["currency"].as_str(),
            one["itemCount"].as_u64()
        ),
        (Some("product 0"), Some("USD"), Some(0))
    );

    // Pages of two, in creation order, each master exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut request = reader("list-master-items", &store);
        request = match &cursor {
            Some(c) => request.query(&[("limit", "2"), ("cursor", c)]),
            None => request.query(&[("limit", "2")]),
        };
        let (status, page) = call(&app, "list-master-items", request).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["masterItemId"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let (status, _) = call(
        &app,
        "list-master-items",
        reader("list-master-items", &store).query(&[("cursor", "forged")]),
    )
    .await;
    assert_eq!(status, 400);

    let edit = |version: &str, name: &str| {
        admin("update-master-item", &store)
            .path("masterItemId", &ids[0])
            .header("if-match", version)
            .json(json!({"name": name}))
    };
    let (status, edited) = call(&app, "update-master-item", edit("\"1\"", "renamed")).await;
    assert_eq!(
        (status, edited["name"].as_str(), edited["version"].as_u64()),
        (200, Some("renamed"), Some(2))
    );
    let before = catalog_items(&app, &store).await;
    let (status, body) = call(&app, "update-master-item", edit("\"1\"", "stale")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (412, Some("version_mismatch"))
    );
    assert_eq!(catalog_items(&app, &store).await, before);

    let (status, _) = call(
        &app,
        "delete-master-item",
        admin("delete-master-item", &store).path("masterItemId", &ids[0]),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &app,
        "get-master-item",
        reader("get-master-item", &store).path("masterItemId", &ids[0]),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn items_live_under_their_master_and_a_master_with_items_is_not_deleted() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "eggs, dozen", "USD").await;
    let first = new_item(&app, &store, &master, "Hen House", 399, "ACTIVE").await;
    let second = new_item(&app, &store, &master, "Farm Fresh", 349, "OUT_OF_STOCK").await;

    let (status, item) = call(
        &app,
        "get-item",
        reader("get-item", &store).path("itemId", &first),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(item["price"], json!({"amount": 399, "currency": "USD"}));
    assert_eq!(item["masterItemId"], master.as_str());
    let (status, list) = call(
        &app,
        "list-items",
        reader("list-items", &store).path("masterItemId", &master),
    )
    .await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["itemId"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![first.as_str(), second.as_str()]);
    let (status, page) = call(
        &app,
        "list-items",
        reader("list-items", &store)
            .path("masterItemId", &master)
            .query(&[("limit", "1")]),
    )
    .await;
    assert_eq!(status, 200);
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let (_, rest) = call(
        &app,
        "list-items",
        reader("list-items", &store)
            .path("masterItemId", &master)
            .query(&[("limit", "1"), ("cursor", &cursor)]),
    )
    .await;
    assert_eq!(rest["items"][0]["itemId"], second.as_str());

    // The master counts its items and refuses to be deleted while it has any.
    let (_, master_view) = call(
        &app,
        "get-master-item",
        reader("get-master-item", &store).path("masterItemId", &master),
    )
    .await;
    assert_eq!(master_view["itemCount"], 2);
    let before = catalog_items(&app, &store).await;
    let (status, body) = call(
        &app,
        "delete-master-item",
        admin("delete-master-item", &store).path("masterItemId", &master),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("master_item_has_items"))
    );
    assert_eq!(catalog_items(&app, &store).await, before);

    // Edit with optimistic concurrency; a stale version changes nothing.
    let update = |version: &str, cents: u64| {
        admin("update-item", &store)
            .path("itemId", &first)
            .header("if-match", version)
            .json(json!({"price": {"amount": cents, "currency": "USD"}}))
    };
    let update_of = |item: &str| {
        admin("update-item", &store)
            .path("itemId", item)
            .header("if-match", "\"1\"")
            .json(json!({"status": "INACTIVE"}))
    };
    let (status, edited) = call(&app, "update-item", update("\"1\"", 379)).await;
    assert_eq!((status, edited["version"].as_u64()), (200, Some(2)));
    let (_, listed_after) = call(
        &app,
        "list-items",
        reader("list-items", &store).path("masterItemId", &master),
    )
    .await;
    assert_eq!(
        listed_after["items"][0]["price"]["amount"], 379,
        "the candidate entry moved with the record"
    );
    let before = catalog_items(&app, &store).await;
    assert_eq!(call(&app, "update-item", update("\"1\"", 1)).await.0, 412);
    assert_eq!(catalog_items(&app, &store).await, before);
    let stale_delete = admin("delete-item", &store)
        .path("itemId", &first)
        .header("if-match", "\"1\"");
    assert_eq!(call(&app, "delete-item", stale_delete).await.0, 412);
    assert_eq!(catalog_items(&app, &store).await, before);
    // An item id names its master: one that names no stored item is 404 for every route.
    let unknown = shared::domain::ids::ItemId::generate(
        shared::domain::ids::MasterItemId::parse(&master).unwrap(),
    )
    .to_string();
    for (fixture, request) in [
        (
            "get-item",
            reader("get-item", &store).path("itemId", &unknown),
        ),
        ("update-item", update_of(&unknown)),
        (
            "delete-item",
            admin("delete-item", &store).path("itemId", &unknown),
        ),
    ] {
        assert_eq!(call(&app, fixture, request).await.0, 404, "{fixture}");
    }
    assert_eq!(catalog_items(&app, &store).await, before);

    for item in [&first, &second] {
        let (status, _) = call(
            &app,
            "delete-item",
            admin("delete-item", &store).path("itemId", item),
        )
        .await;
        assert_eq!(status, 204);
    }
    assert_eq!(
        call(
            &app,
            "get-item",
            reader("get-item", &store).path("itemId", &first)
        )
        .await
        .0,
        404
    );
    let (status, _) = call(
        &app,
        "delete-master-item",
        admin("delete-master-item", &store).path("masterItemId", &master),
    )
    .await;
    assert_eq!(status, 204);
    assert!(
        catalog_items(&app, &store).await.is_empty(),
        "nothing orphaned"
    );
    let (status, _) = call(
        &app,
        "list-items",
        reader("list-items", &store).path("masterItemId", &master),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn prices_in_another_currency_than_the_master_are_refused() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "coffee beans", "USD").await;
    let item = new_item(&app, &store, &master, "Roastery", 1299, "ACTIVE").await;
    let before = catalog_items(&app, &store).await;

    let (status, body) = call(
        &app,
        "create-item",
        admin("create-item", &store)
            .path("masterItemId", &master)
            .json(json!({
                "vendor": "Euro Beans", "price": {"amount": 1100, "currency": "EUR"}
            })),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "price.currency");
    let (status, _) = call(
        &app,
        "update-item",
        admin("update-item", &store)
            .path("itemId", &item)
            .header("if-match", "\"1\"")
            .json(json!({"price": {"amount": 1000, "currency": "EUR"}})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(catalog_items(&app, &store).await, before);
}

#[tokio::test]
async fn the_preferred_item_explains_its_score_and_follows_the_weights() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "butter 250 g", "USD").await;
    let dear_active = new_item(&app, &store, &master, "Creamery", 400, "ACTIVE").await;
    let cheap_out = new_item(&app, &store, &master, "Budget Dairy", 300, "OUT_OF_STOCK").await;
    let mid_active = new_item(&app, &store, &master, "Valley", 350, "ACTIVE").await;
    let gone = new_item(&app, &store, &master, "Old Farm", 100, "DISCONTINUED").await;

    let (status, body) = preferred(&app, &store, &master).await;
    assert_eq!(status, 200, "{body}");
    // Defaults: price 70, status 30; ACTIVE 100, OUT_OF_STOCK 25; the cheapest is 300.
    // Valley: 70 * 300/350 + 30 = 90; Creamery: 70 * 0.75 + 30 = 82.5;
    // Budget: 70 * 1 + 30 * 0.25 = 77.5. A little dearer and in stock beats out of stock.
    assert_eq!(body["selection"], "SCORED");
    assert_eq!(body["preferred"]["itemId"], mid_active.as_str());
    assert_eq!(body["preferred"]["score"], json!(90.0));
    assert_eq!(
        body["preferred"]["breakdown"],
        json!({"priceFactor": 85.71, "statusFactor": 100.0, "priceContribution": 60.0, "statusContribution": 30.0})
    );
    let order: Vec<&str> = body["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["itemId"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![
            mid_active.as_str(),
            dear_active.as_str(),
            cheap_out.as_str()
        ]
    );
    assert_eq!(body["candidates"][1]["score"], json!(82.5));
    assert_eq!(body["candidates"][2]["score"], json!(77.5));
    assert_eq!(body["ineligible"][0]["itemId"], gone.as_str());
    assert_eq!(
        body["ineligible"][0]["reason"],
        json!({"code": "STATUS_NOT_ELIGIBLE", "status": "DISCONTINUED"})
    );
    assert!(body["tieBreak"].as_str().unwrap().contains("itemId"));

    // A store that cares about stock more than price.
    let (status, weights) = call(
        &app,
        "get-scoring-weights",
        reader("get-scoring-weights", &store),
    )
    .await;
    assert_eq!((status, weights["priceWeight"].as_u64()), (200, Some(70)));
    let (status, _) = call(
        &app,
        "put-scoring-weights",
        admin("put-scoring-weights", &store).json(json!({"priceWeight": 20, "statusWeight": 80, "activeScore": 100, "outOfStockScore": 0})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = preferred(&app, &store, &master).await;
    assert_eq!(body["preferred"]["itemId"], mid_active.as_str());
    assert_eq!(body["weights"]["statusWeight"], 80);
}

#[tokio::test]
async fn a_master_without_an_eligible_candidate_answers_409() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "discontinued line", "USD").await;
    // No items at all: nothing to find.
    let (status, body) = preferred(&app, &store, &master).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    new_item(&app, &store, &master, "Gone Co", 500, "DISCONTINUED").await;
    new_item(&app, &store, &master, "Paused Co", 400, "INACTIVE").await;
    let (status, body) = preferred(&app, &store, &master).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("no_eligible_candidate"))
    );
    let missing = shared::domain::ids::MasterItemId::generate().to_string();
    assert_eq!(preferred(&app, &store, &missing).await.0, 404);
}

#[tokio::test]
async fn a_pin_wins_until_removed_or_its_item_becomes_ineligible() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "bread", "USD").await;
    let best = new_item(&app, &store, &master, "Cheap Loaf", 199, "ACTIVE").await;
    let favourite = new_item(&app, &store, &master, "Artisan", 499, "ACTIVE").await;
    let retired = new_item(&app, &store, &master, "Retired", 99, "DISCONTINUED").await;
    let pin = |item: &str| {
        admin("pin-preferred-item", &store)
            .path("masterItemId", &master)
            .json(json!({"itemId": item}))
    };

    let (status, pinned) = call(&app, "pin-preferred-item", pin(&favourite)).await;
    assert_eq!(
        (
            status,
            pinned["itemId"].as_str(),
            pinned["pinnedBy"].as_str()
        ),
        (200, Some(favourite.as_str()), Some("admin-1"))
    );
    let (_, body) = preferred(&app, &store, &master).await;
    assert_eq!(body["selection"], "PINNED");
    assert_eq!(body["preferred"]["itemId"], favourite.as_str());
    assert_eq!(body["pin"]["honoured"], true);
    assert_eq!(
        body["candidates"][0]["itemId"],
        best.as_str(),
        "candidates stay ranked by score"
    );

    // Ineligible items, and items of other masters, cannot be pinned.
    let (status, body) = call(&app, "pin-preferred-item", pin(&retired)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("item_not_eligible"))
    );
    let other_master = new_master(&app, &store, "other", "USD").await;
    let stranger = new_item(&app, &store, &other_master, "Elsewhere", 100, "ACTIVE").await;
    assert_eq!(
        call(&app, "pin-preferred-item", pin(&stranger)).await.0,
        422
    );
    let (_, body) = preferred(&app, &store, &master).await;
    assert_eq!(
        body["pin"]["itemId"],
        favourite.as_str(),
        "refused pins change nothing"
    );

    // The pinned item is discontinued: the score decides, and says why.
    set_status(&app, &store, &favourite, "DISCONTINUED").await;
    let (_, body) = preferred(&app, &store, &master).await;
    assert_eq!(body["selection"], "SCORED");
    assert_eq!(body["preferred"]["itemId"], best.as_str());
    assert_eq!(
        (
            body["pin"]["honoured"].as_bool(),
            body["pin"]["ignoredBecause"].as_str()
        ),
        (Some(false), Some("ITEM_NOT_ELIGIBLE"))
    );
    // Back in stock: the pin holds again.
    set_status(&app, &store, &favourite, "ACTIVE").await;
    assert_eq!(
        preferred(&app, &store, &master).await.1["selection"],
        "PINNED"
    );

    // Removed: the score decides.
    let unpin = || admin("unpin-preferred-item", &store).path("masterItemId", &master);
    assert_eq!(call(&app, "unpin-preferred-item", unpin()).await.0, 204);
    assert_eq!(
        call(&app, "unpin-preferred-item", unpin()).await.0,
        204,
        "idempotent"
    );
    let (_, body) = preferred(&app, &store, &master).await;
    assert_eq!(
        (body["selection"].as_str(), &body["pin"]),
        (Some("SCORED"), &Value::Null)
    );

    // A pinned item that is deleted stops counting.
    call(&app, "pin-preferred-item", pin(&favourite)).await;
    assert_eq!(
        call(
            &app,
            "delete-item",
            admin("delete-item", &store).path("itemId", &favourite)
        )
        .await
        .0,
        204
    );
    let (_, body) = preferred(&app, &store, &master).await;
    assert_eq!(
        (
            body["selection"].as_str(),
            body["pin"]["ignoredBecause"].as_str()
        ),
        (Some("SCORED"), Some("ITEM_DELETED"))
    );
}

#[tokio::test]
async fn bad_catalog_input_is_refused_and_changes_nothing() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "rice 1 kg", "USD").await;
    let before = catalog_items(&app, &store).await;
    let create_item = |body: &str| {
        admin("create-item", &store)
            .path("masterItemId", &master)
            .raw_body(body.to_owned())
    };
    let cases: Vec<(&str, Event, u16)> = vec![
        (
            "negative price",
            create_item(r#"{"vendor":"V","price":{"amount":-5,"currency":"USD"}}"#),
            422,
        ),
        (
            "fractional price",
            create_item(r#"{"vendor":"V","price":{"amount":1.5,"currency":"USD"}}"#),
            422,
        ),
        (
            "price as string",
            create_item(r#"{"vendor":"V","price":{"amount":"150","currency":"USD"}}"#),
            422,
        ),
        (
            "huge price",
            create_item(r#"{"vendor":"V","price":{"amount":10000000000000,"currency":"USD"}}"#),
            422,
        ),
        (
            "unknown status",
            create_item(
                r#"{"vendor":"V","price":{"amount":5,"currency":"USD"},"status":"SOLD_OUT"}"#,
            ),
            422,
        ),
        (
            "lower-case currency",
            create_item(r#"{"vendor":"V","price":{"amount":5,"currency":"usd"}}"#),
            422,
        ),
        (
            "unknown currency",
            create_item(r#"{"vendor":"V","price":{"amount":5,"currency":"XYZ"}}"#),
            422,
        ),
        (
            "blank vendor",
            create_item(r#"{"vendor":" ","price":{"amount":5,"currency":"USD"}}"#),
            422,
        ),
        ("missing price", create_item(r#"{"vendor":"V"}"#), 422),
        ("malformed", create_item(r#"{"vendor":"V","#), 400),
        (
            "bad master id",
            admin("create-item", &store)
                .path("masterItemId", "nope")
                .json(json!({"vendor":"V","price":{"amount":5,"currency":"USD"}})),
            400,
        ),
        (
            "unknown master",
            admin("create-item", &store)
                .path(
                    "masterItemId",
                    &shared::domain::ids::MasterItemId::generate().to_string(),
                )
                .json(json!({"vendor":"V","price":{"amount":5,"currency":"USD"}})),
            404,
        ),
        (
            "master: bad currency",
            admin("create-master-item", &store).json(json!({"name":"n","currency":"EURO"})),
            422,
        ),
        (
            "master: no name",
            admin("create-master-item", &store).json(json!({"currency":"USD"})),
            422,
        ),
        (
            "weights: both zero",
            admin("put-scoring-weights", &store).json(
                json!({"priceWeight":0,"statusWeight":0,"activeScore":100,"outOfStockScore":0}),
            ),
            422,
        ),
        (
            "weights: over 100",
            admin("put-scoring-weights", &store).json(
                json!({"priceWeight":101,"statusWeight":0,"activeScore":100,"outOfStockScore":0}),
            ),
            422,
        ),
        (
            "weights: out of stock above active",
            admin("put-scoring-weights", &store).json(
                json!({"priceWeight":50,"statusWeight":50,"activeScore":10,"outOfStockScore":20}),
            ),
            422,
        ),
        (
            "weights: missing field",
            admin("put-scoring-weights", &store).json(json!({"priceWeight":50,"statusWeight":50})),
            422,
        ),
        (
            "weights: negative",
            admin("put-scoring-weights", &store).json(
                json!({"priceWeight":-1,"statusWeight":50,"activeScore":100,"outOfStockScore":0}),
            ),
            422,
        ),
        (
            "associate writes",
            reader("create-master-item", &store).json(json!({"name":"n","currency":"USD"})),
            403,
        ),
        (
            "supervisor pins",
            event("pin-preferred-item")
                .store(&store)
                .principal("s", "supervisor", &[&store])
                .path("masterItemId", &master)
                .json(json!({"itemId": shared::domain::ids::ItemId::generate(shared::domain::ids::MasterItemId::generate()).to_string()})),
            403,
        ),
    ];
    for (why, request, expected) in cases {
        let fixture = if why.starts_with("master") || why == "associate writes" {
            "create-master-item"
        } else if why.starts_with("weights") {
            "put-scoring-weights"
        } else if why == "supervisor pins" {
            "pin-preferred-item"
        } else {
            "create-item"
        };
        let (status, body) = call(&app, fixture, request).await;
        assert_eq!(status, expected, "{why}: {body}");
        assert!(body["error"]["code"].is_string(), "{why}: {body}");
    }
    assert_eq!(catalog_items(&app, &store).await, before);
    let (_, weights) = call(
        &app,
        "get-scoring-weights",
        reader("get-scoring-weights", &store),
    )
    .await;
    assert_eq!(
        weights,
        json!({"priceWeight": 70, "statusWeight": 30, "activeScore": 100, "outOfStockScore": 25})
    );
}

/// Every preferred-items fixture in `events/` runs its own function's handler as it is.
#[tokio::test]
async fn each_catalog_fixture_runs_its_function() {
    let app = app().await;
    // The fixtures name store-1 and fixed ids: clear what an earlier run left, then seed them.
    let request = event("get-master-item").build();
    let master_id =
        shared::domain::ids::MasterItemId::parse(&request.path_parameters()["masterItemId"])
            .unwrap();
    let request = event("get-item").build();
    let item_id = shared::domain::ids::ItemId::parse(&request.path_parameters()["itemId"]).unwrap();
    for item in catalog_items(&app, "store-1").await {
        app.catalog
            .client()
            .delete_item()
            .table_name(app.catalog.table())
            .key("storeId", item["storeId"].clone())
            .key("sk", item["sk"].clone())
            .send()
            .await
            .unwrap();
    }
    let store = shared::domain::ids::StoreId::parse("store-1").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut master = shared::domain::catalog::NewMasterItemBody {
        name: "Whole milk 1 l".into(),
        description: None,
        currency: shared::domain::catalog::Currency::parse("USD").unwrap(),
    }
    .into_master_item(store.clone(), now)
    .unwrap();
    master.master_item_id = master_id;
    app.catalog.create_master(&master, None).await.unwrap();
    let mut item = shared::domain::catalog::NewItemBody {
        vendor: "Valley Dairy".into(),
        price: serde_json::from_value(json!({"amount": 129, "currency": "USD"})).unwrap(),
        status: None,
    }
    .into_item(store, master_id, now)
    .unwrap();
    item.item_id = item_id;
    app.catalog.create_item(&item, None).await.unwrap();

    for (fixture, expected) in [
        ("create-master-item", 201),
        ("list-master-items", 200),
        ("get-master-item", 200),
        ("update-master-item", 200),
        ("create-item", 201),
        ("list-items", 200),
        ("get-item", 200),
        ("update-item", 200),
        ("pin-preferred-item", 200),
        ("get-preferred-item", 200),
        ("unpin-preferred-item", 204),
        ("get-scoring-weights", 200),
        ("put-scoring-weights", 200),
    ] {
        let (status, body) = call(&app, fixture, event(fixture)).await;
        assert_eq!(status, expected, "{fixture}: {body}");
    }
    // delete-item removes the fixture's item; the master then still has the one created by
    // the create-item fixture, so delete-master-item is refused as it should be.
    assert_eq!(call(&app, "delete-item", event("delete-item")).await.0, 204);
    assert_eq!(
        call(&app, "delete-master-item", event("delete-master-item"))
            .await
            .0,
        409
    );
}

/// Creates of master items and items take an `Idempotency-Key` too: a retry answers the first
/// create (`Idempotent-Replayed: true`) and adds nothing; another body under the key is a 422.
#[tokio::test]
async fn catalogue_creates_are_idempotent_per_caller() {
    let app = app().await;
    let store = fresh_store();
    let master = || {
        admin("create-master-item", &store)
            .header("idempotency-key", "m-1")
            .json(json!({"name": "Rye bread", "currency": "EUR"}))
            .build()
    };
    let first = handle(&app, master()).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = parts(first);
    assert_eq!(status, 201);
    let again = handle(&app, master()).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(parts(again), (201, first.clone()));
    let master_id = first["masterItemId"].as_str().unwrap().to_owned();

    let item = |body: Value| {
        admin("create-item", &store)
            .path("masterItemId", &master_id)
            .header("idempotency-key", "i-1")
            .json(body)
            .build()
    };
    let body = json!({"vendor": "Corner Bakery", "price": {"amount": 320, "currency": "EUR"}});
    let (status, created) = parts(handle(&app, item(body.clone())).await);
    assert_eq!(status, 201);
    let (status, replayed) = parts(handle(&app, item(body)).await);
    assert_eq!((status, &replayed), (201, &created));
    // The same JSON spelt otherwise (key order, whitespace, 320.0 for 320) is the same create.
    let reserialised = admin("create-item", &store)
        .path("masterItemId", &master_id)
        .header("idempotency-key", "i-1")
        .raw_body(
            r#"{ "price": { "currency": "EUR", "amount": 320.0 }, "vendor": "Corner Bakery" }"#,
        )
        .build();
    let again = handle(&app, reserialised).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(parts(again), (201, created.clone()));
    // Master items and items share the catalogue's key space: the master item's key is
    // refused on an item create, not replayed as it.
    let (status, refused) = parts(
        handle(
            &app,
            admin("create-item", &store)
                .path("masterItemId", &master_id)
                .header("idempotency-key", "m-1")
                .json(
                    json!({"vendor": "Corner Bakery", "price": {"amount": 320, "currency": "EUR"}}),
                )
                .build(),
        )
        .await,
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["fields"][0]["field"], "Idempotency-Key");
    let (status, refused) = parts(
        handle(
            &app,
            item(json!({"vendor": "Other Bakery", "price": {"amount": 300, "currency": "EUR"}})),
        )
        .await,
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["fields"][0]["field"], "Idempotency-Key");

    // One master item, one item: the retries added nothing.
    let (_, masters) = call(
        &app,
        "list-master-items",
        reader("list-master-items", &store),
    )
    .await;
    assert_eq!(masters["items"].as_array().unwrap().len(), 1);
    assert_eq!(masters["items"][0]["itemCount"], 1);
}

#[tokio::test]
async fn items_filter_by_status_in_dynamodb() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "eggs 12", "USD").await;
    let active = new_item(&app, &store, &master, "Hen House", 399, "ACTIVE").await;
    new_item(&app, &store, &master, "Coop Co", 349, "OUT_OF_STOCK").await;
    let active_too = new_item(&app, &store, &master, "Barn", 419, "ACTIVE").await;
    let list = |status: &str| {
        call(
            &app,
            "list-items",
            reader("list-items", &store)
                .path("masterItemId", &master)
                .query(&[("status", status)]),
        )
    };
    let (status, body) = list("ACTIVE").await;
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["itemId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [active.as_str(), active_too.as_str()]);
    assert_eq!(list("DISCONTINUED").await.1["items"], json!([]));
    assert_eq!(list("GONE").await.0, 400);
    // An unknown master item is still a 404 with a filter.
    let (status, _) = call(
        &app,
        "list-items",
        reader("list-items", &store)
            .path(
                "masterItemId",
                &shared::domain::ids::MasterItemId::generate().to_string(),
            )
            .query(&[("status", "ACTIVE")]),
    )
    .await;
    assert_eq!(status, 404);
}

/// A master item's ETag versions its own fields (name, description): adding an item or
/// pinning one does not make an edit read a moment earlier stale.
#[tokio::test]
async fn items_and_pins_leave_the_master_items_etag_alone() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "oat milk 1 l", "USD").await;
    let item = new_item(&app, &store, &master, "Oat Co", 249, "ACTIVE").await;
    let (status, _) = call(
        &app,
        "pin-preferred-item",
        admin("pin-preferred-item", &store)
            .path("masterItemId", &master)
            .json(json!({"itemId": item})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, edited) = call(
        &app,
        "update-master-item",
        admin("update-master-item", &store)
            .path("masterItemId", &master)
            .header("if-match", "\"1\"")
            .json(json!({"name": "Oat milk 1 l"})),
    )
    .await;
    assert_eq!(
        (status, edited["version"].as_u64()),
        (200, Some(2)),
        "{edited}"
    );
    assert_eq!(edited["itemCount"], 1);
    assert_eq!(edited["pin"]["itemId"], item.as_str());
}

/// `If-Match: *` applies an edit to whatever version is current (RFC 9110), and still needs
/// the resource to exist.
#[tokio::test]
async fn if_match_star_edits_the_current_version() {
    let app = app().await;
    let store = fresh_store();
    let master = new_master(&app, &store, "flour 1 kg", "USD").await;
    let edit = |id: &str, name: &str| {
        admin("update-master-item", &store)
            .path("masterItemId", id)
            .header("if-match", "*")
            .json(json!({"name": name}))
    };
    for (n, name) in ["Flour 1 kg", "Flour, plain, 1 kg"].into_iter().enumerate() {
        let (status, edited) = call(&app, "update-master-item", edit(&master, name)).await;
        assert_eq!(
            (status, edited["version"].as_u64()),
            (200, Some(n as u64 + 2))
        );
    }
    let missing = shared::domain::ids::MasterItemId::generate().to_string();
    assert_eq!(
        call(&app, "update-master-item", edit(&missing, "x"))
            .await
            .0,
        404
    );
}

/// `PUT scoring-weights` takes `If-Match` like every other write: the GET's ETag (`"0"` for
/// the defaults) makes it conditional.
#[tokio::test]
async fn scoring_weights_are_replaced_under_if_match() {
    let app = app().await;
    let store = fresh_store();
    let put = |etag: &str, price: u32| {
        admin("put-scoring-weights", &store)
            .header("if-match", etag)
            .json(json!({"priceWeight": price, "statusWeight": 40, "activeScore": 100, "outOfStockScore": 10}))
            .build()
    };
    let read = handle(&app, reader("get-scoring-weights", &store).build()).await;
    assert_eq!(read.headers()["etag"], "\"0\"");
    let first = handle(&app, put("\"0\"", 60)).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"1\"");
    // Someone else's replacement read the defaults too: stale now.
    let (status, body) = parts(handle(&app, put("\"0\"", 50)).await);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (412, Some("version_mismatch"))
    );
    let (status, weights) = call(
        &app,
        "get-scoring-weights",
        reader("get-scoring-weights", &store),
    )
    .await;
    assert_eq!((status, weights["priceWeight"].as_u64()), (200, Some(60)));
    // Without If-Match the replacement is unconditional, as before.
    let (status, _) = parts(
        handle(
            &app,
            admin("put-scoring-weights", &store)
                .json(json!({"priceWeight": 55, "statusWeight": 45, "activeScore": 100, "outOfStockScore": 10}))
                .build(),
        )
        .await,
    );
    assert_eq!(status, 200);
}
