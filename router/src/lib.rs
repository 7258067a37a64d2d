//! Every HTTP route in one process: the handler of a route, for the callers that serve all of
//! them (the local gateway; the long-running service). In AWS each route's function deploys
//! its own crate's binary (`functions/<name>/src/main.rs`) and runs that handler alone; this
//! dispatch reaches the very same handler functions, so what runs locally is what runs there.

use lambda_http::{Body, Request, Response};
use shared::App;
use shared::routes::Route;

/// The response of `route`'s handler; `None` if no handler serves it.
pub async fn handle(app: &App, route: &Route, request: Request) -> Option<Response<Body>> {
    Some(match route.function {
        "create-request" => create_request::handler(app, request).await,
        "list-requests" => list_requests::handler(app, request).await,
        "get-request" => get_request::handler(app, request).await,
        "update-request" => update_request::handler(app, request).await,
        "delete-request" => delete_request::handler(app, request).await,
        "respond-to-request" => respond_to_request::handler(app, request).await,
        "list-request-events" => list_request_events::handler(app, request).await,
        "list-store-events" => list_store_events::handler(app, request).await,
        "create-master-item" => create_master_item::handler(app, request).await,
        "list-master-items" => list_master_items::handler(app, request).await,
        "get-master-item" => get_master_item::handler(app, request).await,
        "update-master-item" => update_master_item::handler(app, request).await,
        "delete-master-item" => delete_master_item::handler(app, request).await,
        "create-item" => create_item::handler(app, request).await,
        "list-items" => list_items::handler(app, request).await,
        "get-item" => get_item::handler(app, request).await,
        "update-item" => update_item::handler(app, request).await,
        "delete-item" => delete_item::handler(app, request).await,
        "get-preferred-item" => get_preferred_item::handler(app, request).await,
        "pin-preferred-item" => pin_preferred_item::handler(app, request).await,
        "unpin-preferred-item" => unpin_preferred_item::handler(app, request).await,
        "get-scoring-weights" => get_scoring_weights::handler(app, request).await,
        "put-scoring-weights" => put_scoring_weights::handler(app, request).await,
        _ => return None,
    })
}
