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

/// `2026-12-02T03:24:57.400Z`: RFC 3339 in UTC with exactly three fractional digits, so that
/// clients comparing timestamps as strings compare them as instants.
pub fn format_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Serializes an instant with [`format_millis`]: `#[serde(serialize_with = "...")]`.
pub fn serialize_millis<S: serde::Serializer>(
    at: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_millis(*at))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn always_three_fractional_digits_in_utc() {
        assert_eq!(
            super::format_millis(datetime!(2026-12-02 03:24:57.4 UTC)),
            "2026-12-02T03:24:57.400Z"
        );
        assert_eq!(
            super::format_millis(datetime!(2026-12-02 03:24:57 UTC)),
            "2026-12-02T03:24:57.000Z"
        );
        assert_eq!(
            super::format_millis(datetime!(2026-12-02 05:24:57.123456 +02:00)),
            "2026-12-02T03:24:57.123Z"
        );
    }
}
