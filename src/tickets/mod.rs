//! The ticket queue: what caseworkers do with a texter's conversation.
//!
//! Every view of a conversation, reply, note, assignment and close is written to the audit
//! log in the same transaction as the change (a view on its own). A caseworker acts on
//! tickets that are theirs or nobody's; supervisors and admins on any.

use crate::audit::{Action, Actor, AuditEntry};
use crate::clock::Clock;
use crate::privacy::seal::{SealedField, WrappedDataKey};
use crate::privacy::vault::{ContactKey, Field, Vault};
use crate::sms::{self, SegmentCount};
use crate::staff::{Caller, Role};
use crate::store::{EventRow, NewMessage, NewOutboxText, Store, StoreError, TicketDetail};

/// Longest reply a caseworker may send, in segments.
pub const MAX_REPLY_SEGMENTS: u32 = 6;

/// A reply that waits longer than this in the outbox is dropped and the caseworker told.
const REPLY_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(2 * 60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    #[error("no such ticket")]
    NotFound,
    #[error("this ticket belongs to another caseworker")]
    NotYours,
    #[error("the ticket is closed")]
    Closed,
    #[error("the texter erased their data")]
    Erased,
    #[error("the text is empty")]
    Empty,
    #[error(
        "the text needs {segments} segments ({encoding}); at most {MAX_REPLY_SEGMENTS} are allowed"
    )]
    TooLong {
        segments: u32,
        encoding: &'static str,
    },
    #[error("no such caseworker")]
    NoSuchAssignee,
    #[error("a stored field could not be opened")]
    Damaged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A conversation opened for one caseworker.
pub struct Conversation {
    pub ticket: TicketDetail,
    pub messages: Vec<OpenedMessage>,
    pub notes: Vec<OpenedNote>,
    pub events: Vec<EventRow>,
}

pub struct OpenedMessage {
    pub id: i64,
    pub direction: String,
    pub kind: String,
    /// `None` once retention or an erase destroyed it.
    pub body: Option<String>,
    pub segments: i64,
    pub encoding: String,
    pub delivery_status: Option<String>,
    pub created_at: i64,
}

pub struct OpenedNote {
    pub id: i64,
    pub author_id: Option<i64>,
    pub body: Option<String>,
    pub created_at: i64,
}

/// A reply queued for sending.
pub struct QueuedReply {
    pub message_id: i64,
    pub count: SegmentCount,
}

/// Opens a conversation, recording the view.
pub async fn view(
    store: &Store,
    vault: &Vault,
    clock: &Clock,
    caller: Caller,
    ticket_id: i64,
) -> Result<Conversation, TicketError> {
    let ticket = load(store, caller, ticket_id).await?;
    let key = open_key(vault, &ticket)?;

    let entry = audit(caller, Action::ConversationViewed, ticket_id);
    store.append_audit(&entry, clock.now()).await?;

    let messages = store
        .ticket_messages(ticket_id)
        .await?
        .into_iter()
        .map(|row| OpenedMessage {
            body: open(key.as_ref(), Field::MessageBody, row.sealed_body),
            id: row.id,
            direction: row.direction,
            kind: row.kind,
            segments: row.segments,
            encoding: row.encoding,
            delivery_status: row.delivery_status,
            created_at: row.created_at,
        })
        .collect();
    let notes = store
        .ticket_notes(ticket_id)
        .await?
        .into_iter()
        .map(|row| OpenedNote {
            body: open(key.as_ref(), Field::Note, row.sealed_body),
            id: row.id,
            author_id: row.author_id,
            created_at: row.created_at,
        })
        .collect();
    let events = store.ticket_events(ticket_id).await?;
    Ok(Conversation {
        ticket,
        messages,
        notes,
        events,
    })
}

/// Queues a caseworker's reply, taking the ticket if nobody had it.
pub async fn reply(
    store: &Store,
    vault: &Vault,
    clock: &Clock,
    caller: Caller,
    ticket_id: i64,
    text: &str,
) -> Result<QueuedReply, TicketError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TicketError::Empty);
    }
    let count = sms::count_segments(text);
    if count.segments > MAX_REPLY_SEGMENTS {
        return Err(TicketError::TooLong {
            segments: count.segments,
            encoding: count.encoding.as_str(),
        });
    }
    let ticket = load(store, caller, ticket_id).await?;
    if ticket.status == "closed" {
        return Err(TicketError::Closed);
    }
    let key = open_key(vault, &ticket)?.ok_or(TicketError::Erased)?;
    // TODO(#6): texting after the reply window needs a supervisor's approval with a reason;
    // until then any caseworker may reply to an open ticket however long it has been quiet.

    let now = clock.now();
    let mut tx = store.begin().await?;
    let message_id = tx
        .insert_message(
            &NewMessage {
                ticket_id,
                contact_id: ticket.contact_id,
                channel: &ticket.channel,
                direction: "outbound",
                kind: "reply",
                provider_message_id: None,
                sealed_body: key.seal(Field::MessageBody, text.as_bytes()).as_bytes(),
                body_chars: i64::try_from(text.chars().count()).unwrap_or(i64::MAX),
                segments: i64::from(count.segments),
                encoding: count.encoding.as_str(),
                author_id: Some(caller.user_id),
                delivery_status: Some("queued"),
            },
            now,
        )
        .await?
        .ok_or(TicketError::Store(StoreError::Conflict))?;
    tx.queue_text(&NewOutboxText {
        contact_id: ticket.contact_id,
        ticket_id: Some(ticket_id),
        message_id: Some(message_id),
        campaign_id: None,
        channel: ticket.channel.clone(),
        lane: 0,
        purpose: "reply",
        unsolicited: false,
        form: "free",
        sealed_body: key.seal(Field::OutboxBody, text.as_bytes()).into_bytes(),
        own_key: None,
        segments: i64::from(count.segments),
        encoding: count.encoding.as_str(),
        not_before: now,
        expires_at: Some(now.plus(REPLY_MAX_AGE)),
    })
    .await?;
    if ticket.assignee_id.is_none() {
        tx.assign_ticket(ticket_id, caller.user_id, now).await?;
    }
    tx.record_reply_on_ticket(ticket_id, now).await?;
    tx.append_audit(&audit(caller, Action::ReplySent, ticket_id), now)
        .await?;
    tx.commit().await?;
    Ok(QueuedReply { message_id, count })
}

/// Adds an internal note, sealed like the texter's words.
pub async fn add_note(
    store: &Store,
    vault: &Vault,
    clock: &Clock,
    caller: Caller,
    ticket_id: i64,
    text: &str,
) -> Result<i64, TicketError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(TicketError::Empty);
    }
    let ticket = load(store, caller, ticket_id).await?;
    let key = open_key(vault, &ticket)?.ok_or(TicketError::Erased)?;

    let now = clock.now();
    let mut tx = store.begin().await?;
    let id = tx
        .insert_note(
            ticket_id,
            caller.user_id,
            key.seal(Field::Note, text.as_bytes()).as_bytes(),
            now,
        )
        .await?;
    tx.append_audit(&audit(caller, Action::NoteAdded, ticket_id), now)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// Gives a ticket to a caseworker. Caseworkers may only take a ticket for themselves.
pub async fn assign(
    store: &Store,
    clock: &Clock,
    caller: Caller,
    ticket_id: i64,
    assignee_id: i64,
) -> Result<(), TicketError> {
    if caller.role == Role::Caseworker && assignee_id != caller.user_id {
        return Err(TicketError::NotYours);
    }
    let ticket = load(store, caller, ticket_id).await?;
    if ticket.status == "closed" {
        return Err(TicketError::Closed);
    }
    if !store.user_exists(assignee_id).await? {
        return Err(TicketError::NoSuchAssignee);
    }

    let now = clock.now();
    let mut tx = store.begin().await?;
    tx.assign_ticket(ticket_id, assignee_id, now).await?;
    let mut entry = audit(caller, Action::TicketAssigned, ticket_id);
    entry.reason = Some(format!("to staff:{assignee_id}"));
    tx.append_audit(&entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Takes the most urgent ticket nobody has.
pub async fn take_next(
    store: &Store,
    clock: &Clock,
    caller: Caller,
) -> Result<Option<i64>, TicketError> {
    let now = clock.now();
    let Some(ticket_id) = store.claim_next_ticket(caller.user_id, now).await? else {
        return Ok(None);
    };
    store
        .append_audit(&audit(caller, Action::TicketAssigned, ticket_id), now)
        .await?;
    Ok(Some(ticket_id))
}

pub async fn close(
    store: &Store,
    clock: &Clock,
    caller: Caller,
    ticket_id: i64,
) -> Result<(), TicketError> {
    let ticket = load(store, caller, ticket_id).await?;
    if ticket.status == "closed" {
        return Err(TicketError::Closed);
    }

    let now = clock.now();
    let mut tx = store.begin().await?;
    tx.close_ticket(ticket_id, now).await?;
    tx.insert_ticket_event(ticket_id, "closed", Some(caller.user_id), now)
        .await?;
    tx.append_audit(&audit(caller, Action::TicketClosed, ticket_id), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The ticket, if the caller may act on it.
async fn load(store: &Store, caller: Caller, ticket_id: i64) -> Result<TicketDetail, TicketError> {
    let ticket = store
        .ticket_detail(ticket_id)
        .await?
        .ok_or(TicketError::NotFound)?;
    let theirs_or_free = ticket
        .assignee_id
        .is_none_or(|assignee| assignee == caller.user_id);
    if caller.role == Role::Caseworker && !theirs_or_free {
        return Err(TicketError::NotYours);
    }
    Ok(ticket)
}

/// The contact's key, or `None` after an erase.
fn open_key(vault: &Vault, ticket: &TicketDetail) -> Result<Option<ContactKey>, TicketError> {
    let (Some(key_id), Some(ciphertext)) = (&ticket.key_id, &ticket.wrapped_data_key) else {
        return Ok(None);
    };
    let wrapped = WrappedDataKey {
        key_id: key_id.clone(),
        ciphertext: ciphertext.clone(),
    };
    vault
        .contact_key(&wrapped)
        .map(Some)
        .map_err(|_| TicketError::Damaged)
}

/// A body, or `None` when destroyed. A body that fails to open is shown as destroyed and
/// logged without content rather than failing the whole conversation.
fn open(key: Option<&ContactKey>, field: Field, sealed: Option<Vec<u8>>) -> Option<String> {
    let (key, sealed) = (key?, sealed?);
    match key.open_text(field, &SealedField::from_bytes(sealed)) {
        Ok(text) => Some(text.to_string()),
        Err(_) => {
            tracing::warn!("a stored text could not be opened");
            None
        }
    }
}

fn audit(caller: Caller, action: Action, ticket_id: i64) -> AuditEntry {
    AuditEntry {
        actor: Actor::Staff(caller.user_id),
        action,
        subject: format!("ticket:{ticket_id}"),
        reason: None,
    }
}
