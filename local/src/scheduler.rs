//! EventBridge Scheduler's local twin: invokes the real `timeout-sweeper` handler on a
//! schedule, with the event shape of `events/timeout-sweeper.json`, so that on `make run`
//! requests time out as they do in AWS.

use std::time::Duration;

use shared::App;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How often the sweeper runs: `SWEEP_INTERVAL_SECONDS` (default 60, as the template's
/// `rate(1 minute)`); shorter for demos and tests.
pub fn interval_from_env() -> Result<Duration, String> {
    match std::env::var("SWEEP_INTERVAL_SECONDS") {
        Ok(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|seconds| *seconds > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| "SWEEP_INTERVAL_SECONDS must be a whole number of seconds".into()),
        Err(_) => Ok(Duration::from_secs(60)),
    }
}

/// The scheduled event for `at`, as EventBridge sends it.
pub fn scheduled_event(at: OffsetDateTime) -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": at.format(&Rfc3339).expect("a UTC instant formats"),
        "region": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        "resources": ["arn:aws:events:local:000000000000:rule/local-timeout-sweeper"],
        "detail": {}
    })
}

/// The sweeper function's timeout in template.yaml.
const SWEEPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the sweeper every `interval`, first after one interval, until the task is dropped.
/// A failed run is logged and left to the next, as the template's schedule does (no retry).
pub async fn run(app: &App, interval: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        // The whole second, as Scheduler's <aws.scheduler.scheduled-time> is.
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("0 is valid");
        let event = serde_json::from_value(scheduled_event(now)).expect("the sweeper's event");
        // The template's 60 s timeout, as Lambda's deadline would give it.
        let budget = timeout_sweeper::Budget::until(
            std::time::Instant::now() + SWEEPER_TIMEOUT - timeout_sweeper::STOP_BEFORE_DEADLINE,
        );
        match timeout_sweeper::handler(app, event, budget).await {
            Ok(report) if report.timed_out > 0 => {
                tracing::info!(timed_out = report.timed_out, "local schedule: sweep")
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %shared::edge::error::chain(&error), "local schedule: sweep failed")
            }
        }
    }
}
