//! What a change of a request tells those listening: a small JSON message with a type and the
//! request as the API shows it.

use serde::Serialize;

use crate::domain::supervisor_request::{Outcome, RequestView, SupervisorRequest};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MessageType {
    #[serde(rename = "request.created")]
    Created,
    #[serde(rename = "request.updated")]
    Updated,
    #[serde(rename = "request.answered")]
    Answered,
    #[serde(rename = "request.timed_out")]
    TimedOut,
    /// Withdrawn by its creator or discarded by a supervisor: gone from the queue.
    #[serde(rename = "request.withdrawn")]
    Withdrawn,
}

impl MessageType {
    /// The change from `old` to `new` (`None`: not there), if it is one to tell.
    pub fn of_change(
        old: Option<&SupervisorRequest>,
        new: Option<&SupervisorRequest>,
    ) -> Option<Self> {
        match (old, new) {
            (None, Some(_)) => Some(Self::Created),
            (Some(_), None) => Some(Self::Withdrawn),
            (Some(old), Some(new)) if old == new => None,
            (Some(old), Some(new)) => Some(match (&old.outcome, &new.outcome) {
                (Outcome::Pending, Outcome::Answered(_)) => Self::Answered,
                (Outcome::Pending, Outcome::TimedOut) => Self::TimedOut,
                _ => Self::Updated,
            }),
            (None, None) => None,
        }
    }
}

#[derive(Serialize)]
pub struct Message<'a> {
    #[serde(rename = "type")]
    pub message_type: MessageType,
    pub request: RequestView<'a>,
}

impl<'a> Message<'a> {
    pub fn new(message_type: MessageType, request: &'a SupervisorRequest) -> Self {
        Self {
            message_type,
            request: request.view(),
        }
    }
}
