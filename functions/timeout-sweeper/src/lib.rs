//! Scheduled (EventBridge): moves every pending request whose deadline has passed to
//! `TIMEOUT`, across all stores, from the sparse `byDeadline` index: no Scan.
//!
//! "Now" is the event's `time`, so a run is reproducible from its event. A request answered
//! between the index read and the write is left alone: the write is conditioned on the
//! version that was read, and its `timed_out` event to the next version, so a late answer
//! racing the sweeper ends in exactly one outcome and one event.

use serde::{Deserialize, Serialize};
use shared::App;
use shared::emf::{Event, Unit};
use shared::keys::SWEEP_SHARDS;
use shared::table::StoreError;
use time::OffsetDateTime;

/// The part of an EventBridge scheduled event the sweeper reads.
#[derive(Debug, Deserialize)]
pub struct ScheduledEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
}

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Requests moved to `TIMEOUT` by this run.
    pub timed_out: u32,
    /// Expired requests that changed under the sweeper (answered or edited) and were skipped.
    pub skipped: u32,
    /// Requests still waiting for an answer after this run (the queue's length).
    pub waiting: u32,
}

pub async fn handler(app: &App, event: ScheduledEvent) -> Result<SweepReport, StoreError> {
    // The shards are independent index partitions: read them concurrently, one round trip
    // for the whole index when nothing has expired.
    let shards = (0..SWEEP_SHARDS).map(|shard| sweep_shard(app, shard, event.time));
    let mut report = SweepReport::default();
    for shard in futures_util::future::try_join_all(shards).await? {
        report.timed_out += shard.timed_out;
        report.skipped += shard.skipped;
        report.waiting += shard.waiting;
    }
    tracing::info!(
        timed_out = report.timed_out,
        skipped = report.skipped,
        waiting = report.waiting,
        "sweep finished"
    );
    // Zero too: an alarm on a missing sweep needs a data point from every run.
    Event::new("supervisor-requests")
        .metric("RequestsTimedOut", Unit::Count, f64::from(report.timed_out))
        .metric("SweepSkipped", Unit::Count, f64::from(report.skipped))
        .metric("RequestsWaiting", Unit::Count, f64::from(report.waiting))
        .metric("Sweeps", Unit::Count, 1.0)
        .emit();
    Ok(report)
}

/// Times out the expired requests of one `byDeadline` shard, page by page.
async fn sweep_shard(app: &App, shard: u8, now: OffsetDateTime) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut start = None;
    loop {
        let (expired, next) = app.requests.expired(shard, now, start).await?;
        for request in expired {
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
            Some(key) => start = Some(key),
            None => break,
        }
    }
    // Counted after the time-outs so a request is either timed out or waiting, never both.
    report.waiting = app.requests.waiting(shard, now).await?;
    Ok(report)
}
