//! Who is calling, as the authorizer established it, and what each role may do.
//!
//! The API Gateway Lambda authorizer puts `sub`, `role` and `stores` (comma-separated store
//! ids) into the request context; the Lambda adapter reads them back with
//! [`Principal::from_context`] (a long-running server verifies the token itself). Handlers
//! take the caller from the request ([`crate::edge::http::ApiRequest::principal`]) and check every
//! path `storeId` against it: defence in depth, the path alone is never trusted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::audit::{Actor, ActorRole};
use crate::domain::ids::StoreId;
use crate::domain::supervisor_request::SupervisorRequest;

/// Ordered by what a role may do: when a token maps to several, the highest counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Associate,
    Supervisor,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "associate" => Some(Self::Associate),
            "supervisor" => Some(Self::Supervisor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Associate => "associate",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }
}

/// Everything a caller can do, named by what it does to the store's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    CreateRequest,
    ReadRequests,
    EditRequest,
    RespondToRequest,
    /// Withdraw one's own pending request, or (supervisors) discard another's.
    DeleteRequest,
    /// A store's whole audit trail.
    ReadStoreEvents,
    /// Reports on the store's queue, and its history as a whole.
    ReadReports,
    /// Master items, items, the preferred item and the weights.
    ReadCatalog,
    /// Creating, editing and deleting master data and items; pins; weights.
    ManageCatalog,
}

impl Action {
    /// The permission table, in one place.
    pub fn allowed_for(self, role: Role) -> bool {
        use Role::*;
        match self {
            // Associates raise requests, follow them, correct and withdraw them while
            // pending (their own: `may_edit`, `may_remove`).
            Self::CreateRequest | Self::ReadRequests | Self::EditRequest | Self::DeleteRequest => {
                true
            }
            Self::RespondToRequest => matches!(role, Supervisor | Admin),
            Self::ReadStoreEvents => role == Admin,
            Self::ReadReports => matches!(role, Supervisor | Admin),
            Self::ReadCatalog => true,
            Self::ManageCatalog => role == Admin,
        }
    }
}

/// Why the permission table says no, in its own words; the edge maps each to 403 once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotPermitted {
    OtherStore,
    Role,
    EditOthersRequest,
    RemoveOthersRequest,
    /// Separation of duties: its own code (`own_request`), since the role alone allows it.
    AnswerOwnRequest,
}

impl NotPermitted {
    /// What the caller is told.
    pub fn message(self) -> &'static str {
        match self {
            Self::OtherStore => "not permitted for this store",
            Self::Role => "your role does not permit this operation",
            Self::EditOthersRequest => "associates may edit only the requests they raised",
            Self::RemoveOthersRequest => "associates may withdraw only the requests they raised",
            Self::AnswerOwnRequest => {
                "nobody may answer a request they raised; another supervisor must"
            }
        }
    }
}

impl std::fmt::Display for NotPermitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for NotPermitted {}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    pub stores: Vec<StoreId>,
}

/// Context keys the authorizer sets and handlers read.
pub mod context_keys {
    pub const SUBJECT: &str = "sub";
    pub const ROLE: &str = "role";
    pub const STORES: &str = "stores";
}

impl Principal {
    /// Reads the authorizer's context back: `None` when it is missing or malformed (the
    /// handler then answers 403: a route reached without the authorizer is a deployment
    /// mistake, and must fail closed).
    pub fn from_context(fields: &std::collections::HashMap<String, Value>) -> Option<Self> {
        let text = |key: &str| match fields.get(key) {
            Some(Value::String(value)) if !value.is_empty() => Some(value.as_str()),
            _ => None,
        };
        let subject = text(context_keys::SUBJECT)?.to_owned();
        let role = text(context_keys::ROLE).and_then(Role::parse)?;
        let stores = text(context_keys::STORES)?
            .split(',')
            .map(StoreId::parse)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(Self {
            subject,
            role,
            stores,
        })
    }

    /// Associates correct only the requests they raised; supervisors and admins any of
    /// their store's.
    pub fn may_edit(&self, request: &SupervisorRequest) -> Result<(), NotPermitted> {
        if self.role == Role::Associate && request.requested_by != self.subject {
            return Err(NotPermitted::EditOthersRequest);
        }
        Ok(())
    }

    /// Separation of duties: nobody answers a request they raised, whatever their role.
    pub fn may_answer(&self, request: &SupervisorRequest) -> Result<(), NotPermitted> {
        if request.requested_by == self.subject {
            return Err(NotPermitted::AnswerOwnRequest);
        }
        Ok(())
    }

    /// Its creator withdraws a pending request; supervisors and admins may also discard
    /// anyone's. Associates may not remove someone else's.
    pub fn may_remove(&self, request: &SupervisorRequest) -> Result<(), NotPermitted> {
        if self.role == Role::Associate && request.requested_by != self.subject {
            return Err(NotPermitted::RemoveOthersRequest);
        }
        Ok(())
    }

    /// Whether a change of `request` is news for this principal: supervisors and admins of
    /// its store follow the whole queue; an associate, the requests they raised.
    pub fn follows(&self, request: &SupervisorRequest) -> bool {
        self.stores.contains(&request.store_id)
            && (self.role != Role::Associate || request.requested_by == self.subject)
    }

    /// Allows `action` on `store`, or says why not.
    pub fn authorize(&self, store: &StoreId, action: Action) -> Result<(), NotPermitted> {
        if !self.stores.contains(store) {
            return Err(NotPermitted::OtherStore);
        }
        if !action.allowed_for(self.role) {
            return Err(NotPermitted::Role);
        }
        Ok(())
    }
}

impl Principal {
    /// The authorizer's context for API Gateway: what [`Principal::from_context`] reads back.
    pub fn to_context(&self) -> serde_json::Map<String, Value> {
        let stores = self
            .stores
            .iter()
            .map(StoreId::as_str)
            .collect::<Vec<_>>()
            .join(",");
        serde_json::Map::from_iter([
            (
                context_keys::SUBJECT.to_owned(),
                Value::from(self.subject.clone()),
            ),
            (
                context_keys::ROLE.to_owned(),
                Value::from(self.role.as_str()),
            ),
            (context_keys::STORES.to_owned(), Value::from(stores)),
        ])
    }
}

impl From<&Principal> for Actor {
    fn from(principal: &Principal) -> Self {
        Self {
            subject: principal.subject.clone(),
            role: match principal.role {
                Role::Associate => ActorRole::Associate,
                Role::Supervisor => ActorRole::Supervisor,
                Role::Admin => ActorRole::Admin,
            },
        }
    }
}
