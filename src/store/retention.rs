//! Finding and destroying what retention says has expired.

use super::tx::BeginWrite;
use super::{Store, StoreError, on_pool};
use crate::clock::Timestamp;

const EXPIRED_MESSAGES: &str = "FROM messages WHERE sealed_body IS NOT NULL AND ticket_id IN \
    (SELECT id FROM tickets WHERE status = 'closed' AND closed_at < $1)";
const EXPIRED_NOTES: &str = "FROM ticket_notes WHERE sealed_body IS NOT NULL AND ticket_id IN \
    (SELECT id FROM tickets WHERE status = 'closed' AND closed_at < $1)";

impl Store {
    /// Message bodies and notes of tickets closed before `cutoff`, not yet destroyed.
    pub async fn count_expired_bodies(&self, cutoff: Timestamp) -> Result<(u64, u64), StoreError> {
        let (messages, notes): (i64, i64) = on_pool!(self, |pool| {
            let messages = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) {EXPIRED_MESSAGES}"
            )))
            .bind(cutoff.millis())
            .fetch_one(pool)
            .await?;
            let notes = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) {EXPIRED_NOTES}"
            )))
            .bind(cutoff.millis())
            .fetch_one(pool)
            .await?;
            (messages, notes)
        });
        Ok((messages.unsigned_abs(), notes.unsigned_abs()))
    }

    /// Destroys them, and the bodies of those tickets' finished outbox texts, in one
    /// transaction.
    pub async fn destroy_expired_bodies(
        &self,
        cutoff: Timestamp,
        now: Timestamp,
    ) -> Result<(u64, u64), StoreError> {
        let counts = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let messages = sqlx::query(
                "UPDATE messages SET sealed_body = NULL, body_destroyed_at = $2 \
                 WHERE sealed_body IS NOT NULL AND ticket_id IN \
                 (SELECT id FROM tickets WHERE status = 'closed' AND closed_at < $1)",
            )
            .bind(cutoff.millis())
            .bind(now.millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let notes = sqlx::query(
                "UPDATE ticket_notes SET sealed_body = NULL, body_destroyed_at = $2 \
                 WHERE sealed_body IS NOT NULL AND ticket_id IN \
                 (SELECT id FROM tickets WHERE status = 'closed' AND closed_at < $1)",
            )
            .bind(cutoff.millis())
            .bind(now.millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // A text left `unknown` by an interrupted send keeps its body; so would any
            // other finished text that did not forget it. Queued texts are left to the worker.
            sqlx::query(
                "UPDATE outbox SET sealed_body = NULL, own_key_id = NULL, \
                 own_wrapped_key = NULL, own_sealed_number = NULL \
                 WHERE status NOT IN ('queued', 'sending') AND sealed_body IS NOT NULL \
                 AND ticket_id IN \
                 (SELECT id FROM tickets WHERE status = 'closed' AND closed_at < $1)",
            )
            .bind(cutoff.millis())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            (messages, notes)
        });
        Ok(counts)
    }

    pub async fn count_audit_before(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE at < $1")
                .bind(cutoff.millis())
                .fetch_one(pool)
                .await?
        });
        Ok(count.unsigned_abs())
    }
}
