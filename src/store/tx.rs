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

/// Opens a write transaction on a pool of either backend: `BEGIN IMMEDIATE` on SQLite, so
/// a transaction that reads before it writes never fails to upgrade its lock.
pub(crate) trait BeginWrite {
    type Database: sqlx::Database;

    async fn begin_write(&self) -> Result<Transaction<'static, Self::Database>, sqlx::Error>;
}

impl BeginWrite for sqlx::SqlitePool {
    type Database = Sqlite;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for sqlx::PgPool {
    type Database = Postgres;

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.begin().await
    }
}
