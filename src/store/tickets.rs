//! The ticket queue as caseworkers see it: listing, claiming, replying, notes, closing.

use super::{Pool, Store, StoreError, StoreTx, on_pool, on_tx};
use crate::clock::Timestamp;

/// A ticket in the queue, with its texter's alias and nothing that identifies them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub id: i64,
    pub alias: String,
    pub channel: String,
    pub status: String,
    pub priority: String,
    pub language: String,
    pub assignee_id: Option<i64>,
    pub unanswered_count: i64,
    pub waiting_since: Option<i64>,
    pub opened_at: i64,
    pub updated_at: i64,
}

/// A ticket with what is needed to open its conversation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketDetail {
    pub id: i64,
    pub contact_id: i64,
    pub alias: String,
    pub channel: String,
    pub status: String,
    pub priority: String,
    pub language: String,
    pub assignee_id: Option<i64>,
    pub waiting_since: Option<i64>,
    pub first_response_at: Option<i64>,
    pub last_inbound_at: Option<i64>,
    pub wrapped_data_key: Option<Vec<u8>>,
    pub key_id: Option<String>,
    pub erased_at: Option<i64>,
    pub opted_out_at: Option<i64>,
}

/// A message of a conversation, body still sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub direction: String,
    pub kind: String,
    pub sealed_body: Option<Vec<u8>>,
    pub segments: i64,
    pub encoding: String,
    pub author_id: Option<i64>,
    pub delivery_status: Option<String>,
    pub created_at: i64,
}

/// A note or an event on a ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoteRow {
    pub id: i64,
    pub author_id: Option<i64>,
    pub sealed_body: Option<Vec<u8>>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub kind: String,
    pub actor_id: Option<i64>,
    pub created_at: i64,
}

/// Filters of the queue listing.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub assignee_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

const QUEUE_COLUMNS: &str = "tickets.id, contacts.alias, tickets.channel, tickets.status, \
    tickets.priority, tickets.language, tickets.assignee_id, tickets.unanswered_count, \
    tickets.waiting_since, tickets.opened_at, tickets.updated_at";

/// Most urgent first, then longest waiting.
const QUEUE_ORDER: &str =
    "tickets.priority_rank DESC, COALESCE(tickets.waiting_since, tickets.opened_at), tickets.id";

impl Store {
    /// The queue, most urgent and longest waiting first. Closed tickets only when asked.
    pub async fn list_tickets(&self, filter: &QueueFilter) -> Result<Vec<QueueRow>, StoreError> {
        let status_clause = match filter.status {
            Some(_) => "tickets.status = $1",
            None => "tickets.status <> 'closed' AND $1 IS NULL",
        };
        let assignee_clause = match filter.assignee_id {
            Some(_) => "tickets.assignee_id = $2",
            None => "$2 IS NULL",
        };
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM tickets JOIN contacts ON contacts.id = tickets.contact_id \
             WHERE {status_clause} AND {assignee_clause} ORDER BY {QUEUE_ORDER} LIMIT $3 OFFSET $4"
        );
        let rows = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(filter.status.clone())
                .bind(filter.assignee_id)
                .bind(filter.limit)
                .bind(filter.offset)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    pub async fn ticket_detail(&self, id: i64) -> Result<Option<TicketDetail>, StoreError> {
        let detail = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT tickets.id, tickets.contact_id, contacts.alias, tickets.channel, \
                 tickets.status, tickets.priority, tickets.language, tickets.assignee_id, \
                 tickets.waiting_since, tickets.first_response_at, tickets.last_inbound_at, \
                 contacts.wrapped_data_key, contacts.key_id, contacts.erased_at, \
                 contacts.opted_out_at \
                 FROM tickets JOIN contacts ON contacts.id = tickets.contact_id WHERE tickets.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(detail)
    }

    pub async fn ticket_messages(&self, ticket_id: i64) -> Result<Vec<MessageRow>, StoreError> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, direction, kind, sealed_body, segments, encoding, author_id, \
                 delivery_status, created_at FROM messages WHERE ticket_id = $1 ORDER BY id",
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn ticket_notes(&self, ticket_id: i64) -> Result<Vec<NoteRow>, StoreError> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, author_id, sealed_body, created_at FROM ticket_notes \
                 WHERE ticket_id = $1 ORDER BY id",
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn ticket_events(&self, ticket_id: i64) -> Result<Vec<EventRow>, StoreError> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT kind, actor_id, created_at FROM ticket_events WHERE ticket_id = $1 \
                 ORDER BY id",
            )
            .bind(ticket_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// The most urgent waiting ticket nobody has, now assigned to `user_id`.
    pub async fn claim_next_ticket(
        &self,
        user_id: i64,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let lock = match self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => "FOR UPDATE OF tickets SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE tickets SET assignee_id = $1, status = 'open', updated_at = $2 WHERE id = \
             (SELECT tickets.id FROM tickets WHERE tickets.assignee_id IS NULL \
             AND tickets.status IN ('new', 'open') ORDER BY {QUEUE_ORDER} LIMIT 1 {lock}) \
             RETURNING id"
        );
        let claimed = on_pool!(self, |pool| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(user_id)
                .bind(now.millis())
                .fetch_optional(pool)
                .await?
        });
        Ok(claimed)
    }
}

impl StoreTx {
    pub async fn assign_ticket(
        &mut self,
        ticket_id: i64,
        user_id: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE tickets SET assignee_id = $1, \
                 status = CASE WHEN status = 'new' THEN 'open' ELSE status END, updated_at = $2 \
                 WHERE id = $3",
            )
            .bind(user_id)
            .bind(now.millis())
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// A caseworker answered: the ticket waits for the texter now.
    pub async fn record_reply_on_ticket(
        &mut self,
        ticket_id: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE tickets SET status = 'waiting', unanswered_count = 0, \
                 waiting_since = NULL, first_response_at = COALESCE(first_response_at, $1), \
                 last_outbound_at = $1, updated_at = $1 WHERE id = $2",
            )
            .bind(now.millis())
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    pub async fn insert_note(
        &mut self,
        ticket_id: i64,
        author_id: i64,
        sealed_body: &[u8],
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let id = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO ticket_notes (ticket_id, author_id, sealed_body, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(ticket_id)
            .bind(author_id)
            .bind(sealed_body)
            .bind(now.millis())
            .fetch_one(&mut *conn)
            .await?
        });
        Ok(id)
    }

    pub async fn close_ticket(&mut self, ticket_id: i64, now: Timestamp) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE tickets SET status = 'closed', closed_at = $1, waiting_since = NULL, \
                 updated_at = $1 WHERE id = $2",
            )
            .bind(now.millis())
            .bind(ticket_id)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}
