//! Supervisor requests: the domain types and the rules of their life cycle.
//!
//! A request is created `PENDING_RESPONSE`, may be edited while pending, and leaves the queue
//! exactly once: answered (`RESPONSE_RECEIVED`) or timed out (`TIMEOUT`). Every change bumps
//! `version`, which is what optimistic concurrency and the store's transactions check.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::{RequestId, StoreId};
use crate::millis::to_millis_precision;
pub use crate::text::Text;
use crate::validation::{FieldError, Fields, Invalid};

/// How urgent a request is. The queue serves `URGENT` first.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Priority {
    Urgent,
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    /// Every priority, most urgent first: the order of the queue.
    pub const ALL: [Priority; 4] = [Self::Urgent, Self::High, Self::Normal, Self::Low];

    /// The one-digit rank used in sort keys; lower sorts first.
    pub fn rank(self) -> u8 {
        match self {
            Self::Urgent => 1,
            Self::High => 2,
            Self::Normal => 3,
            Self::Low => 4,
        }
    }

    pub fn from_rank(rank: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.rank() == rank)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "URGENT",
            Self::High => "HIGH",
            Self::Normal => "NORMAL",
            Self::Low => "LOW",
        }
    }
}

/// The two classes of use: the live queue, and history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatus {
    Pending,
    NotPending,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::NotPending => "NOT_PENDING",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "PENDING" => Some(Self::Pending),
            "NOT_PENDING" => Some(Self::NotPending),
            _ => None,
        }
    }
}

/// Where a request is in its life cycle; refines [`RequestStatus`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestStatusCode {
    PendingResponse,
    ResponseReceived,
    Timeout,
}

impl RequestStatusCode {
    pub const ALL: [Self; 3] = [Self::PendingResponse, Self::ResponseReceived, Self::Timeout];

    pub fn status(self) -> RequestStatus {
        match self {
            Self::PendingResponse => RequestStatus::Pending,
            Self::ResponseReceived | Self::Timeout => RequestStatus::NotPending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingResponse => "PENDING_RESPONSE",
            Self::ResponseReceived => "RESPONSE_RECEIVED",
            Self::Timeout => "TIMEOUT",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == raw)
    }
}

/// What the associate needs a supervisor for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RequestType {
    PriceOverride,
    Refund,
    Return,
    Void,
    Discount,
    Other,
}

impl RequestType {
    pub const ALL: [Self; 6] = [
        Self::PriceOverride,
        Self::Refund,
        Self::Return,
        Self::Void,
        Self::Discount,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PriceOverride => "PRICE_OVERRIDE",
            Self::Refund => "REFUND",
            Self::Return => "RETURN",
            Self::Void => "VOID",
            Self::Discount => "DISCOUNT",
            Self::Other => "OTHER",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// A supervisor's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Decision {
    Approved,
    Denied,
}

impl Decision {
    pub const ALL: [Self; 2] = [Self::Approved, Self::Denied];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "APPROVED",
            Self::Denied => "DENIED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == raw)
    }
}

/// What the associate describes: the item, the amount, the reason.
pub type Details = Text<1000>;
/// A supervisor's note on the answer.
pub type Note = Text<500>;

/// How long a request may wait for an answer.
pub const MIN_TIMEOUT_SECONDS: u32 = 30;
pub const MAX_TIMEOUT_SECONDS: u32 = 24 * 60 * 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorResponse {
    pub decision: Decision,
    pub responded_by: String,
    pub responded_at: OffsetDateTime,
    pub note: Option<Note>,
}

/// How a request's life ended, if it has: one value, so an answered request always carries
/// its answer and a pending or timed-out one never does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Answered(SupervisorResponse),
    TimedOut,
}

impl Outcome {
    pub fn status_code(&self) -> RequestStatusCode {
        match self {
            Self::Pending => RequestStatusCode::PendingResponse,
            Self::Answered(_) => RequestStatusCode::ResponseReceived,
            Self::TimedOut => RequestStatusCode::Timeout,
        }
    }
}

/// Why the life cycle refuses a change, in the domain's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Only a pending request can be edited or answered.
    #[error("the request is {}", .0.as_str())]
    NotPending(RequestStatusCode),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorRequest {
    pub store_id: StoreId,
    pub request_id: RequestId,
    pub request_type: RequestType,
    pub priority: Priority,
    pub details: Details,
    pub outcome: Outcome,
    pub requested_by: String,
    pub created_at: OffsetDateTime,
    pub deadline: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub version: u64,
}

/// A validated create body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    pub request_type: RequestType,
    pub priority: Priority,
    pub details: Details,
    pub timeout: Option<Duration>,
}

/// A validated edit: at least one of the two is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEdit {
    pub priority: Option<Priority>,
    pub details: Option<Details>,
}

impl SupervisorRequest {
    pub fn new(
        store_id: StoreId,
        new: NewRequest,
        requested_by: String,
        now: OffsetDateTime,
        default_timeout: Duration,
    ) -> Self {
        let created_at = to_millis_precision(now);
        Self {
            store_id,
            request_id: RequestId::generate(),
            request_type: new.request_type,
            priority: new.priority,
            details: new.details,
            outcome: Outcome::Pending,
            requested_by,
            created_at,
            deadline: created_at + new.timeout.unwrap_or(default_timeout),
            updated_at: created_at,
            version: 1,
        }
    }

    pub fn status_code(&self) -> RequestStatusCode {
        self.outcome.status_code()
    }

    pub fn status(&self) -> RequestStatus {
        self.status_code().status()
    }

    pub fn is_pending(&self) -> bool {
        self.status() == RequestStatus::Pending
    }

    fn require_pending(&self) -> Result<(), Refusal> {
        if self.is_pending() {
            Ok(())
        } else {
            Err(Refusal::NotPending(self.status_code()))
        }
    }

    fn next_version(&self, now: OffsetDateTime) -> Self {
        Self {
            version: self.version + 1,
            updated_at: to_millis_precision(now).max(self.updated_at),
            ..self.clone()
        }
    }

    /// Edits a pending request.
    pub fn edit(&self, edit: &RequestEdit, now: OffsetDateTime) -> Result<Self, Refusal> {
        self.require_pending()?;
        let mut next = self.next_version(now);
        if let Some(priority) = edit.priority {
            next.priority = priority;
        }
        if let Some(details) = &edit.details {
            next.details = details.clone();
        }
        Ok(next)
    }

    /// Answers a pending request.
    pub fn respond(
        &self,
        decision: Decision,
        note: Option<Note>,
        responded_by: String,
        now: OffsetDateTime,
    ) -> Result<Self, Refusal> {
        self.require_pending()?;
        let mut next = self.next_version(now);
        next.outcome = Outcome::Answered(SupervisorResponse {
            decision,
            responded_by,
            responded_at: next.updated_at,
            note,
        });
        Ok(next)
    }

    /// Times out a pending request whose deadline has passed, or says it should not.
    pub fn time_out(&self, now: OffsetDateTime) -> Option<Self> {
        if !self.is_pending() || self.deadline > now {
            return None;
        }
        let mut next = self.next_version(now);
        next.outcome = Outcome::TimedOut;
        Some(next)
    }

    /// The JSON shape clients see.
    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            store_id: &self.store_id,
            request_id: self.request_id,
            request_type: self.request_type,
            priority: self.priority,
            details: self.details.as_str(),
            status: self.status(),
            status_code: self.status_code(),
            requested_by: &self.requested_by,
            created_at: self.created_at,
            deadline: self.deadline,
            updated_at: self.updated_at,
            version: self.version,
            response: match &self.outcome {
                Outcome::Answered(r) => Some(ResponseView {
                    decision: r.decision,
                    responded_by: &r.responded_by,
                    responded_at: r.responded_at,
                    note: r.note.as_ref().map(Note::as_str),
                }),
                Outcome::Pending | Outcome::TimedOut => None,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView<'a> {
    pub store_id: &'a StoreId,
    pub request_id: RequestId,
    pub request_type: RequestType,
    pub priority: Priority,
    pub details: &'a str,
    pub status: RequestStatus,
    pub status_code: RequestStatusCode,
    pub requested_by: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseView<'a> {
    pub decision: Decision,
    pub responded_by: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    pub responded_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}

/// `POST /stores/{storeId}/supervisor-requests` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewRequestBody {
    pub request_type: RequestType,
    #[serde(default)]
    pub priority: Priority,
    pub details: String,
    #[serde(default, deserialize_with = "crate::http::present")]
    pub timeout_seconds: Option<u32>,
}

impl NewRequestBody {
    pub fn validate(self) -> Result<NewRequest, Invalid> {
        let mut fields = Fields::default();
        let details = fields.check(Details::parse("details", self.details));
        let timeout = match self.timeout_seconds {
            Some(seconds) if !(MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&seconds) => {
                fields.push(FieldError::new(
                    "timeoutSeconds",
                    format!("must be between {MIN_TIMEOUT_SECONDS} and {MAX_TIMEOUT_SECONDS}"),
                ));
                None
            }
            Some(seconds) => Some(Duration::seconds(i64::from(seconds))),
            None => None,
        };
        fields.finish(|| {
            Some(NewRequest {
                request_type: self.request_type,
                priority: self.priority,
                details: details?,
                timeout,
            })
        })
    }
}

/// `PATCH /stores/{storeId}/supervisor-requests/{requestId}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestEditBody {
    #[serde(default, deserialize_with = "crate::http::present")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "crate::http::present")]
    pub details: Option<String>,
    /// Alternative to `If-Match` for clients that cannot set headers.
    #[serde(default, deserialize_with = "crate::http::present")]
    pub version: Option<u64>,
}

impl RequestEditBody {
    pub fn validate(self) -> Result<(RequestEdit, Option<u64>), Invalid> {
        let details = match self.details {
            Some(raw) => Some(Details::parse("details", raw)?),
            None => None,
        };
        if self.priority.is_none() && details.is_none() {
            return Err(Invalid::field("body", "set priority, details, or both"));
        }
        Ok((
            RequestEdit {
                priority: self.priority,
                details,
            },
            self.version,
        ))
    }
}

/// `POST .../{requestId}/response` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResponseBody {
    pub decision: Decision,
    #[serde(default, deserialize_with = "crate::http::present")]
    pub note: Option<String>,
}

impl ResponseBody {
    pub fn validate(self) -> Result<(Decision, Option<Note>), Invalid> {
        let note = match self.note {
            Some(raw) => Some(Note::parse("note", raw)?),
            None => None,
        };
        Ok((self.decision, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn pending() -> SupervisorRequest {
        SupervisorRequest::new(
            StoreId::parse("s1").unwrap(),
            NewRequest {
                request_type: RequestType::Refund,
                priority: Priority::High,
                details: Details::parse("details", "receipt 42".into()).unwrap(),
                timeout: Some(Duration::minutes(5)),
            },
            "associate-1".into(),
            datetime!(2026-11-23 10:00:00.123456 UTC),
            Duration::minutes(10),
        )
    }

    #[test]
    fn new_requests_are_pending_with_millisecond_times_and_a_deadline() {
        let request = pending();
        assert_eq!(request.outcome, Outcome::Pending);
        assert_eq!(request.created_at, datetime!(2026-11-23 10:00:00.123 UTC));
        assert_eq!(request.deadline, datetime!(2026-11-23 10:05:00.123 UTC));
        assert_eq!(request.version, 1);
    }

    #[test]
    fn a_request_leaves_the_queue_once() {
        let request = pending();
        let now = datetime!(2026-11-23 10:01:00 UTC);
        let answered = request
            .respond(Decision::Approved, None, "sup".into(), now)
            .unwrap();
        assert_eq!(answered.status(), RequestStatus::NotPending);
        assert_eq!(answered.version, 2);
        assert!(
            answered
                .respond(Decision::Denied, None, "sup".into(), now)
                .is_err()
        );
        assert!(answered.time_out(datetime!(2026-11-24 0:00 UTC)).is_none());
        assert!(
            answered
                .edit(
                    &RequestEdit {
                        priority: Some(Priority::Low),
                        details: None
                    },
                    now
                )
                .is_err()
        );
    }

    #[test]
    fn time_out_waits_for_the_deadline() {
        let request = pending();
        assert!(
            request
                .time_out(datetime!(2026-11-23 10:05:00.122 UTC))
                .is_none()
        );
        let timed_out = request
            .time_out(datetime!(2026-11-23 10:05:00.123 UTC))
            .unwrap();
        assert_eq!(timed_out.outcome, Outcome::TimedOut);
    }

    #[test]
    fn text_rejects_blank_long_and_control_characters() {
        assert!(Details::parse("d", "  ".into()).is_err());
        assert!(Details::parse("d", "x".repeat(1001)).is_err());
        assert!(Details::parse("d", "a\u{0}b".into()).is_err());
        assert!(Details::parse("d", "line 1\nline 2".into()).is_ok());
    }
}
