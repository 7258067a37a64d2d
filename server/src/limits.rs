//! Rate limiting: a token bucket per caller and store, in this replica's memory. With N
//! replicas behind a load balancer a caller gets up to N times the rate; the HTTP API's own
//! throttling (template.yaml) is the Lambda model's equivalent.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a request may do now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Verdict {
    /// Allowed; tokens left after it.
    Allowed { remaining: u32 },
    /// Refused: try again after this long.
    Limited { retry_after: Duration },
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<(String, String), Bucket>>,
}

/// Past this many buckets, full ones (callers idle long enough to have refilled) are
/// dropped: memory stays bounded by the callers active within a refill period.
const PRUNE_ABOVE: usize = 10_000;

impl RateLimiter {
    /// `per_second` 0: no limit.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }

    pub fn burst(&self) -> u32 {
        self.burst as u32
    }

    /// Takes one token of `caller`'s bucket for `store` at `now`.
    pub fn check(&self, caller: &str, store: &str, now: Instant) -> Verdict {
        if !self.enabled() {
            return Verdict::Allowed {
                remaining: self.burst(),
            };
        }
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets
            .entry((caller.to_owned(), store.to_owned()))
            .or_insert(Bucket {
                tokens: self.burst,
                updated: now,
            });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Allowed {
                remaining: bucket.tokens as u32,
            }
        } else {
            Verdict::Limited {
                retry_after: Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(2, 3);
        let start = Instant::now();
        for remaining in [2, 1, 0] {
            assert_eq!(
                limiter.check("ana", "s1", start),
                Verdict::Allowed { remaining }
            );
        }
        let Verdict::Limited { retry_after } = limiter.check("ana", "s1", start) else {
            panic!("the fourth request at once is limited");
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        // Another store, another caller: buckets of their own.
        assert!(matches!(
            limiter.check("ana", "s2", start),
            Verdict::Allowed { .. }
        ));
        assert!(matches!(
            limiter.check("bo", "s1", start),
            Verdict::Allowed { .. }
        ));
        // Half a second later, one token has come back.
        let later = start + Duration::from_millis(500);
        assert_eq!(
            limiter.check("ana", "s1", later),
            Verdict::Allowed { remaining: 0 }
        );
        assert!(matches!(
            limiter.check("ana", "s1", later),
            Verdict::Limited { .. }
        ));
        assert!(matches!(
            RateLimiter::new(0, 1).check("ana", "s1", start),
            Verdict::Allowed { .. }
        ));
    }
}
