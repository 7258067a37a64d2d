//! `GET /stores/{storeId}/reports/supervisor-requests`: how the store's queue behaved over
//! `from`..=`to` (local dates in `tz`), per day or hour (`groupBy`), for its supervisors and
//! admins. Read from the audit events of the range (Queries of the `byTime` index, several
//! sub-ranges at once) and the `created` events of requests raised before it (one
//! `BatchGetItem` per hundred); counted by [`shared::domain::report::compute`].

use shared::App;
use shared::auth::principal::Action;
use shared::domain::report::{DAYS_PER_QUERY, ReportQuery, compute, creations, missing_creations};
use shared::edge::error::ApiError;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{authorize_store, json, query_param, respond};

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, report(app, &event).await)
}

async fn report(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (_, store) = authorize_store(event, Action::ReadReports)?;
    let query = ReportQuery::parse(
        query_param(event, "from")?,
        query_param(event, "to")?,
        query_param(event, "tz")?,
        query_param(event, "groupBy")?,
    )
    .map_err(|error| ApiError::invalid_query(&error.field, error.message))?;
    let events = app
        .requests
        .events_in_spans(&store, &query.spans(DAYS_PER_QUERY))
        .await?;
    let earlier = app
        .requests
        .created_events(&store, &missing_creations(&events))
        .await?;
    // What a slow or costly report read: the events of its range, and creations apart.
    tracing::info!(
        events = events.len(),
        earlier = earlier.len(),
        days = query.range.days(),
        "report read"
    );
    json(
        StatusCode::OK,
        &compute(&query, &store, &events, &creations(&earlier)),
    )
}
