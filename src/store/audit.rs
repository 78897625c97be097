//! The audit chain's storage: appended inside the transaction of the change it records.

use super::{Store, StoreError, StoreTx, on_pool, on_tx};
use crate::audit::{AuditEntry, AuditHead, AuditRecord, entry_hash};
use crate::clock::Timestamp;

impl StoreTx {
    /// Appends an entry after the current head. The head row is locked by the update, so
    /// concurrent appends queue up and the chain never forks.
    pub async fn append_audit(
        &mut self,
        entry: &AuditEntry,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let head: AuditHead = on_tx!(self, |conn| {
            sqlx::query("UPDATE audit_head SET last_id = last_id WHERE id = 1")
                .execute(&mut *conn)
                .await?;
            sqlx::query_as(
                "SELECT last_id, last_hash, expired_through_id, expired_anchor_hash \
                 FROM audit_head WHERE id = 1",
            )
            .fetch_one(&mut *conn)
            .await?
        });
        let id = head.last_id + 1;
        let actor = entry.actor.to_string();
        let action = entry.action.as_str();
        let reason = entry.reason.as_deref();
        let hash = entry_hash(
            &head.last_hash,
            id,
            at,
            &actor,
            action,
            &entry.subject,
            reason,
        );
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO audit_log (id, at, actor, action, subject, reason, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(at.millis())
            .bind(&actor)
            .bind(action)
            .bind(&entry.subject)
            .bind(reason)
            .bind(&head.last_hash)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE audit_head SET last_id = $1, last_hash = $2 WHERE id = 1")
                .bind(id)
                .bind(&hash)
                .execute(&mut *conn)
                .await?;
        });
        Ok(id)
    }
}

impl Store {
    /// Appends one entry in a transaction of its own.
    pub async fn append_audit(&self, entry: &AuditEntry, at: Timestamp) -> Result<i64, StoreError> {
        let mut tx = self.begin().await?;
        let id = tx.append_audit(entry, at).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn audit_head(&self) -> Result<AuditHead, StoreError> {
        let head = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT last_id, last_hash, expired_through_id, expired_anchor_hash \
                 FROM audit_head WHERE id = 1",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(head)
    }

    /// Up to `limit` entries after `after_id`, oldest first.
    pub async fn audit_entries(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let entries = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, at, actor, action, subject, reason, prev_hash, hash FROM audit_log \
                 WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(entries)
    }

    /// Deletes the entries older than `before`, from the start of the chain only, and
    /// records the new start so verification still detects anything else missing.
    pub async fn expire_audit(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let expired = on_tx!(&mut tx, |conn| {
            let cut: Option<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT id, hash FROM audit_log WHERE id = \
                 (SELECT MAX(id) FROM audit_log WHERE at < $1)",
            )
            .bind(before.millis())
            .fetch_optional(&mut *conn)
            .await?;
            match cut {
                None => 0,
                Some((through, anchor)) => {
                    let deleted = sqlx::query("DELETE FROM audit_log WHERE id <= $1")
                        .bind(through)
                        .execute(&mut *conn)
                        .await?
                        .rows_affected();
                    sqlx::query(
                        "UPDATE audit_head SET expired_through_id = $1, expired_anchor_hash = $2 \
                         WHERE id = 1",
                    )
                    .bind(through)
                    .bind(anchor)
                    .execute(&mut *conn)
                    .await?;
                    deleted
                }
            }
        });
        tx.commit().await?;
        Ok(expired)
    }
}
