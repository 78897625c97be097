//! Write transactions that domain code drives step by step.
//!
//! A [`StoreTx`] holds one open transaction on either backend. SQLite transactions begin
//! `IMMEDIATE`, taking the write lock at once, so two writers never deadlock upgrading a
//! read lock. Dropping a `StoreTx` without `commit` rolls it back.

use sqlx::{Postgres, Sqlite, Transaction};

use super::{Pool, Store, StoreError};

pub enum StoreTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once per backend.
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            crate::store::StoreTx::Sqlite(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
            crate::store::StoreTx::Postgres(transaction) => {
                let $conn = &mut **transaction;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Store {
    /// Opens a write transaction.
    pub async fn begin(&self) -> Result<StoreTx, StoreError> {
        let tx = match &self.pool {
            Pool::Sqlite(pool) => StoreTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(pool) => StoreTx::Postgres(pool.begin().await?),
        };
        Ok(tx)
    }
}

impl StoreTx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            StoreTx::Sqlite(tx) => tx.commit().await?,
            StoreTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}
