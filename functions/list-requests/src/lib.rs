//! `GET /stores/{storeId}/supervisor-requests`: a page of the queue (`status=PENDING`, the
//! default) or of history (`NOT_PENDING`), most urgent first, then oldest first.
//!
//! `since` (inclusive) and `until` (exclusive) bound creation time as RFC 3339 instants; they
//! become key conditions, never a filter. `limit` is 1–100 (default 25). `cursor` is the
//! `nextCursor` of the previous page, valid only for the same store, filters and caller.
//! `priority` keeps one priority (a key condition); `requestedBy=me` the caller's own
//! requests (the `byRequester` index, never a filter over the store's partition).
//! History (`status=NOT_PENDING`) may be `order=newest` (by when each left the queue: the
//! `historyByTime` index) and of one `decision` (a filter in DynamoDB).
//!
//! `Accept: text/csv` answers the same page as CSV ([`shared::domain::export`]), the next page's
//! address in `Link` (same filters, the sealed cursor): history for a spreadsheet.

use shared::App;
use shared::auth::principal::Action;
use shared::domain::supervisor_request::{Decision, Priority, RequestStatus, SupervisorRequest};
use shared::edge::error::ApiError;
use shared::edge::http::authorize_store;
use shared::edge::http::{ApiRequest, ApiResponse, StatusCode};
use shared::edge::http::{csv, json, next_link, prefers_csv, query_param, respond};
use shared::edge::pagination::{Cursors, ListBody, limit};
use shared::store::requests::{HistoryPosition, ListPosition, ListQuery};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub async fn handler(app: &App, event: ApiRequest) -> ApiResponse {
    respond(&event, list(app, &event).await)
}

async fn list(app: &App, event: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let (principal, store) = authorize_store(event, Action::ReadRequests)?;
    let status = match query_param(event, "status")? {
        Some(raw) => RequestStatus::parse(raw).ok_or_else(|| {
            ApiError::invalid_query("status", "status must be PENDING or NOT_PENDING")
        })?,
        None => RequestStatus::Pending,
    };
    let since = instant(event, "since")?;
    let until = instant(event, "until")?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ApiError::invalid_query(
            "until",
            "since must be before until",
        ));
    }
    let priority = match query_param(event, "priority")? {
        Some(raw) => Some(
            Priority::ALL
                .into_iter()
                .find(|p| p.as_str() == raw)
                .ok_or_else(|| {
                    ApiError::invalid_query(
                        "priority",
                        "priority must be URGENT, HIGH, NORMAL or LOW",
                    )
                })?,
        ),
        None => None,
    };
    let requested_by = match query_param(event, "requestedBy")? {
        Some("me") => Some(principal.subject.clone()),
        Some(_) => {
            return Err(ApiError::invalid_query(
                "requestedBy",
                "requestedBy takes `me`: your own requests",
            ));
        }
        None => None,
    };
    let decision = match query_param(event, "decision")? {
        Some(raw) => Some(
            Decision::parse(raw)
                .ok_or_else(|| bad_query("decision", "decision must be APPROVED or DENIED"))?,
        ),
        None => None,
    };
    if decision.is_some() && status != RequestStatus::NotPending {
        return Err(bad_query(
            "decision",
            "decision filters history: add status=NOT_PENDING",
        ));
    }
    let newest_first = match query_param(event, "order")? {
        None | Some("queue") => false,
        Some("newest") => true,
        Some(_) => {
            return Err(bad_query(
                "order",
                "order must be queue (the default) or newest",
            ));
        }
    };
    let limit = limit(event)?;
    if newest_first {
        if status != RequestStatus::NotPending {
            return Err(bad_query(
                "order",
                "order=newest lists history: add status=NOT_PENDING (the queue is served in queue order)",
            ));
        }
        if since.is_some() || until.is_some() || priority.is_some() || requested_by.is_some() {
            return Err(bad_query(
                "order",
                "order=newest takes decision, limit and cursor; since, until, priority and requestedBy select in queue order",
            ));
        }
        let cursors = Cursors::new(
            app.cursor_key()?,
            format!(
                "list-requests|newest|{store}|{}|{}",
                decision.map_or("", Decision::as_str),
                principal.subject
            ),
        );
        let from = cursors.position::<HistoryPosition>(event)?;
        let (items, next) = app
            .requests
            .history_newest(&store, decision, from, limit)
            .await?;
        return page(event, &items, cursors.seal(next));
    }
    let query = ListQuery {
        store,
        status,
        since,
        until,
        limit,
        now: app.clock.now(),
        priority,
        requested_by,
        decision,
    };
    // The cursor opens only for the query it came from: same store, filters and caller.
    let cursors = Cursors::new(app.cursor_key()?, query.cursor_binding(&principal.subject));
    let from = cursors.position::<ListPosition>(event)?;
    let found = app.requests.list(&query, from).await?;
    page(event, &found.items, cursors.seal(found.next))
}

/// The page as JSON, or as CSV when the caller prefers it (the first page, without a cursor,
/// starts with a byte-order mark).
fn page(
    event: &ApiRequest,
    items: &[SupervisorRequest],
    next: Option<String>,
) -> Result<ApiResponse, ApiError> {
    if prefers_csv(event.headers()) {
        let first = query_param(event, "cursor")?.is_none();
        return csv(
            shared::domain::export::render(items, first),
            next.map(|cursor| next_link(event, &cursor)),
        );
    }
    json(
        StatusCode::OK,
        &ListBody {
            items: items.iter().map(|r| r.view()).collect(),
            next_cursor: next,
        },
    )
}

fn bad_query(name: &str, message: &str) -> ApiError {
    ApiError::invalid_query(name, message)
}

fn instant(event: &ApiRequest, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    query_param(event, name)?
        .map(|raw| {
            OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
                ApiError::invalid_query(
                    name,
                    format!("{name} must be an RFC 3339 date-time, e.g. 2026-11-23T09:30:00Z"),
                )
            })
        })
        .transpose()
}
