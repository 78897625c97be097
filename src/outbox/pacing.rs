//! Pacing: each channel sends at most its rate, in segments per second, in any one-second
//! window, and keeps a bounded number of requests in flight to its provider account.
//!
//! The rate limiter is GCRA (governor) with a burst of one cell, so cells are spaced
//! evenly at 1/rate seconds; a larger burst would let a quiet channel send up to twice its
//! rate in the second after it wakes.
//!
//! Cells are spaced a little wider than 1/rate: what the provider counts is when requests
//! arrive, and the time between the pacer and the provider (gates, opening the text, the
//! connection) varies by a few milliseconds, so exact spacing let 11 texts land in one
//! second at 10 per second.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much wider than 1/rate cells are spaced: 50 ms of slack in every second.
const SPACING_MARGIN: f64 = 1.05;

/// A channel's pace.
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    in_flight: Arc<Semaphore>,
}

impl Pacer {
    /// `segments_per_second` may be fractional (0.5 is one segment every two seconds).
    pub fn new(segments_per_second: f64, max_in_flight: u32) -> Self {
        let interval = Duration::from_secs_f64(SPACING_MARGIN / segments_per_second.max(0.001));
        let quota = Quota::with_period(interval)
            .expect("a positive rate gives a non-zero period")
            .allow_burst(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::direct(quota),
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1) as usize)),
        }
    }

    /// Waits until `segments` more segments may go out, then holds a request slot until the
    /// returned permit is dropped.
    pub async fn wait_for(&self, segments: u32) -> OwnedSemaphorePermit {
        for _ in 0..segments.max(1) {
            self.limiter.until_ready().await;
        }
        self.in_flight
            .clone()
            .acquire_owned()
            .await
            .expect("the pacer never closes its semaphore")
    }
}

/// Default rates by kind of sender, in segments per second (reference: providers' limits).
pub fn default_rate(sender_type: &str) -> f64 {
    match sender_type {
        "toll_free" => 3.0,
        "short_code" => 100.0,
        "international" | "alphanumeric" => 10.0,
        _ => 1.0,
    }
}
