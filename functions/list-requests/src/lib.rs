//! `GET /stores/{storeId}/supervisor-requests`: a page of the queue (`status=PENDING`, the
//! default) or of history (`NOT_PENDING`), most urgent first, then oldest first.
//!
//! `since` (inclusive) and `until` (exclusive) bound creation time as RFC 3339 instants; they
//! become key conditions, never a filter. `limit` is 1–100 (default 25). `cursor` is the
//! `nextCursor` of the previous page, valid only for the same store, filters and caller.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use shared::App;
use shared::error::ApiError;
use shared::http::{json, query_param, respond};
use shared::principal::{Action, authorize_store};
use shared::store::{ListPosition, ListQuery};
use shared::supervisor_request::{RequestStatus, RequestView, unix_millis};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 100;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<'a> {
    items: Vec<RequestView<'a>>,
    next_cursor: Option<String>,
}

/// The sealed content of a cursor.
#[derive(Serialize, Deserialize)]
struct Position(ListPosition);

pub async fn handler(app: &App, event: Request) -> Response<Body> {
    respond(list(app, &event, OffsetDateTime::now_utc()).await)
}

async fn list(app: &App, event: &Request, now: OffsetDateTime) -> Result<Response<Body>, ApiError> {
    let (principal, store) = authorize_store(event, Action::ReadRequests)?;
    let status = match query_param(event, "status")? {
        Some(raw) => RequestStatus::parse(raw)?,
        None => RequestStatus::Pending,
    };
    let since = instant(event, "since")?;
    let until = instant(event, "until")?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(ApiError::bad_request(
            "invalid_query_parameter",
            "since must be before until",
        ));
    }
    let limit = match query_param(event, "limit")? {
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_query_parameter",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )
            })?,
        None => DEFAULT_LIMIT,
    };
    // The cursor opens only for the query it came from: same store, filters and caller.
    let binding = format!(
        "list-requests|{store}|{}|{}|{}|{}",
        status.as_str(),
        since.map(unix_millis).unwrap_or(-1),
        until.map(unix_millis).unwrap_or(-1),
        principal.subject
    );
    let from = match query_param(event, "cursor")? {
        Some(cursor) => Some(app.cursor_key.open::<Position>(&binding, cursor, now)?.0),
        None => None,
    };
    let query = ListQuery {
        store,
        status,
        since,
        until,
        limit,
    };
    let page = app.requests.list(&query, from).await?;
    json(
        StatusCode::OK,
        &ListBody {
            items: page.items.iter().map(|r| r.view()).collect(),
            next_cursor: page
                .next
                .map(|next| app.cursor_key.seal(&binding, &Position(next), now)),
        },
    )
}

fn instant(event: &Request, name: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    query_param(event, name)?
        .map(|raw| {
            OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| {
                ApiError::bad_request(
                    "invalid_query_parameter",
                    format!("{name} must be an RFC 3339 date-time, e.g. 2026-11-23T09:30:00Z"),
                )
            })
        })
        .transpose()
}
