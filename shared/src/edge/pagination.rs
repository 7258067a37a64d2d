//! `limit` and `cursor` query parameters, and the `{"items": …, "nextCursor": …}` body that
//! every list route shares.

use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::edge::error::ApiError;
use crate::edge::http::{ApiRequest, query_param};
use crate::store::cursor::CursorKey;

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 100;
// Every page can be answered as CSV within Lambda's 6 MB.
const _: () = assert!(MAX_LIMIT <= crate::domain::export::MAX_PAGE_ROWS);

/// `limit`: 1–100, default 25.
pub fn limit(request: &ApiRequest) -> Result<usize, ApiError> {
    match query_param(request, "limit")? {
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_query(
                    "limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                )
            }),
        None => Ok(DEFAULT_LIMIT),
    }
}

/// A list query's cursor handling. `binding` names everything the cursor must not be
/// replayed across: the route, the store, the filters and the caller.
pub struct Cursors<'a> {
    key: &'a CursorKey,
    binding: String,
    now: OffsetDateTime,
}

impl<'a> Cursors<'a> {
    pub fn new(key: &'a CursorKey, binding: String) -> Self {
        Self {
            key,
            binding,
            now: OffsetDateTime::now_utc(),
        }
    }

    /// The position sealed in the request's `cursor`, if any.
    pub fn position<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<Option<T>, ApiError> {
        query_param(request, "cursor")?
            .map(|cursor| self.key.open(&self.binding, cursor, self.now))
            .transpose()
            .map_err(ApiError::from)
    }

    pub fn seal<T: Serialize>(&self, position: Option<T>) -> Option<String> {
        position.map(|p| self.key.seal(&self.binding, &p, self.now))
    }
}

/// A page of a list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListBody<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
