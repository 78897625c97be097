//! Time as the service sees it, replaceable in tests so that expiry and escalation can be
//! checked without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC. Stored as a 64-bit integer on every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn plus(self, duration: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)),
        )
    }
}

/// The source of the current time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that stands still at `start` until moved with [`Clock::advance`].
    pub fn manual(start: Timestamp) -> Self {
        Self {
            fixed: Some(Arc::new(AtomicI64::new(start.0))),
        }
    }

    pub fn now(&self) -> Timestamp {
        match &self.fixed {
            Some(millis) => Timestamp(millis.load(Ordering::SeqCst)),
            None => {
                let since_epoch = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                Timestamp(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
            }
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved and ignores it.
    pub fn advance(&self, by: Duration) {
        if let Some(millis) = &self.fixed {
            let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            millis.fetch_add(by, Ordering::SeqCst);
        }
    }
}
