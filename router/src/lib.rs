#![recursion_limit = "256"]
//! Every HTTP route in one process: the handler of a route, for the callers that serve all of
//! them (the local gateway; the long-running service). In AWS each route's function deploys
//! its own crate's binary (`functions/<name>/src/main.rs`) and runs that handler alone; this
//! dispatch reaches the very same handler functions, so what runs locally is what runs there.

pub mod openapi;

use shared::App;
use shared::edge::http::{ApiRequest, ApiResponse};
use shared::edge::routes::Operation;

/// The answer of the handler of the request's route.
pub async fn handle(app: &App, request: ApiRequest) -> ApiResponse {
    match request.route().operation {
        Operation::CreateRequest => create_request::handler(app, request).await,
        Operation::ListRequests => list_requests::handler(app, request).await,
        Operation::GetRequest => get_request::handler(app, request).await,
        Operation::UpdateRequest => update_request::handler(app, request).await,
        Operation::DeleteRequest => delete_request::handler(app, request).await,
        Operation::RespondToRequest => respond_to_request::handler(app, request).await,
        Operation::ListRequestEvents => list_request_events::handler(app, request).await,
        Operation::ListStoreEvents => list_store_events::handler(app, request).await,
        Operation::GetRequestReport => get_request_report::handler(app, request).await,
        Operation::CreateMasterItem => create_master_item::handler(app, request).await,
        Operation::ListMasterItems => list_master_items::handler(app, request).await,
        Operation::GetMasterItem => get_master_item::handler(app, request).await,
        Operation::UpdateMasterItem => update_master_item::handler(app, request).await,
        Operation::DeleteMasterItem => delete_master_item::handler(app, request).await,
        Operation::CreateItem => create_item::handler(app, request).await,
        Operation::ListItems => list_items::handler(app, request).await,
        Operation::GetItem => get_item::handler(app, request).await,
        Operation::UpdateItem => update_item::handler(app, request).await,
        Operation::DeleteItem => delete_item::handler(app, request).await,
        Operation::GetPreferredItem => get_preferred_item::handler(app, request).await,
        Operation::PinPreferredItem => pin_preferred_item::handler(app, request).await,
        Operation::UnpinPreferredItem => unpin_preferred_item::handler(app, request).await,
        Operation::GetScoringWeights => get_scoring_weights::handler(app, request).await,
        Operation::PutScoringWeights => put_scoring_weights::handler(app, request).await,
    }
}
