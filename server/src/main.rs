//! `store-server`: the HTTP API on `0.0.0.0:$PORT` until SIGTERM (then drained, exit 0).
//! `store-server sweep`: one sweep of expired requests, then exit (0, or 1 on failure), for an
//! ECS scheduled task or a Kubernetes CronJob (once a minute, cluster-wide).
//!
//! Configuration is the functions' own (tables, identity, cursor key: README) plus the
//! server's ([`store_server::ServerConfig`]); a missing or out-of-range setting refuses to
//! start with one log line.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::edge::lambda::Needs;
use store_server::metrics::Metrics;
use store_server::{Server, ServerConfig};

/// A sweep stops taking work after this: Kubernetes' CronJob deadline is 55 s.
const SWEEP_BUDGET: Duration = Duration::from_secs(45);

fn main() -> ExitCode {
    // JSON logs with the functions' fields unless told otherwise; set before any thread.
    if std::env::var_os("AWS_LAMBDA_LOG_FORMAT").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("AWS_LAMBDA_LOG_FORMAT", "JSON") };
    }
    shared::edge::lambda::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error = %error, "no runtime");
            return ExitCode::FAILURE;
        }
    };
    let sweep = std::env::args().nth(1).as_deref() == Some("sweep");
    let outcome = runtime.block_on(async {
        if sweep {
            run_sweep().await
        } else {
            serve().await
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            tracing::error!(reason = %reason, "stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    let config = ServerConfig::from_env().inspect_err(|reason| {
        tracing::error!(reason = %reason, "configuration refused; not starting");
    })?;
    let metrics = Arc::new(Metrics::default());
    let sink = Arc::clone(&metrics);
    // EMF lines still go to stdout (CloudWatch extracts them from container logs), and
    // feed /metrics.
    shared::telemetry::emf::set_sink(move |line| {
        println!("{line}");
        sink.record_emf(line);
    });
    let started = Instant::now();
    let app = shared::edge::lambda::init_app(Needs { cursor_key: true })
        .await
        .map_err(|e| e.to_string())?;
    let authenticator = shared::edge::lambda::init_authenticator().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", config.port))
        .await
        .map_err(|e| format!("cannot listen on port {}: {e}", config.port))?;
    tracing::info!(
        port = config.port,
        init_ms = started.elapsed().as_millis() as u64,
        "listening"
    );
    let server = Server::new(app, authenticator, config, metrics);
    let drain = Arc::clone(&server);
    server
        .serve(listener, async move {
            store_server::shutdown_signal().await;
            drain.begin_drain();
            tracing::info!("SIGTERM: draining");
        })
        .await?;
    tracing::info!("drained; exiting");
    Ok(())
}

async fn run_sweep() -> Result<(), String> {
    let app = shared::edge::lambda::init_app(Needs::default())
        .await
        .map_err(|e| e.to_string())?;
    let event = timeout_sweeper::ScheduledEvent {
        time: time::OffsetDateTime::now_utc(),
    };
    let budget = timeout_sweeper::Budget::until(Instant::now() + SWEEP_BUDGET);
    timeout_sweeper::handler(app, event, budget)
        .await
        .map(|_| ())
        .map_err(|error| shared::edge::error::chain(&error))
}
