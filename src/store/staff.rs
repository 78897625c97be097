//! Staff accounts, API tokens and first-admin setup links.

use super::tx::BeginWrite;
use super::{Store, StoreError, on_pool};
use crate::clock::Timestamp;

/// A staff account as stored. The email address stays in the store and the login form.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub role: String,
    pub disabled_at: Option<i64>,
}

/// Who presented a valid API token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CallerRecord {
    pub user_id: i64,
    pub role: String,
}

/// What became of an attempt to create the first admin from a setup link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstAdminOutcome {
    Created {
        user_id: i64,
    },
    /// The link is unknown, used or expired.
    LinkNotValid,
    /// Someone already has an account; setup links only create the first one.
    AccountsExist,
}

impl Store {
    pub async fn insert_user(
        &self,
        email: &str,
        role: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let id = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO users (email, role, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(email)
            .bind(role)
            .bind(password_hash)
            .bind(now.millis())
            .fetch_one(pool)
            .await?
        });
        Ok(id)
    }

    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let user = on_pool!(self, |pool| {
            sqlx::query_as::<_, UserRecord>(
                "SELECT id, role, disabled_at FROM users WHERE email = $1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await?
        });
        Ok(user)
    }

    pub async fn user_exists(&self, id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND disabled_at IS NULL")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let count = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }

    pub async fn list_users(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let users = on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, email, role FROM users ORDER BY id")
                .fetch_all(pool)
                .await?
        });
        Ok(users)
    }

    pub async fn insert_api_token(
        &self,
        user_id: i64,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
            )
            .bind(user_id)
            .bind(token_hash)
            .bind(now.millis())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The account behind a token hash, if the token is live and the account enabled.
    pub async fn find_caller_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<CallerRecord>, StoreError> {
        let caller = on_pool!(self, |pool| {
            sqlx::query_as::<_, CallerRecord>(
                "SELECT users.id AS user_id, users.role FROM api_tokens \
                 JOIN users ON users.id = api_tokens.user_id \
                 WHERE api_tokens.token_hash = $1 AND api_tokens.revoked_at IS NULL \
                 AND users.disabled_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        Ok(caller)
    }

    /// Makes `code_hash` the only setup link: earlier unused links stop working.
    pub async fn replace_setup_link(
        &self,
        code_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM setup_links WHERE used_at IS NULL")
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO setup_links (code_hash, created_at, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(code_hash)
            .bind(now.millis())
            .bind(expires_at.millis())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Uses the setup link and creates the first admin in one transaction, so a link
    /// works once and only while no account exists.
    pub async fn create_first_admin(
        &self,
        code_hash: &[u8],
        email: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<FirstAdminOutcome, StoreError> {
        let outcome = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let used = sqlx::query(
                "UPDATE setup_links SET used_at = $1 \
                 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(now.millis())
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
                return Ok(FirstAdminOutcome::LinkNotValid);
            }
            let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(&mut *tx)
                .await?;
            if accounts > 0 {
                return Ok(FirstAdminOutcome::AccountsExist);
            }
            let user_id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, role, password_hash, created_at) \
                 VALUES ($1, 'admin', $2, $3) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(now.millis())
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            FirstAdminOutcome::Created { user_id }
        });
        Ok(outcome)
    }
}
