//! Bounded free text, validated once at the edge.

use serde::Serialize;

use crate::domain::validation::FieldError;

/// Free text bounded in length, not blank, without control characters other than newlines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

/// What is wrong with `raw` as text of at most `max` characters, if anything: the rule of
/// [`Text`], also checked with a body's shape so that one answer names every field.
pub fn text_problem(raw: &str, max: usize) -> Option<String> {
    if raw.trim().is_empty() {
        Some("must not be blank".into())
    } else if raw.chars().count() > max {
        Some(format!("must be at most {max} characters"))
    } else if raw.chars().any(|c| c.is_control() && c != '\n') {
        Some("must not contain control characters".into())
    } else {
        None
    }
}

impl<const MAX: usize> Text<MAX> {
    /// The most characters it holds.
    pub const MAX: usize = MAX;

    pub fn parse(field: &str, raw: String) -> Result<Self, FieldError> {
        match text_problem(&raw, MAX) {
            Some(problem) => Err(FieldError::new(field, problem)),
            None => Ok(Self(raw)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
