//! The audit trail of supervisor requests: one immutable event per change of a request,
//! written in the same transaction as the change (see [`crate::store::requests`]).
//!
//! An event says who (subject and role, or the deadline), what (each field before and after,
//! the decision and note), when, and the request's version after the change. Versions make
//! events unique: the put of an event is conditioned on its key not existing, so two writers
//! that raced for the same change can never both leave an event.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::domain::ids::{RequestId, StoreId};
use crate::domain::supervisor_request::{Decision, Note, Outcome, SupervisorRequest};

/// What happened to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Created,
    Edited,
    Answered,
    TimedOut,
    /// Its creator took it back while pending.
    Withdrawn,
    /// A supervisor or admin removed someone else's pending request.
    Discarded,
}

impl EventType {
    pub const ALL: [Self; 6] = [
        Self::Created,
        Self::Edited,
        Self::Answered,
        Self::TimedOut,
        Self::Withdrawn,
        Self::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Edited => "edited",
            Self::Answered => "answered",
            Self::TimedOut => "timed_out",
            Self::Withdrawn => "withdrawn",
            Self::Discarded => "discarded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

/// Who made a change: a caller in one of its roles, or the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorRole {
    Associate,
    Supervisor,
    Admin,
    /// The request's deadline passed (the sweeper, or a late answer that found it expired).
    System,
}

impl ActorRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Associate => "associate",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::System => "system",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Associate, Self::Supervisor, Self::Admin, Self::System]
            .into_iter()
            .find(|r| r.as_str() == raw)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub subject: String,
    pub role: ActorRole,
}

impl Actor {
    /// The deadline: what times a request out.
    pub fn deadline() -> Self {
        Self {
            subject: "deadline".into(),
            role: ActorRole::System,
        }
    }
}

/// One field before and after the change (`None`: absent on that side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestEvent {
    pub store_id: StoreId,
    pub request_id: RequestId,
    /// The request's version after the change (for a removal: one past its last).
    pub version: u64,
    pub event_type: EventType,
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub changes: Vec<FieldChange>,
    pub decision: Option<Decision>,
    pub note: Option<Note>,
}

/// The fields an event compares, as the API spells them.
fn fields(request: &SupervisorRequest) -> [(&'static str, String); 6] {
    [
        ("requestType", request.request_type.as_str().to_owned()),
        ("priority", request.priority.as_str().to_owned()),
        ("details", request.details.as_str().to_owned()),
        ("statusCode", request.status_code().as_str().to_owned()),
        ("requestedBy", request.requested_by.clone()),
        (
            "deadline",
            crate::domain::millis::format_millis(request.deadline),
        ),
    ]
}

impl RequestEvent {
    /// The event of a change from `before` (`None`: created) to `after` (`None`: removed).
    pub fn of(
        event_type: EventType,
        before: Option<&SupervisorRequest>,
        after: Option<&SupervisorRequest>,
        actor: Actor,
        at: OffsetDateTime,
    ) -> Self {
        let either = after.or(before).expect("a change has a before or an after");
        let old = before.map(fields);
        let new = after.map(fields);
        let changes = (0..6)
            .filter_map(|i| {
                let from = old.as_ref().map(|f| f[i].1.clone());
                let to = new.as_ref().map(|f| f[i].1.clone());
                (from != to).then(|| FieldChange {
                    field: either_field(old.as_ref(), new.as_ref(), i).to_owned(),
                    from,
                    to,
                })
            })
            .collect();
        let (decision, note) = match after.map(|a| &a.outcome) {
            Some(Outcome::Answered(response)) => (Some(response.decision), response.note.clone()),
            _ => (None, None),
        };
        Self {
            store_id: either.store_id.clone(),
            request_id: either.request_id,
            version: match after {
                Some(after) => after.version,
                None => either.version + 1,
            },
            event_type,
            at,
            actor,
            changes,
            decision,
            note,
        }
    }

    /// The JSON shape clients see.
    pub fn view(&self) -> EventView<'_> {
        EventView {
            store_id: &self.store_id,
            request_id: self.request_id,
            version: self.version,
            event_type: self.event_type,
            at: self.at,
            actor: &self.actor,
            changes: &self.changes,
            decision: self.decision,
            note: self.note.as_ref().map(Note::as_str),
        }
    }
}

fn either_field(
    old: Option<&[(&'static str, String); 6]>,
    new: Option<&[(&'static str, String); 6]>,
    i: usize,
) -> &'static str {
    old.or(new).map(|f| f[i].0).unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView<'a> {
    pub store_id: &'a StoreId,
    pub request_id: RequestId,
    pub version: u64,
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(serialize_with = "crate::domain::millis::serialize_millis")]
    pub at: OffsetDateTime,
    pub actor: &'a Actor,
    pub changes: &'a [FieldChange],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'a str>,
}
