//! Safe retries of creates: the `Idempotency-Key` protocol in one place, for every create
//! (supervisor requests, master items, items).
//!
//! A key belongs to its caller: two callers may use the same key without meeting. A create
//! sent with a key stores, in the same transaction as what it creates, a record of the key,
//! a fingerprint of the caller and the body, and the answer it gave. A retry finds the record
//! ([`next_action`]): the same fingerprint replays the first answer; another one is refused.
//! The body is fingerprinted as parsed JSON ([`Fingerprint::of`]), so a client that
//! re-serialises the same body (whitespace, key order, `129.0` for `129`) still replays.
//! Records live in the table of what they create: master items and items share the
//! catalogue's, so one key serves one create of either kind (the scope of an item's
//! fingerprint, its master item, keeps the two from ever replaying each other).
//! [`create_once`] runs the whole exchange. A record lives for [`WINDOW`]; DynamoDB's TTL
//! removes it only eventually, so a record past its window counts as none
//! ([`IdempotencyRecord::is_live`], and the condition of [`put`]).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use time::{Duration, OffsetDateTime};

use crate::domain::ids::StoreId;
use crate::domain::validation::Invalid;
use crate::store::attributes::{FINGERPRINT, LOCATION, RESPONSE_BODY};
use crate::store::codec::{Attributes, MalformedItem, get_n, get_s, n, s};
use crate::store::keys;
use crate::store::keys::{EXPIRES_AT, idempotency_sort_key, key};
use crate::store::table::{StoreError, Table, backoff};

/// The header's name, lower-case as HTTP/2 and API Gateway deliver it.
pub const HEADER: &str = "idempotency-key";
/// How long a key protects against duplicates.
pub const WINDOW: Duration = Duration::hours(24);
const MAX_KEY_LEN: usize = 128;

/// A client's `Idempotency-Key` (1–128 printable ASCII characters), scoped to its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// A digest of the caller's subject: subjects may hold any character, sort keys not.
    caller: String,
    key: String,
}

/// The header was sent but is not a usable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1-128 printable ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    /// `raw` as `subject` sent it.
    pub fn parse(raw: &str, subject: &str) -> Result<Self, InvalidIdempotencyKey> {
        if !raw.is_empty() && raw.len() <= MAX_KEY_LEN && raw.bytes().all(|b| b.is_ascii_graphic())
        {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, subject.as_bytes());
            Ok(Self {
                caller: hex(&digest.as_ref()[..12]),
                key: raw.to_owned(),
            })
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    /// `{caller}#{key}`: unique per caller within a store.
    pub fn scoped(&self) -> String {
        format!("{}#{}", self.caller, self.key)
    }
}

/// Lower-case hex, two digits a byte, without a `String` per byte: every idempotent create
/// fingerprints its body (half the fingerprint's time went to `format!` per byte, perf).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// What makes two creates "the same request": the same caller sending the same JSON to the
/// same place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    digest: String,
    /// This create's fingerprint as records were written before bodies were compared as JSON
    /// (the raw bytes): such a record lives out its 24 h window, and a retry of its create
    /// must still replay it.
    raw: Option<String>,
}

impl Fingerprint {
    /// `subject`'s create of the JSON `body` under `scope` (what the path adds to the body,
    /// e.g. an item's master item; empty for nothing). The body is compared as JSON, not byte
    /// for byte: whitespace, key order and the spelling of numbers and strings do not count.
    pub fn of(subject: &str, scope: &str, body: &[u8]) -> Self {
        let digest = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => {
                let mut canonical = Vec::with_capacity(body.len());
                write_canonical(&value, &mut canonical);
                sha256_hex(&[
                    subject.as_bytes(),
                    b"\0json\0",
                    scope.as_bytes(),
                    b"\0",
                    &canonical,
                ])
            }
            // Handlers fingerprint parsed bodies only; bytes are what is left to compare.
            Err(_) => sha256_hex(&[
                subject.as_bytes(),
                b"\0bytes\0",
                scope.as_bytes(),
                b"\0",
                body,
            ]),
        };
        let raw = sha256_hex(&[subject.as_bytes(), b"\0", scope.as_bytes(), body]);
        Self {
            digest,
            raw: Some(raw),
        }
    }

    /// A fingerprint read back from the table.
    pub(crate) fn from_stored(hex: String) -> Self {
        Self {
            digest: hex,
            raw: None,
        }
    }

    /// What is stored.
    pub fn as_str(&self) -> &str {
        &self.digest
    }

    /// Whether a record written with `stored` was written by this same create.
    pub fn matches(&self, stored: &Fingerprint) -> bool {
        stored.digest == self.digest || self.raw.as_deref() == Some(stored.digest.as_str())
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    hex(context.finish().as_ref())
}

/// One spelling of a JSON value: keys sorted, no whitespace, strings as serde_json escapes
/// them, whole numbers without a fraction (`129.0` is `129`, as the body rules read it).
fn write_canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(&Value::String(key.clone()), out);
                out.push(b':');
                write_canonical(value, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Number(number) => match number.as_f64() {
            // Below 2^53 a whole f64 is exactly an integer.
            Some(float)
                if !number.is_i64()
                    && !number.is_u64()
                    && float.fract() == 0.0
                    && float.abs() < 9_007_199_254_740_992.0 =>
            {
                out.extend_from_slice((float as i64).to_string().as_bytes())
            }
            _ => out.extend_from_slice(number.to_string().as_bytes()),
        },
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// A key and what the first create with it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
    /// The `Location` of what the first create made.
    pub location: String,
    pub response_body: String,
    pub expires_at: OffsetDateTime,
}

impl IdempotencyRecord {
    pub fn new(
        key: IdempotencyKey,
        fingerprint: Fingerprint,
        location: String,
        response_body: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            key,
            fingerprint,
            location,
            response_body,
            expires_at: now + WINDOW,
        }
    }

    /// Whether the record still holds its key at `now`, in whole seconds as the create's
    /// condition compares.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at.unix_timestamp() >= now.unix_timestamp()
    }
}

/// What a create does when its key was taken.
#[derive(Debug, PartialEq, Eq)]
pub enum NextAction {
    /// The same request again: answer as the first did.
    Replay(IdempotencyRecord),
    /// A create with this key is in flight, or its record just expired: try again.
    Retry,
}

/// Decides from the record found under the key (`None`: none live).
pub fn next_action(
    ours: &Fingerprint,
    found: Option<IdempotencyRecord>,
) -> Result<NextAction, Invalid> {
    match found {
        None => Ok(NextAction::Retry),
        Some(first) if ours.matches(&first.fingerprint) => Ok(NextAction::Replay(first)),
        Some(_) => Err(Invalid::field(
            "Idempotency-Key",
            "already used with a different request",
        )),
    }
}

/// The put of `record` into `table`, for the create's transaction: it fails (and with it the
/// create) when the caller's key is taken by a record still in its window.
pub(crate) fn put(table: &Table, store: &StoreId, record: &IdempotencyRecord) -> TransactWriteItem {
    // A record past its window counts as none: DynamoDB's TTL deletes it only eventually
    // (often days later), and the key is free again once it expires.
    let now = record.expires_at - WINDOW;
    let put = Put::builder()
        .table_name(table.name())
        .set_item(Some(item(store, record)))
        .condition_expression(format!("{} OR #expiresAt < :now", keys::absent()))
        .expression_attribute_names("#expiresAt", keys::EXPIRES_AT)
        .expression_attribute_values(":now", n(now.unix_timestamp()))
        .build()
        .expect("table, item and condition are set");
    TransactWriteItem::builder().put(put).build()
}

/// The record an earlier create left under `key` in `table`, unless its window had passed at
/// `now` (whole seconds, as [`put`]'s condition compares).
pub(crate) async fn find(
    table: &Table,
    store: &StoreId,
    key: &IdempotencyKey,
    now: OffsetDateTime,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let item = table
        .get(store, keys::idempotency_sort_key(&key.scoped()))
        .await?;
    let record = item.map(|item| from_item(key, &item)).transpose()?;
    Ok(record.filter(|record| record.is_live(now)))
}

/// What came of a create under a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    /// This call created it.
    First,
    /// An earlier call did: answer as it did.
    Replay(IdempotencyRecord),
}

/// Why a create under a key did not happen.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError<E = StoreError> {
    /// The create itself failed: the store, or a refusal of the create's own.
    #[error(transparent)]
    Create(E),
    /// The key was used with another body.
    #[error(transparent)]
    Reused(#[from] Invalid),
    /// A create with this key is still in flight.
    #[error("a create with this Idempotency-Key is still in flight")]
    InFlight,
}

const ATTEMPTS: u32 = 5;

/// What a create fails with: the store's errors (of which it can tell a taken key), and any
/// refusal of its own (a catalogue rule, say).
pub trait CreateError: From<StoreError> {
    /// The key's record was there (its condition failed), or another transaction held it.
    fn key_taken(&self) -> bool;
}

impl CreateError for StoreError {
    fn key_taken(&self) -> bool {
        matches!(self, Self::ConditionFailed(_) | Self::TransactionConflict)
    }
}

/// A create that can be made idempotent: it writes the record it is given (if any) in the
/// same transaction as what it creates, failing with a taken key when the record exists,
/// and it reads records back from the same table.
pub trait IdempotentCreate {
    type Error: CreateError;

    fn create(
        &self,
        record: Option<&IdempotencyRecord>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    fn find(
        &self,
        key: &IdempotencyKey,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;
}

/// Runs the create with `record` until it lands, or the first answer under the key can be
/// replayed.
pub async fn create_once<C: IdempotentCreate>(
    record: &IdempotencyRecord,
    creator: &C,
) -> Result<Created, IdempotencyError<C::Error>> {
    for attempt in 1..=ATTEMPTS {
        match creator.create(Some(record)).await {
            Ok(()) => return Ok(Created::First),
            // The key is taken, or a create with it is in flight: answer as the first did.
            Err(error) if error.key_taken() => {
                let first = creator
                    .find(&record.key)
                    .await
                    .map_err(|error| IdempotencyError::Create(error.into()))?;
                match next_action(&record.fingerprint, first)? {
                    NextAction::Replay(first) => return Ok(Created::Replay(first)),
                    // An expired record reads as none: the next attempt replaces it.
                    NextAction::Retry => backoff(attempt).await,
                }
            }
            Err(other) => return Err(IdempotencyError::Create(other)),
        }
    }
    Err(IdempotencyError::InFlight)
}

// --- the record as an item (this is its one writer and reader) ---

/// An idempotency record with its key.
fn item(store: &StoreId, record: &IdempotencyRecord) -> Attributes {
    let mut item = attributes(record);
    item.extend(key(store, idempotency_sort_key(&record.key.scoped())));
    item
}

fn attributes(record: &IdempotencyRecord) -> Attributes {
    std::collections::HashMap::from([
        (FINGERPRINT.to_owned(), s(record.fingerprint.as_str())),
        (LOCATION.to_owned(), s(&record.location)),
        (RESPONSE_BODY.to_owned(), s(&record.response_body)),
        (EXPIRES_AT.to_owned(), n(record.expires_at.unix_timestamp())),
    ])
}

fn from_item(key: &IdempotencyKey, item: &Attributes) -> Result<IdempotencyRecord, MalformedItem> {
    let expires_at: i64 = get_n(item, EXPIRES_AT)?;
    Ok(IdempotencyRecord {
        key: key.clone(),
        fingerprint: Fingerprint::from_stored(get_s(item, FINGERPRINT)?.to_owned()),
        location: get_s(item, LOCATION)?.to_owned(),
        response_body: get_s(item, RESPONSE_BODY)?.to_owned(),
        expires_at: OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|_| MalformedItem(EXPIRES_AT))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    /// Stored fingerprints and caller digests are compared across releases: their text must
    /// not change (FIPS 180-2's "abc" vector, and a byte of each nibble).
    #[test]
    fn digests_are_lower_case_hex_two_digits_a_byte() {
        assert_eq!(
            sha256_hex(&[b"ab", b"c"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    fn record(subject: &str, body: &[u8]) -> IdempotencyRecord {
        IdempotencyRecord::new(
            IdempotencyKey::parse("k-1", subject).unwrap(),
            Fingerprint::of(subject, "", body),
            "/stores/s/supervisor-requests/x".into(),
            "{}".into(),
            datetime!(2026-12-01 10:00 UTC),
        )
    }

    #[test]
    fn keys_are_printable_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("", "alice").is_err());
        assert!(IdempotencyKey::parse("has space", "alice").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129), "alice").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(128), "alice").is_ok());
        // One key, two callers: two keys.
        assert_ne!(
            IdempotencyKey::parse("k", "alice").unwrap().scoped(),
            IdempotencyKey::parse("k", "bob").unwrap().scoped()
        );
    }

    #[test]
    fn the_same_caller_and_body_replay_anything_else_is_refused() {
        let first = record("alice", b"{\"a\":1}");
        let same = Fingerprint::of("alice", "", b"{\"a\":1}");
        assert_eq!(
            next_action(&same, Some(first.clone())),
            Ok(NextAction::Replay(first.clone()))
        );
        let other = |subject, body: &[u8]| Fingerprint::of(subject, "", body);
        assert!(next_action(&other("bob", b"{\"a\":1}"), Some(first.clone())).is_err());
        assert!(next_action(&other("alice", b"{\"a\":2}"), Some(first)).is_err());
        assert_eq!(next_action(&same, None), Ok(NextAction::Retry));
    }

    #[test]
    fn bodies_compare_as_json_not_bytes() {
        let of = |body: &str| Fingerprint::of("alice", "", body.as_bytes());
        let first = of(r#"{"vendor":"Valley Dairy","price":{"amount":129,"currency":"USD"}}"#);
        for same in [
            "{ \"price\" : { \"currency\": \"USD\", \"amount\": 129.0 },\n  \"vendor\": \"Valley Dairy\" }",
            r#"{"vendor":"Valley \u0044airy","price":{"amount":1.29e2,"currency":"USD"}}"#,
        ] {
            assert!(
                of(same).matches(&Fingerprint::from_stored(first.as_str().into())),
                "{same}"
            );
        }
        for different in [
            r#"{"vendor":"Valley Dairy","price":{"amount":130,"currency":"USD"}}"#,
            r#"{"vendor":"Valley Dairy","price":{"amount":129.5,"currency":"USD"}}"#,
            r#"{"vendor":"Valley Dairy","price":{"amount":"129","currency":"USD"}}"#,
            r#"{"vendor":"Valley Dairy","price":{"amount":129,"currency":"USD"},"status":"ACTIVE"}"#,
        ] {
            assert!(
                !of(different).matches(&Fingerprint::from_stored(first.as_str().into())),
                "{different}"
            );
        }
        // The scope (an item's master item) and the caller count.
        let body = br#"{"a":1}"#;
        let stored = |f: Fingerprint| Fingerprint::from_stored(f.as_str().into());
        assert!(
            !Fingerprint::of("alice", "M1", body)
                .matches(&stored(Fingerprint::of("alice", "M2", body)))
        );
        assert!(
            !Fingerprint::of("alice", "", body).matches(&stored(Fingerprint::of("bob", "", body)))
        );
    }

    #[test]
    fn a_record_written_from_the_raw_bytes_still_replays_the_same_bytes() {
        // How a record's fingerprint was computed before bodies were compared as JSON.
        let raw = |subject: &str, body: &[u8]| {
            Fingerprint::from_stored(sha256_hex(&[subject.as_bytes(), b"\0", body]))
        };
        let body = br#"{"requestType":"VOID","details":"x"}"#;
        assert!(Fingerprint::of("alice", "", body).matches(&raw("alice", body)));
        assert!(
            Fingerprint::of("alice", "M1", body)
                .matches(&raw("alice", &[b"M1".as_slice(), body].concat()))
        );
        assert!(
            !Fingerprint::of("alice", "", br#"{"details":"x","requestType":"VOID"}"#)
                .matches(&raw("alice", body))
        );
    }

    #[test]
    fn a_record_lives_for_its_window_in_whole_seconds() {
        let first = record("alice", b"{}");
        assert!(first.is_live(datetime!(2026-12-02 10:00:00.999 UTC)));
        assert!(!first.is_live(datetime!(2026-12-02 10:00:01 UTC)));
    }
}
