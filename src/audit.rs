//! The audit log: an append-only chain of who did what to which ticket or contact, when.
//!
//! Each entry carries the hash of the one before it, so an entry edited or deleted after
//! the fact breaks the chain, which `textline audit verify` finds. Entries name the actor,
//! the action, the subject (a ticket id, an alias) and the time; never what anyone wrote.
//! Expiry removes the oldest entries only, and records where the chain now starts.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::clock::Timestamp;

/// Length of an entry hash.
pub const HASH_LEN: usize = 32;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Staff(i64),
    /// A texter, by alias, acting through a keyword.
    Texter(String),
    /// The service itself: scheduled jobs.
    System,
    /// An operator at the server's command line.
    Operator,
}

/// What was done. The names are stable: they are stored and hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ContactErased,
    NumberRevealed,
    ConversationViewed,
    ReplySent,
    NoteAdded,
    TicketAssigned,
    TicketTransferred,
    FirstTextApproved,
    TicketClosed,
    RetentionPurged,
    AuditExpired,
    KeysRotated,
}

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: Actor,
    pub action: Action,
    pub subject: String,
    pub reason: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub reason: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// The chain's newest entry and where expiry cut it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditHead {
    pub last_id: i64,
    pub last_hash: Vec<u8>,
    pub expired_through_id: i64,
    pub expired_anchor_hash: Vec<u8>,
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {id} was changed after it was written")]
    Edited { id: i64 },
    #[error("entries are missing between {after} and {found}")]
    Missing { after: i64, found: i64 },
    #[error("the newest entries are missing: the chain ends at {found}, the head says {expected}")]
    Truncated { found: i64, expected: i64 },
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    pub first_id: i64,
    pub last_id: i64,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Staff(id) => write!(f, "staff:{id}"),
            Actor::Texter(alias) => write!(f, "texter:{alias}"),
            Actor::System => f.write_str("system"),
            Actor::Operator => f.write_str("operator"),
        }
    }
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ContactErased => "contact.erased",
            Action::NumberRevealed => "contact.number_revealed",
            Action::ConversationViewed => "conversation.viewed",
            Action::ReplySent => "ticket.reply_sent",
            Action::NoteAdded => "ticket.note_added",
            Action::TicketAssigned => "ticket.assigned",
            Action::TicketTransferred => "ticket.transferred",
            Action::FirstTextApproved => "ticket.first_text_approved",
            Action::TicketClosed => "ticket.closed",
            Action::RetentionPurged => "retention.purged",
            Action::AuditExpired => "audit.expired",
            Action::KeysRotated => "keys.rotated",
        }
    }
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each
/// length-prefixed so that no two different entries hash the same input.
pub fn entry_hash(
    prev_hash: &[u8],
    id: i64,
    at: Timestamp,
    actor: &str,
    action: &str,
    subject: &str,
    reason: Option<&str>,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    let id_text = id.to_string();
    let at_text = at.millis().to_string();
    let fields: [&[u8]; 7] = [
        prev_hash,
        id_text.as_bytes(),
        at_text.as_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        subject.as_bytes(),
        reason.unwrap_or("\u{0}none").as_bytes(),
    ];
    for field in fields {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field);
    }
    hasher.finalize().to_vec()
}

/// Checks entries given in id order against each other and the head.
pub struct ChainVerifier {
    expected_prev: Vec<u8>,
    expected_id: i64,
    first_id: Option<i64>,
    entries: u64,
}

impl ChainVerifier {
    pub fn new(head: &AuditHead) -> Self {
        Self {
            expected_prev: head.expired_anchor_hash.clone(),
            expected_id: head.expired_through_id + 1,
            first_id: None,
            entries: 0,
        }
    }

    pub fn check(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        if record.id != self.expected_id {
            return Err(ChainBreak::Missing {
                after: self.expected_id - 1,
                found: record.id,
            });
        }
        let recomputed = entry_hash(
            &record.prev_hash,
            record.id,
            Timestamp(record.at),
            &record.actor,
            &record.action,
            &record.subject,
            record.reason.as_deref(),
        );
        if recomputed != record.hash {
            return Err(ChainBreak::Edited { id: record.id });
        }
        if record.prev_hash != self.expected_prev {
            return Err(ChainBreak::Edited { id: record.id - 1 });
        }
        self.expected_prev = record.hash.clone();
        self.expected_id += 1;
        self.first_id.get_or_insert(record.id);
        self.entries += 1;
        Ok(())
    }

    pub fn finish(self, head: &AuditHead) -> Result<ChainReport, ChainBreak> {
        let last_id = self.expected_id - 1;
        if last_id != head.last_id {
            return Err(ChainBreak::Truncated {
                found: last_id,
                expected: head.last_id,
            });
        }
        if head.last_id > head.expired_through_id && self.expected_prev != head.last_hash {
            return Err(ChainBreak::Edited { id: head.last_id });
        }
        Ok(ChainReport {
            entries: self.entries,
            first_id: self.first_id.unwrap_or(last_id + 1),
            last_id,
        })
    }
}

/// Why verification could not finish.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("audit chain broken: {0}")]
    Broken(#[from] ChainBreak),
    #[error("cannot read the audit log")]
    Store(#[from] crate::store::StoreError),
}

/// Walks the whole chain in id order, a page at a time.
pub async fn verify(store: &crate::store::Store) -> Result<ChainReport, VerifyError> {
    const PAGE: i64 = 1_000;
    let head = store.audit_head().await?;
    let mut verifier = ChainVerifier::new(&head);
    let mut after = head.expired_through_id;
    loop {
        let page = store.audit_entries(after, PAGE).await?;
        for record in &page {
            verifier.check(record)?;
        }
        match page.last() {
            Some(last) => after = last.id,
            None => break,
        }
    }
    Ok(verifier.finish(&head)?)
}
