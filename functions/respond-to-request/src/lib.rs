//! `POST /stores/{storeId}/supervisor-requests/{requestId}/response`: a supervisor approves or
//! denies a pending request, moving it to history as `RESPONSE_RECEIVED` with its `answered`
//! event in one transaction. Of concurrent answers exactly one wins; the others get 409
//! `request_not_pending`. Nobody answers a request they raised (403 `own_request`). An answer
//! at or after the deadline gets 409 `request_timed_out`, and the request is timed out by
//! the same kind of transaction if the sweeper has not done it yet.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::audit::Actor;
use shared::domain::ids::RequestId;
use shared::domain::supervisor_request::ResponseBody;
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{json_body, path_param, request_json, respond};
use shared::telemetry::emf::{Event, Unit};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, answer(app, &event).await)
}

async fn answer(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::RespondToRequest)?;
    let id = path_param(event, "requestId", RequestId::parse)?;
    let (decision, note) = json_body::<ResponseBody>(event)?.validate()?;
    let now = app.clock.now();
    let answered = app
        .requests
        .modify(&store, &id, now, |current| {
            principal.may_answer(current)?;
            Ok::<_, ApiError>(current.respond(
                decision,
                note.clone(),
                Actor::from(&principal),
                now,
            )?)
        })
        .await?
        .ok_or_else(|| ApiError::Internal("response returned no request".into()))?;
    tracing::info!(store = %store, request_id = %id, decision = decision.as_str(), "request answered");
    let waited = answered.updated_at - answered.created_at;
    Event::new("supervisor-requests")
        .dimension("Decision", decision.as_str())
        .metric("RequestsAnswered", Unit::Count, 1.0)
        .metric(
            "TimeToAnswer",
            Unit::Milliseconds,
            waited.whole_milliseconds() as f64,
        )
        .store(store.as_str())
        .property("requestId", id.to_string())
        .emit();
    request_json(StatusCode::OK, &answered)
}
