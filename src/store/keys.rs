//! Records of the master keys data was written with; no key material, only check values.

use super::{Store, StoreError, on_pool};
use crate::clock::Timestamp;

/// A master key the database knows: its public id and the value that proves a key is it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredMasterKey {
    pub id: String,
    pub check_value: Vec<u8>,
}

impl Store {
    /// The key the data is currently written with, if any was recorded.
    pub async fn current_master_key(&self) -> Result<Option<StoredMasterKey>, StoreError> {
        let key = on_pool!(self, |pool| {
            sqlx::query_as::<_, StoredMasterKey>(
                "SELECT id, check_value FROM master_keys WHERE retired_at IS NULL \
                 ORDER BY created_at DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?
        });
        Ok(key)
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
}
