//! Identifiers, parsed at the edge so the rest of the code cannot hold an invalid one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::ApiError;

/// A store's id: 1–64 ASCII letters, digits, `-` or `_`.
///
/// The character set keeps ids safe inside sort keys (no `#`) and URLs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreId(String);

impl StoreId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::bad_request(
                "invalid_store_id",
                "storeId must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StoreId {
    type Error = ApiError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<StoreId> for String {
    fn from(value: StoreId) -> Self {
        value.0
    }
}

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A supervisor request's id: a ULID, so ids are fixed-width, sortable and unguessable enough
/// not to enumerate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(Ulid);

impl RequestId {
    pub fn generate() -> Self {
        Self(Ulid::new())
    }

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        // Only the canonical upper-case form: one id, one spelling, one sort key.
        if raw.len() == ulid::ULID_LEN
            && raw.bytes().all(|b| !b.is_ascii_lowercase())
            && let Ok(ulid) = Ulid::from_str(raw)
        {
            return Ok(Self(ulid));
        }
        Err(ApiError::bad_request(
            "invalid_request_id",
            "requestId must be a 26-character ULID",
        ))
    }

    /// Spreads pending requests over the sweeper's index partitions.
    pub fn shard(&self, shards: u8) -> u8 {
        (self.0.random() % u128::from(shards)) as u8
    }
}

impl TryFrom<String> for RequestId {
    type Error = ApiError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RequestId> for String {
    fn from(value: RequestId) -> Self {
        value.0.to_string()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_ids_reject_separators_and_bad_lengths() {
        assert!(StoreId::parse("store-1_A").is_ok());
        for bad in ["", "a#b", "a/b", "a b", &"x".repeat(65), "é"] {
            assert!(StoreId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn request_ids_round_trip_and_reject_other_spellings() {
        let id = RequestId::generate();
        assert_eq!(RequestId::parse(&id.to_string()).unwrap(), id);
        assert!(RequestId::parse(&id.to_string().to_lowercase()).is_err());
        assert!(RequestId::parse("not-a-ulid").is_err());
        assert!(RequestId::parse("").is_err());
    }
}
