//! Records of the master keys data was written with, and the steps of a key rotation.
//!
//! No clear key material is stored: a key is known by its id and check value. Only while a
//! rotation runs are the two keys stored, each sealed under the other.

use super::{Store, StoreError, StoreTx, on_pool, on_tx};
use crate::audit::AuditEntry;
use crate::clock::Timestamp;
use crate::privacy::seal::WrappedDataKey;

/// A master key the database knows: its public id and the value that proves a key is it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredMasterKey {
    pub id: String,
    pub check_value: Vec<u8>,
}

/// The new key of a rotation that has not finished.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RotatingMasterKey {
    pub id: String,
    pub check_value: Vec<u8>,
    pub created_at: i64,
    /// This key, sealed under the current key.
    pub sealed_by_previous: Vec<u8>,
    /// The current key, sealed under this one.
    pub previous_sealed: Vec<u8>,
}

/// An outbox text's own data key (the last text to an erased contact), to re-wrap.
#[derive(Debug, Clone)]
pub struct OutboxKey {
    pub outbox_id: i64,
    pub wrapped: WrappedDataKey,
}

/// How an attempt to finish a rotation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishOutcome {
    Finished,
    /// Data keys still wrapped under the previous key; nothing was changed.
    Remaining(u64),
    /// No rotation from these keys is running (another run finished it).
    NotRotating,
}

impl Store {
    /// The key the data is currently written with, if any was recorded.
    pub async fn current_master_key(&self) -> Result<Option<StoredMasterKey>, StoreError> {
        let key = on_pool!(self, |pool| {
            sqlx::query_as::<_, StoredMasterKey>(
                "SELECT id, check_value FROM master_keys WHERE state = 'current'",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(key)
    }

    /// The new key of an unfinished rotation, if one runs.
    pub async fn rotating_master_key(&self) -> Result<Option<RotatingMasterKey>, StoreError> {
        let key = on_pool!(self, |pool| {
            sqlx::query_as::<_, RotatingMasterKey>(
                "SELECT id, check_value, created_at, sealed_by_previous, previous_sealed \
                 FROM master_keys WHERE state = 'rotating' \
                 AND sealed_by_previous IS NOT NULL AND previous_sealed IS NOT NULL",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(key)
    }

    /// Whether `id` names a key that a finished rotation retired.
    pub async fn is_retired_master_key(&self, id: &str) -> Result<bool, StoreError> {
        let retired: bool = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM master_keys WHERE id = $1 AND state = 'retired')",
            )
            .bind(id)
            .fetch_one(pool)
            .await?
        });
        Ok(retired)
    }

    /// Records the key of a new deployment, before anything is written with it.
    pub async fn record_master_key(
        &self,
        id: &str,
        check_value: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO master_keys (id, check_value, created_at) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(check_value)
            .bind(now.millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records the new key of a rotation. `Conflict` when another rotation already runs.
    pub async fn record_rotating_master_key(
        &self,
        key: &RotatingMasterKey,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO master_keys (id, check_value, created_at, state, \
                 sealed_by_previous, previous_sealed) VALUES ($1, $2, $3, 'rotating', $4, $5)",
            )
            .bind(&key.id)
            .bind(&key.check_value)
            .bind(key.created_at)
            .bind(&key.sealed_by_previous)
            .bind(&key.previous_sealed)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// How many data keys (contacts' and outbox texts') are not wrapped under `key_id`.
    pub async fn count_keys_to_rewrap(&self, key_id: &str) -> Result<u64, StoreError> {
        let count: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM contacts \
                 WHERE key_id IS NOT NULL AND key_id <> $1) \
                 + (SELECT COUNT(*) FROM outbox \
                 WHERE own_key_id IS NOT NULL AND own_key_id <> $1)",
            )
            .bind(key_id)
            .fetch_one(pool)
            .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Outbox texts whose own data key is wrapped under another key than `current_key_id`.
    pub async fn outbox_keys_to_rewrap(
        &self,
        current_key_id: &str,
        limit: i64,
    ) -> Result<Vec<OutboxKey>, StoreError> {
        let rows: Vec<(i64, String, Vec<u8>)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, own_key_id, own_wrapped_key FROM outbox \
                 WHERE own_key_id IS NOT NULL AND own_wrapped_key IS NOT NULL \
                 AND own_key_id <> $1 ORDER BY id LIMIT $2",
            )
            .bind(current_key_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let keys = rows
            .into_iter()
            .map(|(outbox_id, key_id, ciphertext)| OutboxKey {
                outbox_id,
                wrapped: WrappedDataKey { key_id, ciphertext },
            })
            .collect();
        Ok(keys)
    }

    /// Retires `previous_id` and makes `next_id` current, destroying both sealed copies and
    /// appending `entry`, all in one transaction; unless a data key is still wrapped under
    /// `previous_id`. On PostgreSQL the contacts and outbox are locked against writes while
    /// this counts, so no key wrapped under the old key can slip in between.
    pub async fn finish_rotation(
        &self,
        previous_id: &str,
        next_id: &str,
        entry: &AuditEntry,
        now: Timestamp,
    ) -> Result<FinishOutcome, StoreError> {
        let mut tx = self.begin().await?;
        if let StoreTx::Postgres(transaction) = &mut tx {
            sqlx::query("LOCK TABLE contacts, outbox IN SHARE MODE")
                .execute(&mut **transaction)
                .await?;
        }
        let remaining = tx.count_wrapped_under(previous_id).await?;
        if remaining > 0 {
            return Ok(FinishOutcome::Remaining(remaining));
        }
        if !tx.promote_rotating_key(previous_id, next_id, now).await? {
            return Ok(FinishOutcome::NotRotating);
        }
        tx.append_audit(entry, now).await?;
        tx.commit().await?;

        // The sealed copies were overwritten in place; this empties SQLite's log of them.
        self.checkpoint().await?;
        Ok(FinishOutcome::Finished)
    }
}

impl StoreTx {
    /// Stores an outbox text's own data key re-wrapped under a new master key, unless the
    /// text changed meanwhile (sent and its key destroyed, or already re-wrapped).
    pub async fn store_rewrapped_outbox_key(
        &mut self,
        outbox_id: i64,
        previous_key_id: &str,
        wrapped: &WrappedDataKey,
    ) -> Result<bool, StoreError> {
        let updated = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE outbox SET own_key_id = $1, own_wrapped_key = $2 \
                 WHERE id = $3 AND own_key_id = $4",
            )
            .bind(&wrapped.key_id)
            .bind(&wrapped.ciphertext)
            .bind(outbox_id)
            .bind(previous_key_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    async fn count_wrapped_under(&mut self, key_id: &str) -> Result<u64, StoreError> {
        let count: i64 = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM contacts WHERE key_id = $1) \
                 + (SELECT COUNT(*) FROM outbox WHERE own_key_id = $1)",
            )
            .bind(key_id)
            .fetch_one(&mut *conn)
            .await?
        });
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Retires the current key first: at most one key is current at any time.
    async fn promote_rotating_key(
        &mut self,
        previous_id: &str,
        next_id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (retired, promoted) = on_tx!(self, |conn| {
            let retired = sqlx::query(
                "UPDATE master_keys SET state = 'retired', retired_at = $1 \
                 WHERE id = $2 AND state = 'current'",
            )
            .bind(now.millis())
            .bind(previous_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let promoted = sqlx::query(
                "UPDATE master_keys SET state = 'current', sealed_by_previous = NULL, \
                 previous_sealed = NULL WHERE id = $1 AND state = 'rotating'",
            )
            .bind(next_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            (retired, promoted)
        });
        Ok(retired == 1 && promoted == 1)
    }
}
