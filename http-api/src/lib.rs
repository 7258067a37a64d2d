//! The HTTP API as it is deployed: one binary per capability
//! ([`shared::routes::Capability`]: supervisor requests, the catalogue, preferred items),
//! which every route function of that capability runs.
//! Each function still has its own Lambda, IAM policy, log group and alarms; the binary
//! serves the route API Gateway invoked it for (the event's `routeKey`).
//!
//! Why not a binary per route: a release build runs fat LTO once per binary, about a minute
//! of one core each, so 23 route binaries made the full build 15+ minutes on two cores; three
//! binaries, each a few handlers larger, build in a fraction of it (BENCHMARKS.md, "Build
//! cost"). Each function crate keeps its thin `main.rs` for running one route alone
//! (`scripts/invoke`, `cargo lambda watch`).
//!
//! The local gateway dispatches through [`handle`] too: what runs locally is what runs in AWS.

use lambda_http::{Body, Request, Response};
use shared::App;
use shared::routes::{Capability, Route};

/// The response of `route`'s handler; `None` if no handler serves it.
pub async fn handle(app: &App, route: &Route, request: Request) -> Option<Response<Body>> {
    serve(route.capability(), app, route, request).await
}

/// The response of `route`'s handler in `capability`'s binary; `None` if that binary does not
/// serve the route.
pub async fn serve(
    capability: Capability,
    app: &App,
    route: &Route,
    request: Request,
) -> Option<Response<Body>> {
    match capability {
        Capability::SupervisorRequests => supervisor_requests(app, route, request).await,
        Capability::Catalog => catalog(app, route, request).await,
        Capability::PreferredItems => preferred_items(app, route, request).await,
    }
}

/// The supervisor-requests routes' handlers.
pub async fn supervisor_requests(
    app: &App,
    route: &Route,
    request: Request,
) -> Option<Response<Body>> {
    Some(match route.function {
        "create-request" => create_request::handler(app, request).await,
        "list-requests" => list_requests::handler(app, request).await,
        "get-request" => get_request::handler(app, request).await,
        "update-request" => update_request::handler(app, request).await,
        "delete-request" => delete_request::handler(app, request).await,
        "respond-to-request" => respond_to_request::handler(app, request).await,
        "list-request-events" => list_request_events::handler(app, request).await,
        "list-store-events" => list_store_events::handler(app, request).await,
        _ => return None,
    })
}

/// The catalogue's handlers: master items and their items.
pub async fn catalog(app: &App, route: &Route, request: Request) -> Option<Response<Body>> {
    Some(match route.function {
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
        _ => return None,
    })
}

/// The preferred items' handlers: the choice, its pin, the scoring weights.
pub async fn preferred_items(app: &App, route: &Route, request: Request) -> Option<Response<Body>> {
    Some(match route.function {
        "get-preferred-item" => get_preferred_item::handler(app, request).await,
        "pin-preferred-item" => pin_preferred_item::handler(app, request).await,
        "unpin-preferred-item" => unpin_preferred_item::handler(app, request).await,
        "get-scoring-weights" => get_scoring_weights::handler(app, request).await,
        "put-scoring-weights" => put_scoring_weights::handler(app, request).await,
        _ => return None,
    })
}
