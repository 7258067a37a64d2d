//! Sealed pagination cursors.
//!
//! A cursor is the position of the next page, encrypted and authenticated (AES-256-GCM) with
//! a key from configuration. The query it belongs to (store, filters, caller) is bound in as
//! associated data, so a cursor that is forged, altered, expired, or replayed against another
//! store, filter or caller fails to open, and a client learns nothing from its bytes.

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long a cursor stays valid.
pub const CURSOR_LIFETIME_SECONDS: i64 = 24 * 60 * 60;
/// Shortest secret accepted from configuration.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest cursor accepted: a bound on work done for a hostile one.
const MAX_CURSOR_CHARS: usize = 2048;

pub struct CursorKey(RandomizedNonceKey);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// Issued at, Unix seconds.
    iat: i64,
    pos: T,
}

/// A cursor that does not open: forged, altered, expired, or from another query. Bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is invalid or expired")]
pub struct InvalidCursor;

impl CursorKey {
    /// Derives the AES key from a configured secret of at least [`MIN_SECRET_BYTES`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "cursor secret must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        let mut context = digest::Context::new(&digest::SHA256);
        context.update(b"store-services/cursor/v1\0");
        context.update(secret);
        let key = context.finish();
        RandomizedNonceKey::new(&AES_256_GCM, key.as_ref())
            .map(Self)
            .map_err(|_| "cannot build cursor key".to_owned())
    }

    pub fn seal<T: Serialize>(&self, binding: &str, position: &T, now: OffsetDateTime) -> String {
        let envelope = Envelope {
            iat: now.unix_timestamp(),
            pos: position,
        };
        let mut data = serde_json::to_vec(&envelope).expect("cursor positions serialize");
        let nonce = self
            .0
            .seal_in_place_append_tag(Aad::from(binding.as_bytes()), &mut data)
            .expect("AES-GCM sealing does not fail for small inputs");
        let mut token = nonce.as_ref().to_vec();
        token.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(token)
    }

    pub fn open<T: DeserializeOwned>(
        &self,
        binding: &str,
        cursor: &str,
        now: OffsetDateTime,
    ) -> Result<T, InvalidCursor> {
        if cursor.len() > MAX_CURSOR_CHARS {
            return Err(InvalidCursor);
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| InvalidCursor)?;
        if bytes.len() < NONCE_LEN {
            return Err(InvalidCursor);
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| InvalidCursor)?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(binding.as_bytes()), &mut sealed)
            .map_err(|_| InvalidCursor)?;
        let envelope: Envelope<T> = serde_json::from_slice(plain).map_err(|_| InvalidCursor)?;
        let age = now.unix_timestamp() - envelope.iat;
        if !(0..=CURSOR_LIFETIME_SECONDS).contains(&age) {
            return Err(InvalidCursor);
        }
        Ok(envelope.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

    fn key(secret: &[u8]) -> CursorKey {
        CursorKey::from_secret(secret).unwrap()
    }

    #[test]
    fn a_cursor_opens_only_with_its_key_binding_and_lifetime() {
        let k = key(&[7; 32]);
        let cursor = k.seal("store-a|PENDING", &"PENDING#1#x".to_owned(), NOW);
        let opened: String = k.open("store-a|PENDING", &cursor, NOW).unwrap();
        assert_eq!(opened, "PENDING#1#x");
        assert!(!cursor.contains("PENDING"), "cursor reveals its position");

        assert!(k.open::<String>("store-b|PENDING", &cursor, NOW).is_err());
        assert!(
            key(&[8; 32])
                .open::<String>("store-a|PENDING", &cursor, NOW)
                .is_err()
        );
        let later = NOW + Duration::seconds(CURSOR_LIFETIME_SECONDS + 1);
        assert!(k.open::<String>("store-a|PENDING", &cursor, later).is_err());
    }

    #[test]
    fn any_altered_byte_is_rejected() {
        let k = key(&[7; 32]);
        let cursor = k.seal("b", &42u32, NOW);
        let bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 1;
            let altered = URL_SAFE_NO_PAD.encode(altered);
            assert!(k.open::<u32>("b", &altered, NOW).is_err(), "byte {i}");
        }
        for garbage in ["", "abc", "!!!!", &"A".repeat(5000)] {
            assert!(k.open::<u32>("b", garbage, NOW).is_err());
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(CursorKey::from_secret(&[1; 31]).is_err());
    }
}
