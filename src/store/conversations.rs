//! Tickets, messages, ticket events and long-text parts, as the inbound pipeline writes
//! them inside one transaction.

use super::tx::BeginWrite;
use super::{Pool, Store, StoreError, StoreTx, on_pool, on_tx};
use crate::clock::Timestamp;

/// A ticket as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRecord {
    pub id: i64,
    pub contact_id: i64,
    pub channel: String,
    pub status: String,
    pub priority: String,
    pub language: String,
    pub assignee_id: Option<i64>,
    pub unanswered_count: i64,
    pub last_inbound_at: Option<i64>,
    pub last_outbound_at: Option<i64>,
    pub last_acknowledged_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    pub contact_id: i64,
    pub channel: &'a str,
    pub priority: &'a str,
    pub priority_rank: i64,
    pub language: &'a str,
}

/// A message to store. The body is sealed with the contact's data key.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub ticket_id: i64,
    pub contact_id: i64,
    pub channel: &'a str,
    pub direction: &'static str,
    pub kind: &'static str,
    pub provider_message_id: Option<&'a str>,
    pub sealed_body: &'a [u8],
    pub body_chars: i64,
    pub segments: i64,
    pub encoding: &'static str,
    pub author_id: Option<i64>,
    pub delivery_status: Option<&'static str>,
}

/// A stored part of a long text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredPart {
    pub part: i64,
    pub total: i64,
    pub provider_message_id: String,
    pub sealed_body: Vec<u8>,
}

const TICKET_COLUMNS: &str = "id, contact_id, channel, status, priority, language, assignee_id, \
    unanswered_count, last_inbound_at, last_outbound_at, last_acknowledged_at, closed_at";

impl StoreTx {
    /// Serialises work on one contact across nodes (PostgreSQL row lock). On SQLite the
    /// transaction already holds the database's write lock.
    pub async fn lock_contact(&mut self, contact_id: i64) -> Result<(), StoreError> {
        if let StoreTx::Postgres(tx) = self {
            sqlx::query("SELECT id FROM contacts WHERE id = $1 FOR UPDATE")
                .bind(contact_id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    pub async fn message_exists(
        &mut self,
        channel: &str,
        provider_message_id: &str,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "SELECT id FROM messages WHERE channel = $1 AND provider_message_id = $2",
            )
            .bind(channel)
            .bind(provider_message_id)
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(found.is_some())
    }

    /// The contact's most recent ticket, open or closed.
    pub async fn latest_ticket(
        &mut self,
        contact_id: i64,
    ) -> Result<Option<TicketRecord>, StoreError> {
        let ticket = on_tx!(self, |conn| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE contact_id = $1 \
                 ORDER BY id DESC LIMIT 1"
            )))
            .bind(contact_id)
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(ticket)
    }

    pub async fn create_ticket(
        &mut self,
        ticket: &NewTicket<'_>,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let id = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO tickets (contact_id, channel, status, priority, priority_rank, \
                 language, opened_at, updated_at) VALUES ($1, $2, 'new', $3, $4, $5, $6, $6) \
                 RETURNING id",
            )
            .bind(ticket.contact_id)
            .bind(ticket.channel)
            .bind(ticket.priority)
            .bind(ticket.priority_rank)
            .bind(ticket.language)
            .bind(now.millis())
            .fetch_one(&mut *conn)
            .await?
        });
        Ok(id)
    }

    pub async fn reopen_ticket(
        &mut self,
        ticket_id: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE tickets SET status = 'open', closed_at = NULL, unanswered_count = 0, \
                 updated_at = $1 WHERE id = $2",
            )
            .bind(now.millis())
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// A text arrived on the ticket: it waits for a caseworker again, one more text is
    /// unanswered, and its priority rises (never falls) to `priority`.
    pub async fn record_inbound_on_ticket(
        &mut self,
        ticket_id: i64,
        priority: &str,
        priority_rank: i64,
        language: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE tickets SET \
                 status = CASE WHEN status = 'waiting' THEN 'open' ELSE status END, \
                 unanswered_count = unanswered_count + 1, \
                 waiting_since = COALESCE(waiting_since, $1), last_inbound_at = $1, \
                 priority = CASE WHEN priority_rank < $2 THEN $3 ELSE priority END, \
                 priority_rank = CASE WHEN priority_rank < $2 THEN $2 ELSE priority_rank END, \
                 language = $4, updated_at = $1 WHERE id = $5",
            )
            .bind(now.millis())
            .bind(priority_rank)
            .bind(priority)
            .bind(language)
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Stores a message; `None` when the provider already delivered this one.
    pub async fn insert_message(
        &mut self,
        message: &NewMessage<'_>,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let id = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO messages (ticket_id, contact_id, channel, direction, kind, \
                 provider_message_id, sealed_body, body_chars, segments, encoding, author_id, \
                 delivery_status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(message.ticket_id)
            .bind(message.contact_id)
            .bind(message.channel)
            .bind(message.direction)
            .bind(message.kind)
            .bind(message.provider_message_id)
            .bind(message.sealed_body)
            .bind(message.body_chars)
            .bind(message.segments)
            .bind(message.encoding)
            .bind(message.author_id)
            .bind(message.delivery_status)
            .bind(now.millis())
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(id)
    }

    /// Something happened on a ticket that caseworkers should see (a keyword, an erase).
    pub async fn insert_ticket_event(
        &mut self,
        ticket_id: i64,
        kind: &str,
        actor_id: Option<i64>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO ticket_events (ticket_id, kind, actor_id, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(ticket_id)
            .bind(kind)
            .bind(actor_id)
            .bind(now.millis())
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    pub async fn note_contact_inbound(
        &mut self,
        contact_id: i64,
        language: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query("UPDATE contacts SET last_inbound_at = $1, language = $2 WHERE id = $3")
                .bind(now.millis())
                .bind(language)
                .bind(contact_id)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    pub async fn mark_acknowledged(
        &mut self,
        ticket_id: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query("UPDATE tickets SET last_acknowledged_at = $1 WHERE id = $2")
                .bind(now.millis())
                .bind(ticket_id)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// Keeps one part of a long text; `false` when this part was already kept.
    pub async fn save_part(
        &mut self,
        channel: &str,
        contact_id: i64,
        reference: &str,
        part: &StoredPart,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = on_tx!(self, |conn| {
            sqlx::query(
                "INSERT INTO inbound_parts (channel, contact_id, reference, part, total, \
                 provider_message_id, sealed_body, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(channel)
            .bind(contact_id)
            .bind(reference)
            .bind(part.part)
            .bind(part.total)
            .bind(&part.provider_message_id)
            .bind(&part.sealed_body)
            .bind(now.millis())
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    /// Every kept part of one long text, in order.
    pub async fn parts_of(
        &mut self,
        channel: &str,
        contact_id: i64,
        reference: &str,
    ) -> Result<Vec<StoredPart>, StoreError> {
        let parts = on_tx!(self, |conn| {
            sqlx::query_as(
                "SELECT part, total, provider_message_id, sealed_body FROM inbound_parts \
                 WHERE channel = $1 AND contact_id = $2 AND reference = $3 ORDER BY part",
            )
            .bind(channel)
            .bind(contact_id)
            .bind(reference)
            .fetch_all(&mut *conn)
            .await?
        });
        Ok(parts)
    }

    pub async fn forget_parts(
        &mut self,
        channel: &str,
        contact_id: i64,
        reference: &str,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "DELETE FROM inbound_parts WHERE channel = $1 AND contact_id = $2 \
                 AND reference = $3",
            )
            .bind(channel)
            .bind(contact_id)
            .bind(reference)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

/// The delivery status words stored, with their rank: a status only replaces one of a
/// lower rank, so a late `sent` never overwrites `delivered`.
const STATUS_RANK_SQL: &str = "CASE COALESCE(delivery_status, 'queued') \
    WHEN 'queued' THEN 0 WHEN 'sending' THEN 0 WHEN 'sent' THEN 1 ELSE 2 END";

impl Store {
    /// Applies a provider's delivery report to the message and outbox row it names.
    /// Returns the contact it concerns, or `None` for an id Textline never sent.
    pub async fn apply_delivery_status(
        &self,
        channel: &str,
        provider_message_id: &str,
        status: &str,
        rank: i64,
        error_code: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let lock = match self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => "FOR UPDATE",
        };
        let contact = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let contact: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT contact_id FROM outbox WHERE channel = $1 AND provider_message_id = $2 \
                 {lock}"
            )))
            .bind(channel)
            .bind(provider_message_id)
            .fetch_optional(&mut *tx)
            .await?;
            for table in ["outbox", "messages"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET delivery_status = $1, \
                     error_code = COALESCE($2, error_code) \
                     WHERE channel = $3 AND provider_message_id = $4 AND {STATUS_RANK_SQL} < $5"
                )))
                .bind(status)
                .bind(error_code)
                .bind(channel)
                .bind(provider_message_id)
                .bind(rank)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            contact
        });
        Ok(contact)
    }

    /// Records a ticket event in a transaction of its own.
    pub async fn add_ticket_event(
        &self,
        ticket_id: i64,
        kind: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.insert_ticket_event(ticket_id, kind, None, now).await?;
        tx.commit().await
    }

    /// Marks a contact opted out, as a provider reported (Twilio 21610, Telnyx 40300).
    pub async fn mark_opted_out(&self, contact_id: i64, now: Timestamp) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.set_opted_out(contact_id, Some(now)).await?;
        tx.cancel_unsolicited(contact_id, "opted out at the provider", now)
            .await?;
        tx.commit().await
    }
}
