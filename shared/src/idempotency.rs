//! Safe retries of creates: the `Idempotency-Key` protocol in one place.
//!
//! A create sent with a key stores, in the same transaction as what it creates, a record of
//! the key, a fingerprint of the caller and the body, and the answer it gave. A retry finds
//! the record ([`next_action`]): the same fingerprint replays the first answer; another one
//! is refused. A record lives for [`WINDOW`]; DynamoDB's TTL removes it only eventually, so a
//! record past its window counts as none ([`IdempotencyRecord::is_live`], and the create's
//! condition in the store).

use time::{Duration, OffsetDateTime};

use crate::validation::Invalid;

/// The header's name, lower-case as HTTP/2 and API Gateway deliver it.
pub const HEADER: &str = "idempotency-key";
/// How long a key protects against duplicates.
pub const WINDOW: Duration = Duration::hours(24);
const MAX_KEY_LEN: usize = 128;

/// A client's `Idempotency-Key`: 1–128 printable ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// The header was sent but is not a usable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1-128 printable ASCII characters")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, InvalidIdempotencyKey> {
        if !raw.is_empty() && raw.len() <= MAX_KEY_LEN && raw.bytes().all(|b| b.is_ascii_graphic())
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two creates "the same request": the same caller sending the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(subject: &str, body: &[u8]) -> Self {
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(subject.as_bytes());
        context.update(&[0]);
        context.update(body);
        Self(
            context
                .finish()
                .as_ref()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }

    /// A fingerprint read back from the table.
    pub(crate) fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
        Some(first) if first.fingerprint == *ours => Ok(NextAction::Replay(first)),
        Some(_) => Err(Invalid::field(
            "Idempotency-Key",
            "already used with a different request",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record(subject: &str, body: &[u8]) -> IdempotencyRecord {
        IdempotencyRecord::new(
            IdempotencyKey::parse("k-1").unwrap(),
            Fingerprint::of(subject, body),
            "/stores/s/supervisor-requests/x".into(),
            "{}".into(),
            datetime!(2026-12-01 10:00 UTC),
        )
    }

    #[test]
    fn keys_are_printable_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(128)).is_ok());
    }

    #[test]
    fn the_same_caller_and_body_replay_anything_else_is_refused() {
        let first = record("alice", b"{\"a\":1}");
        let same = Fingerprint::of("alice", b"{\"a\":1}");
        assert_eq!(
            next_action(&same, Some(first.clone())),
            Ok(NextAction::Replay(first.clone()))
        );
        assert!(next_action(&Fingerprint::of("bob", b"{\"a\":1}"), Some(first.clone())).is_err());
        assert!(next_action(&Fingerprint::of("alice", b"{\"a\":2}"), Some(first)).is_err());
        assert_eq!(next_action(&same, None), Ok(NextAction::Retry));
    }

    #[test]
    fn a_record_lives_for_its_window_in_whole_seconds() {
        let first = record("alice", b"{}");
        assert!(first.is_live(datetime!(2026-12-02 10:00:00.999 UTC)));
        assert!(!first.is_live(datetime!(2026-12-02 10:00:01 UTC)));
    }
}
