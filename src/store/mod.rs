//! The store: the only module that speaks SQL, on SQLite or PostgreSQL.
//!
//! Callers see one [`Store`] whatever the backend. Queries written once use `$1`-style
//! parameters, which both backends accept; the few statements that differ are written
//! per backend in the same function, side by side, so the difference is visible.

mod audit;
mod contacts;
mod conversations;
mod keys;
mod outbox;
mod retention;
mod staff;
mod tickets;
mod tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::DatabaseUrl;

pub use contacts::{ContactRecord, ErasedCounts};
pub use conversations::{NewMessage, NewTicket, StoredPart, TicketRecord};
pub use keys::{FinishOutcome, OutboxKey, RotatingMasterKey, StoredMasterKey};
pub use outbox::{ClaimedText, NewOutboxText, OutboxRow};
pub use staff::{CallerRecord, FirstAdminOutcome, UserRecord};
pub use tickets::{EventRow, MessageRow, NoteRow, QueueFilter, QueueRow, TicketDetail};
pub use tx::StoreTx;
pub(crate) use tx::on_tx;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a statement waits for SQLite's write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a free connection before the store reports itself busy.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle to the database; cheap to clone, all clones share one pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool. The body is compiled once per
/// backend, so queries that read the same on both are written once.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            crate::store::Pool::Sqlite($pool) => $body,
            crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database query failed")]
    Query(#[source] sqlx::Error),
    #[error("database migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("record already exists")]
    Conflict,
    #[error("cannot create the SQLite directory")]
    Directory(#[source] std::io::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error)
            }
            _ => StoreError::Query(error),
        }
    }
}

/// Why the store is not ready to serve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotReady {
    #[error("database unreachable")]
    Unreachable,
    #[error("migrations pending: database at version {applied}, code expects {expected}")]
    MigrationsPending { applied: i64, expected: i64 },
}

/// Open and idle connections, for the metrics endpoint.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub connections: u32,
    pub idle: usize,
}

impl Store {
    /// Opens the database. SQLite files (and their directory) are created when missing and
    /// run in WAL mode with full fsync, so an acknowledged write survives a crash.
    pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Self, StoreError> {
        let pool = match url {
            DatabaseUrl::Sqlite { path } => {
                create_parent_directory(path)?;
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    // Erased and purged fields are overwritten with zeros, not left in
                    // free pages of the file.
                    .pragma("secure_delete", "ON");
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Unavailable)?;
                Pool::Sqlite(pool)
            }
            DatabaseUrl::Postgres { url } => {
                let options = PgConnectOptions::from_str(url.expose_secret())
                    .map_err(StoreError::Unavailable)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(StoreError::Unavailable)?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool })
    }

    /// Applies every migration the database does not have yet; returns how many ran.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let before = self.applied_version().await?;
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        let count = self
            .migrator()
            .iter()
            .filter(|migration| migration.version > before.unwrap_or(0))
            .count();
        Ok(count)
    }

    /// Ready means reachable and at the schema version this build expects.
    pub async fn readiness(&self) -> Result<(), NotReady> {
        let applied = self
            .applied_version()
            .await
            .map_err(|_| NotReady::Unreachable)?;
        let expected = self.expected_version();
        match applied {
            Some(applied) if applied >= expected => Ok(()),
            applied => Err(NotReady::MigrationsPending {
                applied: applied.unwrap_or(0),
                expected,
            }),
        }
    }

    /// The newest migration this build carries.
    pub fn expected_version(&self) -> i64 {
        self.migrator()
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or(0)
    }

    pub fn backend_name(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        on_pool!(self, |pool| PoolStats {
            connections: pool.size(),
            idle: pool.num_idle()
        })
    }

    /// Moves SQLite's write-ahead log into the database file and empties it, so pages
    /// overwritten by an erase leave no older copy in the log. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite(pool) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Waits for borrowed connections to return, then closes them all.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }

    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// The highest successfully applied migration, `None` on a database never migrated.
    async fn applied_version(&self) -> Result<Option<i64>, StoreError> {
        let table_exists: bool = match &self.pool {
            Pool::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                     WHERE type = 'table' AND name = '_sqlx_migrations')",
                )
                .fetch_one(pool)
                .await?
            }
            Pool::Postgres(pool) => {
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        };
        if !table_exists {
            return Ok(None);
        }
        let version: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(version)
    }
}

fn create_parent_directory(path: &Path) -> Result<(), StoreError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(StoreError::Directory)
        }
        _ => Ok(()),
    }
}
