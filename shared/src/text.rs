//! Bounded free text, validated once at the edge.

use serde::Serialize;

use crate::validation::FieldError;

/// Free text bounded in length, not blank, without control characters other than newlines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(field: &str, raw: String) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, "must not be blank"));
        }
        if raw.chars().count() > MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {MAX} characters"),
            ));
        }
        if raw.chars().any(|c| c.is_control() && c != '\n') {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
