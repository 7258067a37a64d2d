//! Reports on a store's queue, computed from its audit events: how many requests were
//! created, approved, denied, timed out, withdrawn and discarded per day or hour of the
//! store's local time, how long answers took (exact percentiles), who answered, and when the
//! queue is busy. Pure: the store reads the events ([`crate::store::reports`]), this counts them.
//!
//! An outcome counts in the bucket where its event happened, so every count equals the
//! number of events of that type the events routes return for the same range. Time to
//! answer is the `answered` event's time minus the request's creation (its `created`
//! event, version 1). A request's priority and type are those it was raised with: the
//! `created` event records both, and the type never changes.

use std::collections::HashMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;
use serde::ser::SerializeMap;
use time::OffsetDateTime;

use crate::domain::audit::{EventType, RequestEvent};
use crate::domain::ids::{RequestId, StoreId};
use crate::domain::millis::unix_millis;
use crate::domain::supervisor_request::{Decision, Priority, RequestType};
use crate::domain::validation::FieldError;

/// The longest range a report covers, in days: a quarter. At 200 requests a day that is
/// about 40,000 events read, 2,237 read units, 0.8 s (BENCHMARKS.md, "Reports").
pub const MAX_DAYS: i64 = 92;

/// The longest range an hourly report covers: a month of hours, every one with its splits by
/// priority and type, is about 1.3 MB of JSON; 92 days would be 3.9 MB, and Lambda answers
/// at most 6 MB with the body escaped inside its own JSON (the test
/// `the_largest_report_stays_under_lambdas_six_megabytes`).
pub const MAX_HOURLY_DAYS: i64 = 31;

/// Days of a range per Query of its events ([`ReportQuery::spans`]): a 92-day report reads
/// eight sub-ranges at once (BENCHMARKS.md, "Reports").
pub const DAYS_PER_QUERY: usize = 12;

/// The size of a report's buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupBy {
    #[default]
    Day,
    Hour,
}

impl GroupBy {
    pub const ALL: [Self; 2] = [Self::Day, Self::Hour];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Hour => "hour",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == raw)
            .ok_or_else(|| FieldError::new("groupBy", "groupBy must be day or hour"))
    }
}

/// A store's time zone, by its IANA name. The tz database is bundled into the binary
/// (jiff's `tzdb-bundle-always`): Lambda's `provided.al2023` and the `FROM scratch` image
/// have no `/usr/share/zoneinfo`.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        // Names only: a fixed offset or a POSIX rule is not a store's zone.
        let plausible = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        let tz = plausible
            .then(|| TimeZone::get(raw).ok())
            .flatten()
            .ok_or_else(|| {
                FieldError::new(
                    "tz",
                    "tz must be an IANA time zone name, e.g. America/Denver",
                )
            })?;
        Ok(Self {
            name: raw.to_owned(),
            tz,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant local `date` begins: its midnight, or the first instant after a gap
    /// that swallows midnight.
    fn start_of(&self, date: Date) -> ZonedDateTime {
        date.to_zoned_datetime(self.tz.clone())
            .and_then(|midnight| midnight.start_of_day())
            .expect("dates of a valid range are far from the ends of time")
    }

    fn local(&self, millis: i64) -> jiff::civil::DateTime {
        self.tz
            .to_datetime(Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH))
    }
}

/// Local calendar dates, both inclusive, at most [`MAX_DAYS`] apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    from: Date,
    to: Date,
}

impl DateRange {
    pub fn new(from: Date, to: Date) -> Result<Self, FieldError> {
        if to < from {
            return Err(FieldError::new("to", "to must not be before from"));
        }
        let range = Self { from, to };
        if range.days() > MAX_DAYS {
            return Err(FieldError::new(
                "to",
                format!("a report covers at most {MAX_DAYS} days"),
            ));
        }
        Ok(range)
    }

    /// How many days it covers, both ends counted.
    pub fn days(&self) -> i64 {
        i64::from(
            self.from
                .until(self.to)
                .map(|span| span.get_days())
                .unwrap_or(i32::MAX),
        ) + 1
    }

    pub fn from(&self) -> Date {
        self.from
    }

    pub fn to(&self) -> Date {
        self.to
    }

    /// Every date of the range, in order.
    pub fn dates(&self) -> impl Iterator<Item = Date> + '_ {
        self.from
            .series(jiff::Span::new().days(1))
            .take_while(|d| *d <= self.to)
    }
}

/// The years a report may name: events are stored in Unix milliseconds (from 1970), and
/// the day after the last date must still be a date.
const YEARS: std::ops::RangeInclusive<i16> = 1970..=9998;

/// `YYYY-MM-DD`, a real date of [`YEARS`], and nothing else.
pub fn parse_date(name: &'static str, raw: &str) -> Result<Date, FieldError> {
    let bytes = raw.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    let number = |range: std::ops::Range<usize>| raw[range].parse::<i16>().ok();
    shaped
        .then(|| {
            let year = number(0..4).filter(|y| YEARS.contains(y))?;
            let month = i8::try_from(number(5..7)?).ok()?;
            let day = i8::try_from(number(8..10)?).ok()?;
            Date::new(year, month, day).ok()
        })
        .flatten()
        .ok_or_else(|| {
            FieldError::new(
                name,
                format!("{name} must be a date, YYYY-MM-DD, from 1970 to 9998"),
            )
        })
}

/// What a report is asked for, parsed.
#[derive(Clone, Debug)]
pub struct ReportQuery {
    pub range: DateRange,
    pub zone: Zone,
    pub group_by: GroupBy,
}

/// One bucket: `[start, end)` in Unix milliseconds, and both as local times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub start: i64,
    pub end: i64,
    pub start_local: String,
    pub end_local: String,
}

/// RFC 3339 with the local offset, e.g. `2026-11-01T00:00:00-06:00`.
fn rfc3339(at: &ZonedDateTime) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

impl ReportQuery {
    /// Parses the query parameters: `from` and `to` required, `tz` defaults to UTC,
    /// `groupBy` to day.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        group_by: Option<&str>,
    ) -> Result<Self, FieldError> {
        let required = |name: &'static str, raw: Option<&str>| {
            parse_date(
                name,
                raw.ok_or_else(|| {
                    FieldError::new(name, format!("{name} is required: a date, YYYY-MM-DD"))
                })?,
            )
        };
        let from = required("from", from)?;
        let to = required("to", to)?;
        let range = DateRange::new(from, to)?;
        let group_by = group_by
            .map(GroupBy::parse)
            .transpose()?
            .unwrap_or_default();
        if group_by == GroupBy::Hour && range.days() > MAX_HOURLY_DAYS {
            return Err(FieldError::new(
                "groupBy",
                format!(
                    "groupBy=hour covers at most {MAX_HOURLY_DAYS} days; use day for longer ranges"
                ),
            ));
        }
        Ok(Self {
            range,
            zone: tz.map(Zone::parse).transpose()?.unwrap_or_else(Zone::utc),
            group_by,
        })
    }

    /// The instants the range covers, `[start, end)`: local midnight of `from` to local
    /// midnight of the day after `to`.
    pub fn span(&self) -> (OffsetDateTime, OffsetDateTime) {
        let buckets = self.day_starts();
        let instant = |z: &ZonedDateTime| {
            OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(z.timestamp().as_millisecond()) * 1_000_000,
            )
            .expect("in range")
        };
        (
            instant(buckets.first().expect("a range has a day")),
            instant(buckets.last().expect("and its end")),
        )
    }

    /// The span cut at local midnights into sub-ranges of at most `days` days, `[start, end)`
    /// in Unix milliseconds: what the store queries concurrently.
    pub fn spans(&self, days: usize) -> Vec<(i64, i64)> {
        let starts: Vec<i64> = self
            .day_starts()
            .iter()
            .map(|z| z.timestamp().as_millisecond())
            .collect();
        let last = starts.len() - 1;
        let mut cuts: Vec<usize> = (0..last).step_by(days.max(1)).collect();
        cuts.push(last);
        cuts.windows(2)
            .map(|w| (starts[w[0]], starts[w[1]]))
            .collect()
    }

    /// The start of every day of the range and of the day after it.
    fn day_starts(&self) -> Vec<ZonedDateTime> {
        let after = self.range.to.tomorrow().expect("far from the end of time");
        self.range
            .dates()
            .chain([after])
            .map(|date| self.zone.start_of(date))
            .collect()
    }

    /// Every bucket of the range, in order. Hours are real hours from local midnight, so a
    /// day that springs forward has 23 and one that falls back 25 (the repeated local hour
    /// twice, with its two offsets).
    pub fn buckets(&self) -> Vec<Bucket> {
        let days = self.day_starts();
        let mut buckets = Vec::new();
        for pair in days.windows(2) {
            let (start, end) = (&pair[0], &pair[1]);
            match self.group_by {
                GroupBy::Day => buckets.push(Bucket {
                    start: start.timestamp().as_millisecond(),
                    end: end.timestamp().as_millisecond(),
                    start_local: rfc3339(start),
                    end_local: rfc3339(end),
                }),
                GroupBy::Hour => {
                    let mut at = start.clone();
                    while at.timestamp() < end.timestamp() {
                        // An hour, or less where an offset change is not a whole hour.
                        let next = at
                            .checked_add(jiff::SignedDuration::from_hours(1))
                            .expect("far from the end of time");
                        let next = if next.timestamp() > end.timestamp() {
                            end.clone()
                        } else {
                            next
                        };
                        buckets.push(Bucket {
                            start: at.timestamp().as_millisecond(),
                            end: next.timestamp().as_millisecond(),
                            start_local: rfc3339(&at),
                            end_local: rfc3339(&next),
                        });
                        at = next;
                    }
                }
            }
        }
        buckets
    }
}

/// What a report needs of a request: when it was raised, and as what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creation {
    pub at: i64,
    pub priority: Priority,
    pub request_type: RequestType,
}

impl Creation {
    /// From a request's `created` event, whose changes give every field from nothing.
    pub fn of(event: &RequestEvent) -> Option<Self> {
        if event.event_type != EventType::Created {
            return None;
        }
        let field = |name: &str| {
            event
                .changes
                .iter()
                .find(|change| change.field == name)
                .and_then(|change| change.to.as_deref())
        };
        let priority = field("priority")?;
        Some(Self {
            at: unix_millis(event.at),
            priority: Priority::ALL.into_iter().find(|p| p.as_str() == priority)?,
            request_type: RequestType::parse(field("requestType")?)?,
        })
    }
}

/// The creations `created` events record, by request.
pub fn creations(created: &[RequestEvent]) -> HashMap<RequestId, Creation> {
    created
        .iter()
        .filter_map(|event| Some((event.request_id, Creation::of(event)?)))
        .collect()
}

/// The requests whose outcome is among `events` but whose `created` event is not (raised
/// before the range): their creation must be read separately.
pub fn missing_creations(events: &[RequestEvent]) -> Vec<RequestId> {
    let created: std::collections::HashSet<RequestId> = events
        .iter()
        .filter(|e| e.event_type == EventType::Created)
        .map(|e| e.request_id)
        .collect();
    let mut missing: Vec<RequestId> = events
        .iter()
        .filter(|e| is_outcome(e.event_type) && !created.contains(&e.request_id))
        .map(|e| e.request_id)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

fn is_outcome(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::Answered | EventType::TimedOut | EventType::Withdrawn | EventType::Discarded
    )
}

/// The `p`-th percentile by nearest rank: the `ceil(p/100 · n)`-th smallest of `sorted`
/// (ascending), exact, one of the values themselves.
pub fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// Counts of one slice of the report (a bucket, a priority, a type).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Counter {
    created: u64,
    approved: u64,
    denied: u64,
    timed_out: u64,
    withdrawn: u64,
    discarded: u64,
    /// Milliseconds from creation to answer, of every answer counted here.
    answers: Vec<i64>,
}

impl Counter {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Answered(decision, time_to_answer) => {
                match decision {
                    Decision::Approved => self.approved += 1,
                    Decision::Denied => self.denied += 1,
                }
                self.answers.extend(time_to_answer);
            }
            Outcome::TimedOut => self.timed_out += 1,
            Outcome::Withdrawn => self.withdrawn += 1,
            Outcome::Discarded => self.discarded += 1,
        }
    }

    fn counts(mut self) -> Counts {
        self.answers.sort_unstable();
        Counts {
            created: self.created,
            approved: self.approved,
            denied: self.denied,
            timed_out: self.timed_out,
            withdrawn: self.withdrawn,
            discarded: self.discarded,
            time_to_answer_ms: Percentiles {
                count: self.answers.len(),
                p50: nearest_rank(&self.answers, 50),
                p90: nearest_rank(&self.answers, 90),
                max: self.answers.last().copied(),
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    Created,
    /// With the time to answer, when the request's creation is known.
    Answered(Decision, Option<i64>),
    TimedOut,
    Withdrawn,
    Discarded,
}

/// A slice with its splits by priority and by request type.
#[derive(Clone, Debug, Default)]
struct Tallier {
    all: Counter,
    by_priority: [Counter; 4],
    by_type: [Counter; 6],
}

impl Tallier {
    fn add(&mut self, outcome: Outcome, creation: Option<&Creation>) {
        self.all.add(outcome);
        // A request whose creation is unknown (its `created` event gone) counts in the
        // totals only.
        if let Some(creation) = creation {
            self.by_priority[usize::from(creation.priority.rank() - 1)].add(outcome);
            let index = RequestType::ALL
                .iter()
                .position(|t| *t == creation.request_type)
                .expect("every type is in ALL");
            self.by_type[index].add(outcome);
        }
    }

    fn tally(self) -> Tally {
        let by_priority = Priority::ALL
            .into_iter()
            .map(Priority::as_str)
            .zip(self.by_priority.into_iter().map(Counter::counts))
            .collect();
        let by_request_type = RequestType::ALL
            .into_iter()
            .map(RequestType::as_str)
            .zip(self.by_type.into_iter().map(Counter::counts))
            .collect();
        Tally {
            counts: self.all.counts(),
            by_priority: Keyed(by_priority),
            by_request_type: Keyed(by_request_type),
        }
    }
}

/// Exact time-to-answer statistics; `null` without answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub created: u64,
    pub approved: u64,
    pub denied: u64,
    pub timed_out: u64,
    pub withdrawn: u64,
    pub discarded: u64,
    pub time_to_answer_ms: Percentiles,
}

/// A JSON object whose keys come in the domain's order (priorities most urgent first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keyed(pub Vec<(&'static str, Counts)>);

impl Serialize for Keyed {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    #[serde(flatten)]
    pub counts: Counts,
    pub by_priority: Keyed,
    pub by_request_type: Keyed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BucketTally {
    pub start: String,
    pub end: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupervisorRow {
    pub subject: String,
    pub answers: u64,
    pub approved: u64,
    pub denied: u64,
    pub median_time_to_answer_ms: Option<i64>,
}

/// The six counts of every slice, as [`Counts`] names them in JSON.
pub const COUNT_NAMES: [&str; 6] = [
    "created",
    "approved",
    "denied",
    "timedOut",
    "withdrawn",
    "discarded",
];

pub const WEEKDAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

/// Requests created by local weekday (Monday first) and local hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BusyHours {
    pub weekdays: [&'static str; 7],
    pub created: [[u64; 24]; 7],
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub store_id: String,
    pub from: String,
    pub to: String,
    pub tz: String,
    pub group_by: &'static str,
    pub totals: Tally,
    pub buckets: Vec<BucketTally>,
    pub supervisors: Vec<SupervisorRow>,
    pub busy_hours: BusyHours,
}

/// The report of `events` (the store's events in [`ReportQuery::span`], any order) given
/// the creations of the requests raised before it ([`missing_creations`]).
pub fn compute(
    query: &ReportQuery,
    store: &StoreId,
    events: &[RequestEvent],
    earlier: &HashMap<RequestId, Creation>,
) -> Report {
    let buckets = query.buckets();
    let mut creations = earlier.clone();
    creations.extend(self::creations(events));
    let mut totals = Tallier::default();
    let mut slices = vec![Tallier::default(); buckets.len()];
    let mut supervisors: HashMap<&str, (u64, u64, Vec<i64>)> = HashMap::new();
    let mut busy = [[0u64; 24]; 7];
    for event in events {
        let at = unix_millis(event.at);
        // The bucket whose [start, end) holds it; the store reads only the span.
        let index = buckets.partition_point(|b| b.end <= at);
        let Some(bucket) = buckets.get(index).filter(|b| b.start <= at) else {
            continue;
        };
        let creation = creations.get(&event.request_id);
        let outcome = match event.event_type {
            EventType::Created => {
                let local = query.zone.local(at);
                let weekday = local.weekday().to_monday_zero_offset();
                busy[weekday as usize][local.hour() as usize] += 1;
                Outcome::Created
            }
            EventType::Answered => {
                let Some(decision) = event.decision else {
                    continue;
                };
                let time_to_answer = creation.map(|c| at - c.at);
                let row = supervisors.entry(&event.actor.subject).or_default();
                match decision {
                    Decision::Approved => row.0 += 1,
                    Decision::Denied => row.1 += 1,
                }
                row.2.extend(time_to_answer);
                Outcome::Answered(decision, time_to_answer)
            }
            EventType::TimedOut => Outcome::TimedOut,
            EventType::Withdrawn => Outcome::Withdrawn,
            EventType::Discarded => Outcome::Discarded,
            EventType::Edited => continue,
        };
        debug_assert!(bucket.end > at);
        totals.add(outcome, creation);
        slices[index].add(outcome, creation);
    }
    let mut supervisors: Vec<SupervisorRow> = supervisors
        .into_iter()
        .map(|(subject, (approved, denied, mut times))| {
            times.sort_unstable();
            SupervisorRow {
                subject: subject.to_owned(),
                answers: approved + denied,
                approved,
                denied,
                median_time_to_answer_ms: nearest_rank(&times, 50),
            }
        })
        .collect();
    supervisors.sort_by(|a, b| b.answers.cmp(&a.answers).then(a.subject.cmp(&b.subject)));
    Report {
        store_id: store.to_string(),
        from: query.range.from.to_string(),
        to: query.range.to.to_string(),
        tz: query.zone.name().to_owned(),
        group_by: query.group_by.as_str(),
        totals: totals.tally(),
        buckets: buckets
            .into_iter()
            .zip(slices)
            .map(|(bucket, slice)| BucketTally {
                start: bucket.start_local,
                end: bucket.end_local,
                tally: slice.tally(),
            })
            .collect(),
        supervisors,
        busy_hours: BusyHours {
            weekdays: WEEKDAYS,
            created: busy,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, ActorRole, FieldChange};
    use proptest::prelude::*;

    fn query(from: &str, to: &str, tz: &str, group_by: &str) -> ReportQuery {
        ReportQuery::parse(Some(from), Some(to), Some(tz), Some(group_by)).unwrap()
    }

    fn at(millis: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).unwrap()
    }

    fn rfc(raw: &str) -> i64 {
        unix_millis(
            OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).unwrap(),
        )
    }

    fn event(
        id: RequestId,
        version: u64,
        event_type: EventType,
        millis: i64,
        who: &str,
    ) -> RequestEvent {
        let changes = if event_type == EventType::Created {
            vec![
                FieldChange {
                    field: "requestType".into(),
                    from: None,
                    to: Some("REFUND".into()),
                },
                FieldChange {
                    field: "priority".into(),
                    from: None,
                    to: Some("HIGH".into()),
                },
            ]
        } else {
            Vec::new()
        };
        RequestEvent {
            store_id: StoreId::parse("store-1").unwrap(),
            request_id: id,
            version,
            event_type,
            at: at(millis),
            actor: Actor {
                subject: who.into(),
                role: ActorRole::Supervisor,
            },
            changes,
            decision: (event_type == EventType::Answered).then_some(Decision::Approved),
            note: None,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<i64> = (1..=10).map(|v| v * 100).collect();
        assert_eq!(nearest_rank(&values, 50), Some(500));
        assert_eq!(nearest_rank(&values, 90), Some(900));
        assert_eq!(nearest_rank(&values, 100), Some(1000));
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7, 9], 50), Some(7));
        assert_eq!(nearest_rank(&[7, 9, 11], 50), Some(9));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    proptest! {
        #[test]
        fn a_percentile_is_a_value_with_enough_below_it(
            mut values in proptest::collection::vec(0i64..1_000_000, 1..200),
            percent in 1usize..=100,
        ) {
            values.sort_unstable();
            let p = nearest_rank(&values, percent).unwrap();
            let at_or_below = values.iter().filter(|v| **v <= p).count();
            let below = values.iter().filter(|v| **v < p).count();
            // At least p % of the values are at or below it, and fewer than p % below.
            prop_assert!(at_or_below * 100 >= percent * values.len());
            prop_assert!(below * 100 < percent * values.len());
        }

        #[test]
        fn buckets_tile_the_span_without_gaps(
            day in 0i64..700,
            days in 1i64..=5,
            hourly: bool,
            zone in prop::sample::select(ZONES.to_vec()),
        ) {
            tiles(day, days, hourly, zone);
        }

        /// Whatever the history: buckets add up to the totals, the priority and type splits
        /// add up to them too, and each count is the number of its events in the span.
        #[test]
        fn slices_add_up_to_the_totals(
            lives in proptest::collection::vec(
                (0i64..4 * 86_400_000, 0usize..5, 1i64..7_200_000),
                0..60,
            ),
            hourly: bool,
        ) {
            adds_up(&lives, hourly);
        }
    }

    /// Zones with whole-hour, half-hour and midnight daylight-saving changes, and none.
    const ZONES: [&str; 6] = [
        "UTC",
        "America/Denver",
        "Europe/Berlin",
        "Australia/Lord_Howe",
        "America/Santiago",
        "Asia/Kolkata",
    ];

    fn tiles(day: i64, days: i64, hourly: bool, zone: &str) {
        let from = Date::new(2026, 1, 1)
            .unwrap()
            .checked_add(jiff::Span::new().days(day))
            .unwrap();
        let to = from.checked_add(jiff::Span::new().days(days - 1)).unwrap();
        let group_by = if hourly { "hour" } else { "day" };
        let q = query(&from.to_string(), &to.to_string(), zone, group_by);
        let buckets = q.buckets();
        let (start, end) = q.span();
        assert_eq!(buckets.first().unwrap().start, unix_millis(start));
        assert_eq!(buckets.last().unwrap().end, unix_millis(end));
        for pair in buckets.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert!(pair[0].start < pair[0].end);
        }
        if !hourly {
            assert_eq!(buckets.len() as i64, days);
        }
        let spans = q.spans(2);
        assert_eq!(spans.len() as i64, (days + 1) / 2);
        assert_eq!(spans.first().unwrap().0, unix_millis(start));
        assert_eq!(spans.last().unwrap().1, unix_millis(end));
        for pair in spans.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
    }

    /// `lives`: each request's creation (ms from a day before the span), what happened
    /// next, and how long after.
    fn adds_up(lives: &[(i64, usize, i64)], hourly: bool) {
        let group_by = if hourly { "hour" } else { "day" };
        let q = query("2026-10-31", "2026-11-01", "America/Denver", group_by);
        let (start, end) = q.span();
        let (start, end) = (unix_millis(start), unix_millis(end));
        let store = StoreId::parse("store-1").unwrap();
        let next = [
            EventType::Answered,
            EventType::TimedOut,
            EventType::Withdrawn,
            EventType::Discarded,
            EventType::Edited,
        ];
        let mut events = Vec::new();
        let mut earlier = HashMap::new();
        for &(offset, outcome, wait) in lives {
            let id = RequestId::generate();
            let created_at = start - 86_400_000 + offset;
            let created = event(id, 1, EventType::Created, created_at, "assoc");
            earlier.insert(id, Creation::of(&created).unwrap());
            events.push(created);
            events.push(event(id, 2, next[outcome], created_at + wait, "sup"));
        }
        let inside: Vec<RequestEvent> = events
            .into_iter()
            .filter(|e| (start..end).contains(&unix_millis(e.at)))
            .collect();
        let report = compute(&q, &store, &inside, &earlier);
        let counts = |c: &Counts| {
            [
                c.created,
                c.approved,
                c.denied,
                c.timed_out,
                c.withdrawn,
                c.discarded,
                c.time_to_answer_ms.count as u64,
            ]
        };
        let sum = |all: &mut dyn Iterator<Item = [u64; 7]>| {
            all.fold([0; 7], |mut sum, c| {
                sum.iter_mut().zip(c).for_each(|(s, c)| *s += c);
                sum
            })
        };
        let totals = counts(&report.totals.counts);
        let buckets = &mut report.buckets.iter().map(|b| counts(&b.tally.counts));
        assert_eq!(sum(buckets), totals);
        let priorities = &mut report.totals.by_priority.0.iter().map(|(_, c)| counts(c));
        assert_eq!(sum(priorities), totals);
        let types = &mut report
            .totals
            .by_request_type
            .0
            .iter()
            .map(|(_, c)| counts(c));
        assert_eq!(sum(types), totals);
        let of = |t: EventType| inside.iter().filter(|e| e.event_type == t).count() as u64;
        // Every answer of this history is an approval.
        let expected = [
            of(EventType::Created),
            of(EventType::Answered),
            0,
            of(EventType::TimedOut),
            of(EventType::Withdrawn),
            of(EventType::Discarded),
        ];
        assert_eq!(totals[..6], expected);
        let busy: u64 = report.busy_hours.created.iter().flatten().sum();
        assert_eq!(busy, of(EventType::Created));
    }

    #[test]
    fn daylight_saving_days_have_23_and_25_hours() {
        // America/Denver: clocks spring forward on 2026-03-08, fall back on 2026-11-01.
        let spring = query("2026-03-08", "2026-03-08", "America/Denver", "hour").buckets();
        assert_eq!(spring.len(), 23);
        assert_eq!(spring[0].start_local, "2026-03-08T00:00:00-07:00");
        assert_eq!(spring[2].start_local, "2026-03-08T03:00:00-06:00");
        assert_eq!(spring[22].end_local, "2026-03-09T00:00:00-06:00");
        let fall = query("2026-11-01", "2026-11-01", "America/Denver", "hour").buckets();
        assert_eq!(fall.len(), 25);
        assert_eq!(fall[1].start_local, "2026-11-01T01:00:00-06:00");
        assert_eq!(fall[2].start_local, "2026-11-01T01:00:00-07:00");
        assert_eq!(fall[24].end_local, "2026-11-02T00:00:00-07:00");
        let days = query("2026-10-31", "2026-11-02", "America/Denver", "day").buckets();
        let hours: Vec<i64> = days.iter().map(|b| (b.end - b.start) / 3_600_000).collect();
        assert_eq!(hours, [24, 25, 24]);
        assert_eq!(days[1].start_local, "2026-11-01T00:00:00-06:00");
        assert_eq!(days[1].end_local, "2026-11-02T00:00:00-07:00");
    }

    #[test]
    fn an_event_counts_in_the_bucket_of_its_local_time() {
        let q = query("2026-11-01", "2026-11-02", "America/Denver", "day");
        let store = StoreId::parse("store-1").unwrap();
        let (a, b) = (RequestId::generate(), RequestId::generate());
        // Midnight in Denver is 06:00Z on Nov 1 (MDT), 07:00Z on Nov 2 (MST).
        let events = [
            // The first millisecond of the range, and the last.
            event(
                a,
                1,
                EventType::Created,
                rfc("2026-11-01T06:00:00Z"),
                "assoc",
            ),
            event(
                a,
                2,
                EventType::Answered,
                rfc("2026-11-02T06:59:59.999Z"),
                "sup-1",
            ),
            event(
                b,
                1,
                EventType::Created,
                rfc("2026-11-02T07:00:00Z"),
                "assoc",
            ),
            event(
                b,
                2,
                EventType::TimedOut,
                rfc("2026-11-03T06:59:59.999Z"),
                "deadline",
            ),
            // Outside: a millisecond before and at the end.
            event(
                b,
                3,
                EventType::Withdrawn,
                rfc("2026-11-01T05:59:59.999Z"),
                "assoc",
            ),
            event(
                b,
                4,
                EventType::Withdrawn,
                rfc("2026-11-03T07:00:00Z"),
                "assoc",
            ),
        ];
        let report = compute(&q, &store, &events, &HashMap::new());
        let day = |i: usize| &report.buckets[i].tally.counts;
        assert_eq!(
            (day(0).created, day(0).approved, day(0).timed_out),
            (1, 1, 0)
        );
        assert_eq!(
            (day(1).created, day(1).approved, day(1).timed_out),
            (1, 0, 1)
        );
        assert_eq!(report.totals.counts.withdrawn, 0);
        // 25 hours less a millisecond.
        assert_eq!(day(0).time_to_answer_ms.max, Some(25 * 3_600_000 - 1));
        assert_eq!(report.totals.by_priority.0[1].0, "HIGH");
        assert_eq!(report.totals.by_priority.0[1].1.created, 2);
        assert_eq!(report.totals.by_request_type.0[1].1.timed_out, 1);
        // Sunday 00:00 and Monday 00:00 local.
        assert_eq!(report.busy_hours.created[6][0], 1);
        assert_eq!(report.busy_hours.created[0][0], 1);
        assert_eq!(report.supervisors[0].subject, "sup-1");
    }

    #[test]
    fn an_answer_to_a_request_raised_before_the_range_uses_its_creation() {
        let q = query("2026-11-02", "2026-11-02", "UTC", "day");
        let store = StoreId::parse("store-1").unwrap();
        let id = RequestId::generate();
        let events = [event(
            id,
            3,
            EventType::Answered,
            rfc("2026-11-02T00:05:00Z"),
            "s",
        )];
        assert_eq!(missing_creations(&events), vec![id]);
        let earlier = HashMap::from([(
            id,
            Creation {
                at: rfc("2026-11-01T23:55:00Z"),
                priority: Priority::Urgent,
                request_type: RequestType::Void,
            },
        )]);
        let report = compute(&q, &store, &events, &earlier);
        assert_eq!(report.totals.counts.created, 0);
        assert_eq!(report.totals.counts.time_to_answer_ms.p50, Some(600_000));
        assert_eq!(report.totals.by_priority.0[0].1.approved, 1);
        assert_eq!(report.totals.by_request_type.0[3].1.approved, 1);
        // Unknown creation: counted, without a time or a split.
        let report = compute(&q, &store, &events, &HashMap::new());
        assert_eq!(report.totals.counts.approved, 1);
        assert_eq!(report.totals.counts.time_to_answer_ms.count, 0);
        assert_eq!(report.totals.by_priority.0[0].1.approved, 0);
    }

    /// The largest report: an hourly month (with a 25-hour day) in which every bucket has
    /// outcomes of every priority and type, times to answer of eight digits, as Lambda
    /// returns it (the body escaped into its own JSON).
    #[test]
    fn the_largest_report_stays_under_lambdas_six_megabytes() {
        let q = query("2026-10-15", "2026-11-14", "America/Denver", "hour");
        let store = StoreId::parse("store-1").unwrap();
        let mut events = Vec::new();
        for bucket in q.buckets() {
            for priority in Priority::ALL {
                for request_type in RequestType::ALL {
                    let id = RequestId::generate();
                    let mut created = event(id, 1, EventType::Created, bucket.start, "assoc");
                    created.changes[0].to = Some(request_type.as_str().into());
                    created.changes[1].to = Some(priority.as_str().into());
                    events.push(created);
                    let answered = bucket.start + 1 + i64::from(priority.rank()) * 10_000_000;
                    let answered = answered.min(bucket.end - 1);
                    events.push(event(id, 2, EventType::Answered, answered, "a-supervisor"));
                }
            }
        }
        let report = compute(&q, &store, &events, &HashMap::new());
        assert_eq!(report.buckets.len(), 31 * 24 + 1);
        let body = serde_json::to_string(&report).unwrap();
        let payload =
            serde_json::to_string(&serde_json::json!({"statusCode": 200, "body": body})).unwrap();
        // Half the limit: counts of four digits instead of one still fit.
        assert!(
            payload.len() < 6 * 1024 * 1024 / 2,
            "{} bytes",
            payload.len()
        );
        eprintln!(
            "largest report: {} bytes as Lambda returns it",
            payload.len()
        );
    }

    #[test]
    fn count_names_are_the_json_names() {
        let counts = serde_json::to_value(Counter::default().counts()).unwrap();
        let names: Vec<&str> = counts
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = COUNT_NAMES.to_vec();
        expected.push("timeToAnswerMs");
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn parameters_are_checked() {
        let field = |r: Result<ReportQuery, FieldError>| r.unwrap_err().field;
        assert_eq!(
            field(ReportQuery::parse(None, Some("2026-01-01"), None, None)),
            "from"
        );
        assert_eq!(
            field(ReportQuery::parse(Some("2026-01-01"), None, None, None)),
            "to"
        );
        for bad in [
            "1969-12-31",
            "9999-12-31",
            "2026-1-01",
            "2026-02-30",
            "26-01-01",
            "2026-01-01T00:00:00Z",
            "+2026-01-01",
        ] {
            assert_eq!(
                field(ReportQuery::parse(
                    Some(bad),
                    Some("2026-03-01"),
                    None,
                    None
                )),
                "from",
                "{bad}"
            );
        }
        assert_eq!(
            field(ReportQuery::parse(
                Some("2026-01-02"),
                Some("2026-01-01"),
                None,
                None
            )),
            "to"
        );
        // 92 days inclusive is the most.
        assert!(ReportQuery::parse(Some("2026-01-01"), Some("2026-04-02"), None, None).is_ok());
        assert_eq!(
            field(ReportQuery::parse(
                Some("2026-01-01"),
                Some("2026-04-03"),
                None,
                None
            )),
            "to"
        );
        for bad in [
            "Mars/Olympus",
            "",
            "-07:00",
            "EST5EDT,M3.2.0,M11.1.0",
            "../../etc/passwd",
        ] {
            assert_eq!(
                field(ReportQuery::parse(
                    Some("2026-01-01"),
                    Some("2026-01-01"),
                    Some(bad),
                    None
                )),
                "tz",
                "{bad}"
            );
        }
        assert_eq!(
            field(ReportQuery::parse(
                Some("2026-01-01"),
                Some("2026-01-01"),
                None,
                Some("week")
            )),
            "groupBy"
        );
        assert!(
            ReportQuery::parse(Some("2026-01-01"), Some("2026-01-31"), None, Some("hour")).is_ok()
        );
        assert_eq!(
            field(ReportQuery::parse(
                Some("2026-01-01"),
                Some("2026-02-01"),
                None,
                Some("hour")
            )),
            "groupBy"
        );
        let q = ReportQuery::parse(Some("2026-01-01"), Some("2026-01-01"), None, None).unwrap();
        assert_eq!((q.zone.name(), q.group_by), ("UTC", GroupBy::Day));
    }
}
