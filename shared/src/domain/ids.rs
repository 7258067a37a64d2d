//! Identifiers, parsed at the edge so the rest of the code cannot hold an invalid one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::domain::validation::{IdKind, InvalidId};

/// A store's id: 1–64 ASCII letters, digits, `-` or `_`.
///
/// The character set keeps ids safe inside sort keys (no `#`) and URLs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoreId(String);

impl StoreId {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidId(IdKind::Store))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StoreId {
    type Error = InvalidId;
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

/// A ULID in its one canonical spelling: 26 characters, upper case.
fn canonical_ulid(raw: &str) -> Option<Ulid> {
    if raw.len() != ulid::ULID_LEN || raw.bytes().any(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Ulid::from_str(raw).ok()
}

/// Declares an id newtype over a ULID: fixed-width, sortable by creation time, parsed only
/// from its canonical upper-case form (one id, one spelling, one key).
macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            pub fn generate() -> Self {
                Self(Ulid::new())
            }

            pub fn parse(raw: &str) -> Result<Self, InvalidId> {
                canonical_ulid(raw).map(Self).ok_or(InvalidId($kind))
            }

            /// Spreads ids over `shards` partitions.
            pub fn shard(&self, shards: u8) -> u8 {
                (self.0.random() % u128::from(shards)) as u8
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
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
    IdKind::Request
);
ulid_id!(
    /// A master item's id: one product of the store's catalogue.
    MasterItemId,
    IdKind::MasterItem
);
/// A vendor item's id: its master item's id and its own ULID, `{masterItemId}-{ulid}`.
///
/// An item is stored under its master item (so that one Query reads every candidate), and
/// `/items/{itemId}` routes carry only this id: holding the master's id lets an edit or a
/// delete address the item's key directly, in one request, without first reading where it
/// lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemId {
    master: MasterItemId,
    own: Ulid,
}

impl ItemId {
    /// `26 + 1 + 26` characters.
    pub const LEN: usize = 2 * ulid::ULID_LEN + 1;

    pub fn generate(master: MasterItemId) -> Self {
        Self {
            master,
            own: Ulid::new(),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidId> {
        let invalid = || InvalidId(IdKind::Item);
        let (master, own) = raw.split_once('-').ok_or_else(invalid)?;
        let master = MasterItemId::parse(master).map_err(|_| invalid())?;
        let own = canonical_ulid(own).ok_or_else(invalid)?;
        Ok(Self { master, own })
    }

    /// The master item this item is a candidate of.
    pub fn master(&self) -> MasterItemId {
        self.master
    }

    /// The item's own part, unique under its master item.
    pub fn own(&self) -> Ulid {
        self.own
    }
}

impl TryFrom<String> for ItemId {
    type Error = InvalidId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ItemId> for String {
    fn from(value: ItemId) -> Self {
        value.to_string()
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.master, self.own)
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

    #[test]
    fn item_ids_carry_their_master_and_have_one_spelling() {
        let master = MasterItemId::generate();
        let id = ItemId::generate(master);
        let text = id.to_string();
        assert_eq!(text.len(), ItemId::LEN);
        assert_eq!(ItemId::parse(&text).unwrap(), id);
        assert_eq!(ItemId::parse(&text).unwrap().master(), master);
        let own = id.own().to_string();
        for bad in [
            text.to_lowercase(),
            own.clone(),                 // no master part
            format!("{master}{own}"),    // no separator
            format!("{master}-{own}-x"), // trailing part
            format!("{master}--{own}"),  // doubled separator
            format!("{master}-{}", &own[1..]),
            String::new(),
        ] {
            assert!(ItemId::parse(&bad).is_err(), "{bad:?} accepted");
        }
    }
}
