//! The first two DynamoDB calls of a fresh process, timed: the first opens the connection
//! (TCP, and the TLS handshake when the endpoint is `https`) and does the SDK's first-call
//! work; the second reuses all of it. Prints one JSON line: wall and CPU time (this
//! process's, user + system) of each call. `bench/tls_first_call.py` runs it many times,
//! over plain HTTP and over TLS, to price the handshake.
//!
//! Environment: `AWS_ENDPOINT_URL_DYNAMODB`; for TLS, `SSL_CERT_FILE` naming the root that
//! signed the endpoint's certificate (the functions' HTTPS client then trusts the OS store).

use std::time::{Duration, Instant};

/// CPU time this process has used so far.
fn cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    benchmarks::runtime().block_on(async {
        // The functions' own SDK configuration and HTTPS client, as at init.
        let client = benchmarks::local_client().await;
        let mut calls = Vec::new();
        for _ in 0..2 {
            let (wall, cpu) = (Instant::now(), cpu_time());
            client
                .list_tables()
                .limit(1)
                .send()
                .await
                .expect("DynamoDB answers ListTables");
            calls.push((ms(wall.elapsed()), ms(cpu_time() - cpu)));
        }
        println!(
            "{{\"first_wall_ms\":{:.3},\"first_cpu_ms\":{:.3},\"second_wall_ms\":{:.3},\"second_cpu_ms\":{:.3}}}",
            calls[0].0, calls[0].1, calls[1].0, calls[1].1
        );
    });
}
