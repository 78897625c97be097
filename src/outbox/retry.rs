//! When to try a failed send again: exponential backoff with jitter, the provider's
//! `Retry-After` when it gives one, a cap on attempts, and a maximum age after which a
//! text is dropped because arriving late could put the texter at risk.

use std::time::Duration;

use rand::RngExt;

use crate::clock::Timestamp;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

/// What to do after a retryable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    RetryAt(Timestamp),
    GiveUp,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(15),
            max_delay: Duration::from_secs(15 * 60),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The next attempt after `attempts` tries, no sooner than `retry_after`, unless the
    /// attempts are used up or the text would only go out after `expires_at`.
    pub fn next_step(
        &self,
        attempts: u32,
        retry_after: Option<Duration>,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> NextStep {
        if attempts >= self.max_attempts {
            return NextStep::GiveUp;
        }
        let exponent = attempts.saturating_sub(1).min(16);
        let backoff = self
            .first_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let jittered = backoff.mul_f64(rand::rng().random_range(0.8..1.2));
        let delay = retry_after.map_or(jittered, |after| after.max(jittered));
        let next = now.plus(delay);
        match expires_at {
            Some(expiry) if next > expiry => NextStep::GiveUp,
            _ => NextStep::RetryAt(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_000_000);

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let policy = RetryPolicy::default();
        let delay = |attempts| match policy.next_step(attempts, None, NOW, None) {
            NextStep::RetryAt(at) => at.millis() - NOW.millis(),
            NextStep::GiveUp => panic!("gave up early"),
        };

        assert!((12_000..=18_000).contains(&delay(1)));
        assert!((24_000..=36_000).contains(&delay(2)));
        assert!(delay(7) <= 18 * 60_000);
    }

    #[test]
    fn retry_after_is_honoured_when_longer_than_the_backoff() {
        let step = RetryPolicy::default().next_step(1, Some(Duration::from_secs(120)), NOW, None);

        assert_eq!(step, NextStep::RetryAt(NOW.plus(Duration::from_secs(120))));
    }

    #[test]
    fn attempts_and_age_are_bounded() {
        let policy = RetryPolicy::default();

        assert_eq!(policy.next_step(8, None, NOW, None), NextStep::GiveUp);
        assert_eq!(
            policy.next_step(1, None, NOW, Some(NOW.plus(Duration::from_secs(5)))),
            NextStep::GiveUp
        );
    }
}
