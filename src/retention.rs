//! Retention: message bodies and notes of closed tickets, and old audit entries, are
//! destroyed once their time is up. Counts and timings stay, for statistics.

use std::time::Duration;

use crate::audit::{Action, Actor, AuditEntry};
use crate::clock::{Clock, Timestamp};
use crate::store::{Store, StoreError};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// How long things are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Days after a ticket closes before its bodies and notes are destroyed.
    pub body_days: u32,
    /// Days an audit entry is kept.
    pub audit_days: u32,
}

/// What a purge destroyed, or would destroy on a dry run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub message_bodies: u64,
    pub notes: u64,
    pub audit_entries: u64,
}

/// Destroys what the policy says has expired at the clock's time; with `dry_run`, only
/// counts it.
pub async fn purge(
    store: &Store,
    clock: &Clock,
    policy: RetentionPolicy,
    dry_run: bool,
) -> Result<PurgeReport, StoreError> {
    let now = clock.now();
    let body_cutoff = cutoff(now, policy.body_days);
    let audit_cutoff = cutoff(now, policy.audit_days);
    if dry_run {
        let (message_bodies, notes) = store.count_expired_bodies(body_cutoff).await?;
        let audit_entries = store.count_audit_before(audit_cutoff).await?;
        return Ok(PurgeReport {
            message_bodies,
            notes,
            audit_entries,
        });
    }

    let (message_bodies, notes) = store.destroy_expired_bodies(body_cutoff, now).await?;
    let audit_entries = store.expire_audit(audit_cutoff).await?;
    let report = PurgeReport {
        message_bodies,
        notes,
        audit_entries,
    };
    if report != PurgeReport::default() {
        let entry = AuditEntry {
            actor: Actor::System,
            action: Action::RetentionPurged,
            subject: format!("bodies:{message_bodies} notes:{notes} audit:{audit_entries}"),
            reason: None,
        };
        store.append_audit(&entry, now).await?;
        store.checkpoint().await?;
    }
    tracing::info!(
        purge.message_bodies = message_bodies,
        purge.notes = notes,
        purge.audit_entries = audit_entries,
        "retention purge done"
    );
    Ok(report)
}

fn cutoff(now: Timestamp, days: u32) -> Timestamp {
    Timestamp(now.millis() - i64::from(days) * i64::try_from(DAY.as_millis()).unwrap_or(0))
}
