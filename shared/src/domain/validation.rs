//! What the domain says when a value breaks its rules, in its own words. Only
//! [`crate::edge::error`] turns these into a status and a body.

use serde::Serialize;

/// One field that broke a rule: its name as the client spelled it, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A body that broke the rules: every field that did, so one answer names them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.0))]
pub struct Invalid(pub Vec<FieldError>);

fn describe(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Invalid {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }
}

impl From<FieldError> for Invalid {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

/// Collects the field errors of a body, so validation goes on past the first one.
#[derive(Debug, Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// The value, or `None` with its error kept.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `value` when no field failed, else every failure.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Invalid> {
        match (self.0.is_empty(), value()) {
            (true, Some(value)) => Ok(value),
            _ => Err(Invalid(self.0)),
        }
    }
}

/// Which identifier was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Store,
    Request,
    MasterItem,
    Item,
}

/// An identifier that is not of its kind's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.rule())]
pub struct InvalidId(pub IdKind);

impl IdKind {
    /// The shape an id of this kind has, as a client reads it.
    pub fn rule(self) -> &'static str {
        match self {
            Self::Store => "storeId must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
            Self::Request => "requestId must be a 26-character ULID",
            Self::MasterItem => "masterItemId must be a 26-character ULID",
            Self::Item => "itemId must be a master item's ULID, '-', and a ULID (53 characters)",
        }
    }
}
