//! Supervisor requests: the domain types and the rules of their life cycle.
//!
//! A request is created `PENDING_RESPONSE`, may be edited while pending, and leaves the queue
//! exactly once: answered (`RESPONSE_RECEIVED`) or timed out (`TIMEOUT`). Every change bumps
//! `version`, which is what optimistic concurrency and the store's transactions check.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::domain::audit::{Actor, EventType, RequestEvent};
use crate::domain::body::{Field, Kind, Shape};
use crate::domain::ids::{RequestId, StoreId};
use crate::domain::millis::to_millis_precision;
pub use crate::domain::text::Text;
use crate::domain::validation::{FieldError, Fields, Invalid};

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
    /// The deadline has passed: no answer or edit is accepted any more.
    #[error("the request's deadline has passed: it timed out")]
    TimedOut,
    /// Answered and timed-out requests are history, kept for the audit; never deleted.
    #[error("the request is {}: answered and timed-out requests are history and are kept", .0.as_str())]
    IsHistory(RequestStatusCode),
}

/// A change of a request and its audit event: the store writes both in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The request after the change; `None` when it is removed (withdrawn or discarded).
    pub after: Option<SupervisorRequest>,
    pub event: RequestEvent,
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

    /// Whether the deadline has passed at `now`: from then on it is timed out, moved or not.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.is_pending() && self.deadline <= now
    }

    /// Open to edits and answers: pending, and before its deadline.
    fn require_open(&self, now: OffsetDateTime) -> Result<(), Refusal> {
        if !self.is_pending() {
            Err(Refusal::NotPending(self.status_code()))
        } else if self.is_expired_at(now) {
            Err(Refusal::TimedOut)
        } else {
            Ok(())
        }
    }

    fn transition(
        &self,
        event_type: EventType,
        after: Option<Self>,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Transition {
        let event = RequestEvent::of(
            event_type,
            Some(self),
            after.as_ref(),
            actor,
            to_millis_precision(now),
        );
        Transition { after, event }
    }

    /// The request as a client must see it at `now`: past its deadline it is timed out,
    /// whether or not the sweeper has moved it yet (no response shows it pending).
    pub fn as_seen_at(&self, now: OffsetDateTime) -> Self {
        if self.is_expired_at(now) {
            Self {
                outcome: Outcome::TimedOut,
                updated_at: self.deadline.max(self.updated_at),
                ..self.clone()
            }
        } else {
            self.clone()
        }
    }

    fn next_version(&self, now: OffsetDateTime) -> Self {
        Self {
            version: self.version + 1,
            updated_at: to_millis_precision(now).max(self.updated_at),
            ..self.clone()
        }
    }

    /// Edits a pending request before its deadline.
    pub fn edit(
        &self,
        edit: &RequestEdit,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<Transition, Refusal> {
        self.require_open(now)?;
        let mut next = self.next_version(now);
        if let Some(priority) = edit.priority {
            next.priority = priority;
        }
        if let Some(details) = &edit.details {
            next.details = details.clone();
        }
        Ok(self.transition(EventType::Edited, Some(next), actor, now))
    }

    /// Answers a pending request before its deadline.
    pub fn respond(
        &self,
        decision: Decision,
        note: Option<Note>,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Result<Transition, Refusal> {
        self.require_open(now)?;
        let mut next = self.next_version(now);
        next.outcome = Outcome::Answered(SupervisorResponse {
            decision,
            responded_by: actor.subject.clone(),
            responded_at: next.updated_at,
            note,
        });
        Ok(self.transition(EventType::Answered, Some(next), actor, now))
    }

    /// Times out a pending request whose deadline has passed, or says it should not. It
    /// timed out at its deadline, whenever the move is made.
    pub fn time_out(&self, now: OffsetDateTime) -> Option<Transition> {
        if !self.is_expired_at(now) {
            return None;
        }
        let mut next = self.next_version(self.deadline);
        next.outcome = Outcome::TimedOut;
        Some(self.transition(EventType::TimedOut, Some(next), Actor::deadline(), now))
    }

    /// Removes a pending request: its creator withdraws it, anyone else (a supervisor)
    /// discards it. History is never removed.
    pub fn withdraw(&self, actor: Actor, now: OffsetDateTime) -> Result<Transition, Refusal> {
        if !self.is_pending() {
            return Err(Refusal::IsHistory(self.status_code()));
        }
        if self.is_expired_at(now) {
            return Err(Refusal::TimedOut);
        }
        let event_type = if actor.subject == self.requested_by {
            EventType::Withdrawn
        } else {
            EventType::Discarded
        };
        Ok(self.transition(event_type, None, actor, now))
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
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub deadline: OffsetDateTime,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
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
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub responded_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}

const PRIORITIES: fn() -> Vec<&'static str> = || Priority::ALL.map(Priority::as_str).to_vec();
const VERSION: Kind = Kind::Count("(the version you read), e.g. 3", 0, u64::MAX);

impl Shape for NewRequestBody {
    const FIELDS: &'static [Field] = &[
        Field::required(
            "requestType",
            Kind::OneOf(|| RequestType::ALL.map(RequestType::as_str).to_vec()),
        ),
        Field::optional("priority", Kind::OneOf(PRIORITIES)),
        Field::required("details", Kind::Text(Details::MAX)),
        Field::optional(
            "timeoutSeconds",
            Kind::Count(
                "of seconds, e.g. 900",
                MIN_TIMEOUT_SECONDS as u64,
                MAX_TIMEOUT_SECONDS as u64,
            ),
        ),
    ];
}

impl Shape for RequestEditBody {
    const FIELDS: &'static [Field] = &[
        Field::optional("priority", Kind::OneOf(PRIORITIES)),
        Field::optional("details", Kind::Text(Details::MAX)),
        Field::optional("version", VERSION),
    ];
}

impl Shape for ResponseBody {
    const FIELDS: &'static [Field] = &[
        Field::required(
            "decision",
            Kind::OneOf(|| Decision::ALL.map(Decision::as_str).to_vec()),
        ),
        Field::optional("note", Kind::Text(Note::MAX)),
    ];
}

/// `POST /stores/{storeId}/supervisor-requests` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewRequestBody {
    pub request_type: RequestType,
    #[serde(default)]
    pub priority: Priority,
    pub details: String,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
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
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "crate::domain::body::present")]
    pub details: Option<String>,
    /// Alternative to `If-Match` for clients that cannot set headers.
    #[serde(default, deserialize_with = "crate::domain::body::present")]
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
    #[serde(default, deserialize_with = "crate::domain::body::present")]
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

    fn supervisor() -> Actor {
        Actor {
            subject: "sup".into(),
            role: crate::domain::audit::ActorRole::Supervisor,
        }
    }

    const LOW: RequestEdit = RequestEdit {
        priority: Some(Priority::Low),
        details: None,
    };

    #[test]
    fn a_request_leaves_the_queue_once() {
        let request = pending();
        let now = datetime!(2026-11-23 10:01:00 UTC);
        let answered = request
            .respond(Decision::Approved, None, supervisor(), now)
            .unwrap();
        assert_eq!(answered.event.event_type, EventType::Answered);
        assert_eq!(answered.event.version, 2);
        assert_eq!(answered.event.decision, Some(Decision::Approved));
        let answered = answered.after.unwrap();
        assert_eq!(answered.status(), RequestStatus::NotPending);
        assert_eq!(answered.version, 2);
        assert!(
            answered
                .respond(Decision::Denied, None, supervisor(), now)
                .is_err()
        );
        assert!(answered.time_out(datetime!(2026-11-24 0:00 UTC)).is_none());
        assert!(answered.edit(&LOW, supervisor(), now).is_err());
        assert_eq!(
            answered.withdraw(supervisor(), now),
            Err(Refusal::IsHistory(RequestStatusCode::ResponseReceived))
        );
    }

    #[test]
    fn nothing_is_accepted_from_the_deadline_on() {
        let request = pending();
        let deadline = request.deadline;
        let before = deadline - Duration::milliseconds(1);
        assert!(request.edit(&LOW, supervisor(), before).is_ok());
        assert!(
            request
                .respond(Decision::Approved, None, supervisor(), before)
                .is_ok()
        );
        assert_eq!(request.as_seen_at(before), request);
        assert_eq!(
            request.edit(&LOW, supervisor(), deadline),
            Err(Refusal::TimedOut)
        );
        assert_eq!(
            request.respond(Decision::Approved, None, supervisor(), deadline),
            Err(Refusal::TimedOut)
        );
        assert_eq!(
            request.withdraw(supervisor(), deadline),
            Err(Refusal::TimedOut)
        );
        let seen = request.as_seen_at(deadline);
        assert_eq!(seen.outcome, Outcome::TimedOut);
        assert_eq!(seen.version, request.version);
    }

    #[test]
    fn a_withdrawal_by_the_creator_and_a_discard_by_anyone_else_are_recorded() {
        let request = pending();
        let now = datetime!(2026-11-23 10:01:00 UTC);
        let creator = Actor {
            subject: "associate-1".into(),
            role: crate::domain::audit::ActorRole::Associate,
        };
        let withdrawn = request.withdraw(creator, now).unwrap();
        assert_eq!(withdrawn.after, None);
        assert_eq!(withdrawn.event.event_type, EventType::Withdrawn);
        assert_eq!(withdrawn.event.version, 2);
        let discarded = request.withdraw(supervisor(), now).unwrap();
        assert_eq!(discarded.event.event_type, EventType::Discarded);
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
            .time_out(datetime!(2026-11-23 10:07:00 UTC))
            .unwrap();
        assert_eq!(timed_out.event.event_type, EventType::TimedOut);
        assert_eq!(timed_out.event.actor, Actor::deadline());
        let timed_out = timed_out.after.unwrap();
        assert_eq!(timed_out.outcome, Outcome::TimedOut);
        assert_eq!(timed_out.updated_at, request.deadline);
    }

    #[test]
    fn text_rejects_blank_long_and_control_characters() {
        assert!(Details::parse("d", "  ".into()).is_err());
        assert!(Details::parse("d", "x".repeat(1001)).is_err());
        assert!(Details::parse("d", "a\u{0}b".into()).is_err());
        assert!(Details::parse("d", "line 1\nline 2".into()).is_ok());
    }
}
