//! The outbox's storage: queueing in the caller's transaction, claiming due texts,
//! and recording what became of each send.

use super::tx::BeginWrite;
use super::{Pool, Store, StoreError, StoreTx, on_pool, on_tx};
use crate::clock::Timestamp;
use crate::privacy::seal::WrappedDataKey;

/// A text to queue.
#[derive(Debug, Clone)]
pub struct NewOutboxText {
    pub contact_id: i64,
    pub ticket_id: Option<i64>,
    pub message_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub channel: String,
    pub lane: i64,
    pub purpose: &'static str,
    pub unsolicited: bool,
    pub form: &'static str,
    pub sealed_body: Vec<u8>,
    /// For a text that outlives its contact's key (the erase confirmation): its own key,
    /// and the number sealed with it.
    pub own_key: Option<(WrappedDataKey, Vec<u8>)>,
    pub segments: i64,
    pub encoding: &'static str,
    pub not_before: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A text claimed for sending, with what the sending gates need to know.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedText {
    pub id: i64,
    pub contact_id: i64,
    pub ticket_id: Option<i64>,
    pub message_id: Option<i64>,
    pub channel: String,
    pub lane: i64,
    pub purpose: String,
    pub unsolicited: bool,
    pub form: String,
    pub sealed_body: Option<Vec<u8>>,
    pub own_key_id: Option<String>,
    pub own_wrapped_key: Option<Vec<u8>>,
    pub own_sealed_number: Option<Vec<u8>>,
    pub segments: i64,
    pub attempts: i64,
    pub expires_at: Option<i64>,
    pub created_at: i64,
}

/// A row of the outbox as operators see it: no body.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub contact_id: i64,
    pub channel: String,
    pub lane: i64,
    pub purpose: String,
    pub status: String,
    pub attempts: i64,
    pub provider_message_id: Option<String>,
    pub delivery_status: Option<String>,
    pub last_error: Option<String>,
}

const CLAIMED_COLUMNS: &str = "id, contact_id, ticket_id, message_id, channel, lane, purpose, \
    unsolicited, form, sealed_body, own_key_id, own_wrapped_key, own_sealed_number, segments, \
    attempts, expires_at, created_at";

/// Destroys a finished row's sealed fields.
const FORGET_SEALED: &str = "sealed_body = NULL, own_key_id = NULL, own_wrapped_key = NULL, \
    own_sealed_number = NULL";

impl StoreTx {
    pub async fn queue_text(&mut self, text: &NewOutboxText) -> Result<i64, StoreError> {
        let id = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO outbox (contact_id, ticket_id, message_id, campaign_id, channel, \
                 lane, purpose, unsolicited, sealed_body, own_key_id, own_wrapped_key, \
                 own_sealed_number, segments, encoding, status, next_attempt_at, expires_at, \
                 created_at, form) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, 'queued', $15, $16, $15, $17) RETURNING id",
            )
            .bind(text.contact_id)
            .bind(text.ticket_id)
            .bind(text.message_id)
            .bind(text.campaign_id)
            .bind(&text.channel)
            .bind(text.lane)
            .bind(text.purpose)
            .bind(text.unsolicited)
            .bind(&text.sealed_body)
            .bind(text.own_key.as_ref().map(|(key, _)| key.key_id.clone()))
            .bind(text.own_key.as_ref().map(|(key, _)| key.ciphertext.clone()))
            .bind(text.own_key.as_ref().map(|(_, number)| number.clone()))
            .bind(text.segments)
            .bind(text.encoding)
            .bind(text.not_before.millis())
            .bind(text.expires_at.map(Timestamp::millis))
            .bind(text.form)
            .fetch_one(&mut *conn)
            .await?
        });
        Ok(id)
    }

    /// Cancels every queued unsolicited text to a contact (a STOP), returning how many.
    pub async fn cancel_unsolicited(
        &mut self,
        contact_id: i64,
        reason: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let cancelled = on_tx!(self, |conn| {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET status = 'cancelled', last_error = $1, finished_at = $2, \
                 {FORGET_SEALED} WHERE contact_id = $3 AND unsolicited AND status = 'queued'"
            )))
            .bind(reason)
            .bind(now.millis())
            .bind(contact_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(cancelled)
    }

    /// Cancels every queued text to a contact (an erase).
    pub async fn cancel_all_for_contact(
        &mut self,
        contact_id: i64,
        reason: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let cancelled = on_tx!(self, |conn| {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET status = 'cancelled', last_error = $1, finished_at = $2, \
                 {FORGET_SEALED} WHERE contact_id = $3 AND status = 'queued'"
            )))
            .bind(reason)
            .bind(now.millis())
            .bind(contact_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(cancelled)
    }
}

impl Store {
    /// Claims up to `limit` due texts of `channel` for `worker`, conversation lane first,
    /// recording the attempt before anything is sent. On PostgreSQL, rows another node
    /// holds are skipped rather than waited for.
    pub async fn claim_due(
        &self,
        channel: &str,
        worker: &str,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedText>, StoreError> {
        let lock = match self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, claimed_by = $1, \
             claimed_at = $2 WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' \
             AND channel = $3 AND next_attempt_at <= $2 ORDER BY lane, next_attempt_at, id \
             LIMIT $4 {lock}) RETURNING {CLAIMED_COLUMNS}"
        );
        let mut claimed: Vec<ClaimedText> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(worker)
                .bind(now.millis())
                .bind(channel)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        claimed.sort_by_key(|text| (text.lane, text.id));
        Ok(claimed)
    }

    /// The provider accepted the text.
    pub async fn mark_sent(
        &self,
        text: &ClaimedText,
        provider_message_id: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET status = 'sent', provider_message_id = $1, \
                 delivery_status = 'sent', finished_at = $2, {FORGET_SEALED}, \
                 last_error = NULL WHERE id = $3"
            )))
            .bind(provider_message_id)
            .bind(now.millis())
            .bind(text.id)
            .execute(&mut *tx)
            .await?;
            if let Some(message_id) = text.message_id {
                sqlx::query(
                    "UPDATE messages SET provider_message_id = $1, delivery_status = 'sent' \
                     WHERE id = $2",
                )
                .bind(provider_message_id)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            }
            // Only a caseworker's reply answers the texter; automatic replies do not.
            if let (Some(ticket_id), "reply") = (text.ticket_id, text.purpose.as_str()) {
                sqlx::query("UPDATE tickets SET last_outbound_at = $1 WHERE id = $2")
                    .bind(now.millis())
                    .bind(ticket_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Puts a text back in the queue for a later attempt.
    pub async fn mark_retry(
        &self,
        id: i64,
        next_attempt_at: Timestamp,
        error: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'queued', next_attempt_at = $1, last_error = $2, \
                 claimed_by = NULL WHERE id = $3 AND status = 'sending'",
            )
            .bind(next_attempt_at.millis())
            .bind(error)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Ends a text without sending it: `failed`, `cancelled` or `expired`, with the reason.
    pub async fn mark_finished(
        &self,
        text: &ClaimedText,
        status: &'static str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET status = $1, last_error = $2, finished_at = $3, \
                 {FORGET_SEALED} WHERE id = $4"
            )))
            .bind(status)
            .bind(reason)
            .bind(now.millis())
            .bind(text.id)
            .execute(&mut *tx)
            .await?;
            if let Some(message_id) = text.message_id {
                sqlx::query(
                    "UPDATE messages SET delivery_status = $1, error_code = $2 WHERE id = $3",
                )
                .bind(status)
                .bind(reason)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Texts left `sending` by a stopped worker: the provider may or may not have them.
    /// They are marked `unknown` and shown, never resent blindly.
    pub async fn mark_interrupted_sends(
        &self,
        claimed_before: Timestamp,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let marked = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'unknown', finished_at = $1, \
                 last_error = 'interrupted while sending; not resent' \
                 WHERE status = 'sending' AND claimed_at < $2",
            )
            .bind(now.millis())
            .bind(claimed_before.millis())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(marked)
    }

    /// Hands a queued text to another channel (failover), due at once.
    pub async fn reroute(&self, id: i64, channel: &str, now: Timestamp) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET channel = $1, status = 'queued', next_attempt_at = $2, \
                 claimed_by = NULL WHERE id = $3 AND status = 'sending'",
            )
            .bind(channel)
            .bind(now.millis())
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Rows of the outbox, newest first, without bodies.
    pub async fn outbox_rows(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, contact_id, channel, lane, purpose, status, attempts, \
                 provider_message_id, delivery_status, last_error FROM outbox \
                 ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
