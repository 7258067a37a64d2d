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

/// Declares an id newtype over a ULID: fixed-width, sortable by creation time, parsed only
/// from its canonical upper-case form (one id, one spelling, one key).
macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $code:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            pub fn generate() -> Self {
                Self(Ulid::new())
            }

            pub fn parse(raw: &str) -> Result<Self, ApiError> {
                if raw.len() == ulid::ULID_LEN
                    && raw.bytes().all(|b| !b.is_ascii_lowercase())
                    && let Ok(ulid) = Ulid::from_str(raw)
                {
                    return Ok(Self(ulid));
                }
                Err(ApiError::bad_request(
                    $code,
                    concat!($field, " must be a 26-character ULID"),
                ))
            }

            /// Spreads ids over `shards` partitions.
            pub fn shard(&self, shards: u8) -> u8 {
                (self.0.random() % u128::from(shards)) as u8
            }
        }

        impl TryFrom<String> for $name {
            type Error = ApiError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0.to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

ulid_id!(
    /// A supervisor request's id.
    RequestId,
    "requestId",
    "invalid_request_id"
);
ulid_id!(
    /// A master item's id: one product of the store's catalogue.
    MasterItemId,
    "masterItemId",
    "invalid_master_item_id"
);
ulid_id!(
    /// A vendor item's id: one candidate for a master item.
    ItemId,
    "itemId",
    "invalid_item_id"
);

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
