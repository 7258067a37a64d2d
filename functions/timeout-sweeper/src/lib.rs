//! Scheduled (EventBridge): moves every pending request whose deadline has passed to
//! `TIMEOUT`, across all stores, from the sparse `byDeadline` index: no Scan.
//!
//! "Now" is the event's `time`, so a run is reproducible from its event. A request answered
//! between the index read and the write is left alone: the write is conditioned on the
//! version that was read, and its `timed_out` event to the next version, so a late answer
//! racing the sweeper ends in exactly one outcome and one event.
//!
//! A run has a time budget (the Lambda's deadline, less a margin): with a backlog it stops
//! taking new work before the deadline, reports what it left (`left`, `finished: false`,
//! the `SweepUnfinished` metric) and still emits `Sweeps`, so the "sweeper missing" alarm
//! never mistakes a long run for a missing one. The next run carries on where it stopped.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use shared::App;
use shared::store::keys::SWEEP_SHARDS;
use shared::store::table::StoreError;
use shared::telemetry::emf::{Event, Unit};
use time::OffsetDateTime;

/// The part of an EventBridge scheduled event the sweeper reads.
#[derive(Debug, Deserialize)]
pub struct ScheduledEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

/// Stop taking new work this long before the function's deadline: one more transaction
/// (the SDK's operation timeout is 5 s), the closing queue count and the metrics fit in it.
pub const STOP_BEFORE_DEADLINE: Duration = Duration::from_secs(15);

/// Until when a run may take new work.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    stop_at: Instant,
}

impl Budget {
    pub fn until(stop_at: Instant) -> Self {
        Self { stop_at }
    }

    /// From the invocation's deadline (Lambda's context: milliseconds since the epoch),
    /// less [`STOP_BEFORE_DEADLINE`].
    pub fn from_deadline_millis(deadline: u64) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let left = Duration::from_millis(deadline.saturating_sub(now));
        Self::until(Instant::now() + left.saturating_sub(STOP_BEFORE_DEADLINE))
    }

    fn exhausted(&self) -> bool {
        Instant::now() >= self.stop_at
    }
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Requests moved to `TIMEOUT` by this run.
    pub timed_out: u32,
    /// Expired requests that changed under the sweeper (answered or edited) and were skipped.
    pub skipped: u32,
    /// Requests still waiting for an answer after this run (the queue's length).
    pub waiting: u32,
    /// Expired requests read but left for the next run: the time budget ran out.
    pub left: u32,
    /// Whether the run got through every expired request (false: out of time).
    pub finished: bool,
}

impl Default for SweepReport {
    fn default() -> Self {
        Self {
            timed_out: 0,
            skipped: 0,
            waiting: 0,
            left: 0,
            finished: true,
        }
    }
}

pub async fn handler(
    app: &App,
    event: ScheduledEvent,
    budget: Budget,
) -> Result<SweepReport, StoreError> {
    // The shards are independent index partitions: read them concurrently, one round trip
    // for the whole index when nothing has expired.
    let shards = (0..SWEEP_SHARDS).map(|shard| sweep_shard(app, shard, event.time, budget));
    let mut report = SweepReport::default();
    for shard in futures_util::future::try_join_all(shards).await? {
        report.timed_out += shard.timed_out;
        report.skipped += shard.skipped;
        report.waiting += shard.waiting;
        report.left += shard.left;
        report.finished &= shard.finished;
    }
    if report.finished {
        tracing::info!(
            timed_out = report.timed_out,
            skipped = report.skipped,
            waiting = report.waiting,
            "sweep finished"
        );
    } else {
        tracing::warn!(
            timed_out = report.timed_out,
            skipped = report.skipped,
            left = report.left,
            "sweep out of time; the next run continues"
        );
    }
    // Zero too: an alarm on a missing sweep needs a data point from every run.
    Event::new("supervisor-requests")
        .metric("RequestsTimedOut", Unit::Count, f64::from(report.timed_out))
        .metric("SweepSkipped", Unit::Count, f64::from(report.skipped))
        .metric("RequestsWaiting", Unit::Count, f64::from(report.waiting))
        .metric(
            "SweepUnfinished",
            Unit::Count,
            f64::from(u8::from(!report.finished)),
        )
        .metric("Sweeps", Unit::Count, 1.0)
        .emit();
    Ok(report)
}

/// Times out the expired requests of one `byDeadline` shard, page by page.
async fn sweep_shard(
    app: &App,
    shard: u8,
    now: OffsetDateTime,
    budget: Budget,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut start = None;
    'pages: loop {
        let (expired, next) = app.requests.expired(shard, now, start).await?;
        let count = expired.len();
        for (done, request) in expired.into_iter().enumerate() {
            if budget.exhausted() {
                report.left += u32::try_from(count - done).unwrap_or(u32::MAX);
                report.finished = false;
                break 'pages;
            }
            let Some(timed_out) = request.time_out(now) else {
                continue;
            };
            match app.requests.apply(&request, &timed_out).await {
                Ok(()) => report.timed_out += 1,
                Err(StoreError::ConditionFailed(_) | StoreError::TransactionConflict) => {
                    report.skipped += 1
                }
                Err(other) => return Err(other),
            }
        }
        match next {
            Some(_) if budget.exhausted() => {
                report.finished = false;
                break;
            }
            Some(key) => start = Some(key),
            None => break,
        }
    }
    // Counted after the time-outs so a request is either timed out or waiting, never both.
    report.waiting = app.requests.waiting(shard, now).await?;
    Ok(report)
}
