//! The one error type every handler returns, and its one mapping to an HTTP JSON response.
//!
//! Domain and store errors say what went wrong in their own words ([`Invalid`],
//! [`InvalidId`], [`Refusal`], [`StoreError`]); the `From` impls here are the one place they
//! become a status, a stable `code` and a message written for clients. Internal detail only
//! reaches the log (and never a token or secret: nothing here formats request headers).

use http::{StatusCode, header};
use serde::Serialize;

use crate::auth::principal::NotPermitted;
use crate::domain::supervisor_request::{Refusal, RequestStatusCode};
pub use crate::domain::validation::FieldError;
use crate::domain::validation::{IdKind, Invalid, InvalidId};
use crate::store::catalog::CatalogError;
use crate::store::cursor::InvalidCursor;
use crate::store::idempotency::InvalidIdempotencyKey;
use crate::store::table::{Entity, Source, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (syntax, path ids, query parameters, cursor).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 400 naming the parameters at fault.
    #[error("{message}")]
    BadRequestFields {
        code: &'static str,
        message: String,
        fields: Vec<FieldError>,
    },
    /// 401: no usable credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: authenticated, but not allowed here.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403 with its own code: allowed here in general, but not this (a workflow rule).
    #[error("{message}")]
    Denied {
        code: &'static str,
        message: &'static str,
    },
    /// 404: no such resource in this store.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409: the resource is not in a state that allows this.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// 412: `If-Match` / `version` does not match the current version.
    #[error("the resource is now at version {current}; fetch it again")]
    PreconditionFailed { current: u64 },
    /// 413
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// 415
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// 422: well-formed JSON that breaks the rules.
    #[error("{message}")]
    Validation {
        message: String,
        fields: Vec<FieldError>,
    },
    /// 428: an optimistic-concurrency write without a version.
    #[error("send If-Match with the ETag, or `version` in the body")]
    PreconditionRequired,
    /// 503: the store is throttling or unreachable after bounded retries (the store's error,
    /// kept for the log), or the service is shedding load.
    #[error("the service is busy; retry shortly")]
    Unavailable(#[source] Option<StoreError>),
    /// 500: a bug or an unexpected store answer. The chain is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Source),
}

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 400 for a cursor that does not open, or whose position does not fit its query:
    /// one answer for every way a cursor is wrong, so none reveals anything.
    pub fn invalid_cursor() -> Self {
        Self::bad_request("invalid_cursor", "cursor is invalid or expired")
    }

    /// A 400 for query parameter `name`, naming it in `fields` as a 422 names body fields.
    pub fn invalid_query(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::BadRequestFields {
            code: "invalid_query_parameter",
            message: message.clone(),
            fields: vec![FieldError::new(name, message)],
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A 422 naming every field that failed.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::Validation { message, fields }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Validation {
            message: format!("{field}: {message}"),
            fields: vec![FieldError::new(field, message)],
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } | Self::BadRequestFields { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Denied { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::BadRequestFields { code, .. }
            | Self::Conflict { code, .. }
            | Self::Denied { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::PreconditionFailed { .. } => "version_mismatch",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation { .. } => "validation_failed",
            Self::PreconditionRequired => "precondition_required",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The response a client sees, with the request id to quote. This is where an error is
    /// handled: internal errors and an unavailable store are logged here, once, with their
    /// whole chain of sources (DynamoDB's telemetry counts the unavailable call itself).
    pub fn into_response(self, request_id: Option<&str>) -> http::Response<String> {
        let status = self.status();
        let message = match &self {
            Self::Internal(_) => {
                tracing::error!(error = %chain(&self), "internal error");
                "internal error".to_owned()
            }
            Self::Unavailable(Some(_)) => {
                tracing::warn!(error = %chain(&self), "store unavailable");
                self.to_string()
            }
            other => {
                tracing::info!(
                    status = status.as_u16(),
                    code = other.code(),
                    "request rejected"
                );
                other.to_string()
            }
        };
        let fields = match &self {
            Self::Validation { fields, .. } | Self::BadRequestFields { fields, .. } => {
                Some(fields.as_slice())
            }
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message,
                fields,
                request_id,
            },
        };
        let mut builder = http::Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "application/json");
        if matches!(self, Self::Unavailable(_)) {
            builder = builder.header(header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string());
        }
        builder
            .body(serde_json::to_string(&body).expect("error bodies serialize"))
            .expect("static headers are valid")
    }
}

/// An error and its sources, outermost first: `internal error: store error: service error: …`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a [FieldError]>,
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::validation(invalid.0)
    }
}

impl From<InvalidId> for ApiError {
    fn from(InvalidId(kind): InvalidId) -> Self {
        let code = match kind {
            IdKind::Store => "invalid_store_id",
            IdKind::Request => "invalid_request_id",
            IdKind::MasterItem => "invalid_master_item_id",
            IdKind::Item => "invalid_item_id",
        };
        Self::bad_request(code, kind.rule())
    }
}

impl<E> From<crate::store::idempotency::IdempotencyError<E>> for ApiError
where
    ApiError: From<E>,
{
    fn from(error: crate::store::idempotency::IdempotencyError<E>) -> Self {
        use crate::store::idempotency::IdempotencyError;
        match error {
            IdempotencyError::Create(error) => error.into(),
            IdempotencyError::Reused(invalid) => invalid.into(),
            IdempotencyError::InFlight => Self::conflict(
                "idempotency_key_in_use",
                "a create with this Idempotency-Key is still in flight; retry shortly",
            ),
        }
    }
}

impl From<InvalidIdempotencyKey> for ApiError {
    fn from(error: InvalidIdempotencyKey) -> Self {
        Self::bad_request("invalid_idempotency_key", error.to_string())
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let code = match refusal {
            Refusal::NotPending(RequestStatusCode::Timeout) | Refusal::TimedOut => {
                "request_timed_out"
            }
            Refusal::NotPending(_) => "request_not_pending",
            Refusal::IsHistory(_) => "request_is_history",
        };
        Self::conflict(code, refusal.to_string())
    }
}

impl From<NotPermitted> for ApiError {
    fn from(refusal: NotPermitted) -> Self {
        match refusal {
            NotPermitted::AnswerOwnRequest => Self::Denied {
                code: "own_request",
                message: refusal.message(),
            },
            _ => Self::Forbidden(refusal.message()),
        }
    }
}

impl From<InvalidCursor> for ApiError {
    fn from(_: InvalidCursor) -> Self {
        Self::invalid_cursor()
    }
}

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::MasterItemHasItems { items } => Self::conflict(
                "master_item_has_items",
                format!("the master item still has {items} item(s); delete them first"),
            ),
            CatalogError::CurrencyMismatch { master_currency } => Self::invalid_field(
                "price.currency",
                format!(
                    "must be {master_currency}, the master item's currency: prices in different currencies are never compared"
                ),
            ),
            CatalogError::NotACandidate => {
                Self::invalid_field("itemId", "is not an item of this master item")
            }
            CatalogError::ItemNotEligible => Self::conflict(
                "item_not_eligible",
                "an INACTIVE or DISCONTINUED item cannot be pinned",
            ),
            CatalogError::Store(error) => error.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(entity) => Self::NotFound(match entity {
                Entity::Request => "supervisor request not found",
                Entity::MasterItem => "master item not found",
                Entity::Item => "item not found",
            }),
            StoreError::VersionMismatch { current } => Self::PreconditionFailed { current },
            StoreError::ConditionFailed(_) | StoreError::TransactionConflict => Self::conflict(
                "concurrent_modification",
                "the request was changed concurrently; fetch it and try again",
            ),
            StoreError::InvalidCursor => Self::invalid_cursor(),
            StoreError::Unavailable(_) => Self::Unavailable(Some(error)),
            StoreError::Internal(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl ApiError {
    /// What `code` tells a client, for the OpenAPI document; `None` for a code no error
    /// carries. Every code the functions answer with is here (a test scans the sources).
    pub fn meaning(code: &str) -> Option<&'static str> {
        Some(match code {
            "invalid_store_id" => "the path's storeId is malformed",
            "invalid_request_id" => "the path's requestId is not a ULID",
            "invalid_master_item_id" => "the path's masterItemId is not a ULID",
            "invalid_item_id" => "the path's itemId is not `{masterItemId}-{ulid}`",
            "missing_path_parameter" => "the route and the function disagree (a deployment fault)",
            "unknown_query_parameter" => {
                "a query parameter this route does not take (`fields` names it)"
            }
            "invalid_query_parameter" => {
                "a query parameter's value, or a repeated one (`fields` names it)"
            }
            "invalid_cursor" => {
                "the cursor is forged, altered, expired, or from another store, filter or caller"
            }
            "missing_body" => "the route needs a JSON body",
            "malformed_json" => "the body is not JSON",
            "invalid_if_match" => "If-Match is not an ETag of this API",
            "conflicting_versions" => "If-Match and the body's `version` disagree",
            "invalid_idempotency_key" => "Idempotency-Key is not 1-128 printable ASCII characters",
            "unauthorized" => "no usable credentials",
            "forbidden" => "the caller's store or role does not allow this",
            "own_request" => "nobody answers a request they raised",
            "not_found" => "no such resource in this store",
            "idempotency_key_in_use" => {
                "a create with this Idempotency-Key is still in flight: retry shortly"
            }
            "request_not_pending" => "the request was answered: it is history",
            "request_timed_out" => "the request's deadline has passed",
            "request_is_history" => "answered and timed-out requests are kept, never removed",
            "concurrent_modification" => "concurrent writers kept winning: read again and retry",
            "master_item_has_items" => "delete the master item's items first",
            "item_not_eligible" => "an INACTIVE or DISCONTINUED item cannot be pinned",
            "no_eligible_candidate" => "every item of the master item is INACTIVE or DISCONTINUED",
            "version_mismatch" => "If-Match or `version` is not the current version: read it again",
            "payload_too_large" => "the body is over the functions' limit",
            "unsupported_media_type" => "the body is not `application/json`",
            "validation_failed" => "well-formed but invalid: `fields` names every field at fault",
            "precondition_required" => "send If-Match with the ETag, or `version` in the body",
            "service_unavailable" => {
                "the store is busy or unreachable: retry after `Retry-After` seconds"
            }
            "internal_error" => "a fault of the service, logged under the `requestId`",
            _ => return None,
        })
    }
}

/// A kind of failure a handler can meet, shared by the handlers that take the same step
/// (read a body, check an `If-Match`, create under an `Idempotency-Key`, change a request
/// that must be open…). The route table names the kinds each route's handler meets
/// ([`crate::edge::routes::Route::failures`]); the OpenAPI document lists, per operation and
/// status, the codes of [`Failure::errors`], and the tests hold every error they see on a
/// route to that list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Every route: the authorizer's context, the caller's store and role, the path's store
    /// id, unknown query parameters, the store busy, a bug.
    Edge,
    /// A path parameter of this kind is malformed.
    PathId(IdKind),
    /// A query parameter's value.
    Query,
    /// A pagination cursor.
    Cursor,
    /// A JSON body: size, media type, syntax, rules.
    Body,
    /// An optional `If-Match` (or the body's `version`) that must be current.
    IfMatch,
    /// An edit, which needs `If-Match` or `version`.
    RequiredVersion,
    /// A create under an optional `Idempotency-Key`.
    Idempotency,
    /// A resource the path names beyond the store.
    NotFound,
    /// An edit or answer of a request, which must be pending and before its deadline.
    OpenRequest,
    /// A removal of a request, which must be pending: history is kept.
    PendingRequest,
    /// An answer: nobody answers a request they raised.
    OwnRequest,
    /// A transaction that kept meeting concurrent writers.
    Contention,
    /// A delete of a master item that still has items.
    MasterItemItems,
    /// A pin: an eligible item of this master item.
    Pin,
    /// A choice among the master item's items, none of them eligible.
    Candidates,
}

impl Failure {
    /// One error of each code this kind answers with, made as the handlers make them (the
    /// `From` conversions where there is one), so their statuses and codes are the real ones.
    pub fn errors(self) -> Vec<ApiError> {
        use RequestStatusCode::ResponseReceived;
        match self {
            Self::Edge => vec![
                NotPermitted::OtherStore.into(),
                InvalidId(IdKind::Store).into(),
                ApiError::bad_request("missing_path_parameter", ""),
                ApiError::BadRequestFields {
                    code: "unknown_query_parameter",
                    message: String::new(),
                    fields: Vec::new(),
                },
                ApiError::Unavailable(None),
                ApiError::Internal("".into()),
            ],
            Self::PathId(kind) => vec![InvalidId(kind).into()],
            Self::Query => vec![ApiError::invalid_query("limit", "")],
            Self::Cursor => vec![ApiError::bad_request("invalid_cursor", "")],
            Self::Body => vec![
                ApiError::bad_request("missing_body", ""),
                ApiError::bad_request("malformed_json", ""),
                ApiError::PayloadTooLarge { limit: 0 },
                ApiError::UnsupportedMediaType,
                ApiError::validation(Vec::new()),
            ],
            Self::IfMatch => vec![
                ApiError::bad_request("invalid_if_match", ""),
                StoreError::VersionMismatch { current: 1 }.into(),
            ],
            Self::RequiredVersion => vec![
                ApiError::bad_request("conflicting_versions", ""),
                ApiError::PreconditionRequired,
            ],
            Self::Idempotency => vec![
                InvalidIdempotencyKey.into(),
                crate::store::idempotency::IdempotencyError::<StoreError>::InFlight.into(),
                crate::store::idempotency::IdempotencyError::<StoreError>::Reused(Invalid(
                    Vec::new(),
                ))
                .into(),
            ],
            Self::NotFound => vec![StoreError::NotFound(Entity::Request).into()],
            Self::OpenRequest => vec![
                Refusal::NotPending(ResponseReceived).into(),
                Refusal::TimedOut.into(),
            ],
            Self::PendingRequest => vec![
                Refusal::IsHistory(ResponseReceived).into(),
                Refusal::TimedOut.into(),
            ],
            Self::OwnRequest => vec![NotPermitted::AnswerOwnRequest.into()],
            Self::Contention => vec![StoreError::TransactionConflict.into()],
            Self::MasterItemItems => vec![CatalogError::MasterItemHasItems { items: 1 }.into()],
            Self::Pin => vec![
                CatalogError::NotACandidate.into(),
                CatalogError::ItemNotEligible.into(),
            ],
            Self::Candidates => vec![ApiError::conflict("no_eligible_candidate", "")],
        }
    }
}

/// What a non-HTTP function (the sweeper) reports to Lambda when the store fails it.
impl From<StoreError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(error: StoreError) -> Self {
        let error_type = match &error {
            StoreError::ConditionFailed(_) => "StoreError::ConditionFailed",
            StoreError::TransactionConflict => "StoreError::TransactionConflict",
            StoreError::Unavailable(_) => "StoreError::Unavailable",
            _ => "StoreError::Internal",
        };
        Self {
            error_type: error_type.into(),
            error_message: chain(&error),
        }
    }
}
