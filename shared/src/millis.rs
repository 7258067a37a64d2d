//! Instants as both tables store them: whole milliseconds since the Unix epoch.

use time::OffsetDateTime;

/// Truncates to milliseconds, the precision the tables keep (and the request sort key
/// spells), so a record read back equals the one written.
pub fn to_millis_precision(at: OffsetDateTime) -> OffsetDateTime {
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000).expect("in range")
}

pub fn unix_millis(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}
