//! The texter behind an inbound text: found by blind index, created on first contact,
//! given a fresh key and alias after an erase, and opened for sealing this text.

use crate::catalog::Language;
use crate::channels::Channel;
use crate::clock::Timestamp;
use crate::privacy::MessageBody;
use crate::privacy::alias::Alias;
use crate::privacy::phone::PhoneNumber;
use crate::privacy::seal::SealedField;
use crate::privacy::vault::{ContactKey, Field, Vault};
use crate::providers::{ConcatPart, InboundText};
use crate::store::{ContactRecord, StoreTx, StoredPart};

use super::InboundError;

/// Aliases drawn before giving up; collisions are rare, five in a row is a fault.
const ALIAS_ATTEMPTS: usize = 5;

/// A contact with its data key open for this transaction.
pub struct OpenedContact {
    pub id: i64,
    pub alias: String,
    pub key: ContactKey,
    pub language: Option<Language>,
    blocked_until: Option<i64>,
}

impl OpenedContact {
    pub fn is_blocked(&self, now: Timestamp) -> bool {
        self.blocked_until.is_some_and(|until| until > now.millis())
    }
}

pub async fn find_or_create(
    tx: &mut StoreTx,
    vault: &Vault,
    number: &PhoneNumber,
    channel: &Channel,
    now: Timestamp,
) -> Result<OpenedContact, InboundError> {
    let indexes = vault.blind_indexes(number);
    for _ in 0..ALIAS_ATTEMPTS {
        if let Some(record) = tx.find_contact_by_indexes(&indexes).await? {
            return open_or_revive(tx, vault, number, record, now).await;
        }
        let sealed = vault.seal_new_contact(number);
        let alias = Alias::generate();
        if let Some(id) = tx
            .insert_contact(alias.as_str(), &sealed, &channel.language, now)
            .await?
        {
            return Ok(OpenedContact {
                id,
                alias: alias.to_string(),
                key: sealed.key,
                language: None,
                blocked_until: None,
            });
        }
    }
    Err(InboundError::Store(crate::store::StoreError::Conflict))
}

/// An erased contact who texts again starts over: a new key and a new alias, so nothing
/// links the new conversation to the erased one. The opt-out stays as it was.
async fn open_or_revive(
    tx: &mut StoreTx,
    vault: &Vault,
    number: &PhoneNumber,
    record: ContactRecord,
    now: Timestamp,
) -> Result<OpenedContact, InboundError> {
    let language = record
        .language
        .as_deref()
        .and_then(|code| code.parse().ok());
    if let Some(wrapped) = record.wrapped_key() {
        let key = vault
            .contact_key(&wrapped)
            .map_err(|_| InboundError::Damaged)?;
        return Ok(OpenedContact {
            id: record.id,
            alias: record.alias,
            key,
            language,
            blocked_until: record.blocked_until,
        });
    }
    let sealed = vault.seal_new_contact(number);
    for _ in 0..ALIAS_ATTEMPTS {
        let alias = Alias::generate();
        if tx
            .revive_contact(record.id, alias.as_str(), &sealed, now)
            .await?
        {
            return Ok(OpenedContact {
                id: record.id,
                alias: alias.to_string(),
                key: sealed.key,
                language: None,
                blocked_until: record.blocked_until,
            });
        }
    }
    Err(InboundError::Store(crate::store::StoreError::Conflict))
}

/// Keeps one part of a long text. When every part is in, returns the joined text and the
/// id it is stored under (`concat:` and the provider's reference).
pub async fn join_parts(
    tx: &mut StoreTx,
    channel: &Channel,
    contact: &OpenedContact,
    text: &InboundText,
    part: &ConcatPart,
    now: Timestamp,
) -> Result<Option<(String, MessageBody)>, InboundError> {
    let sealed = contact
        .key
        .seal(Field::MessageBody, text.body.expose().as_bytes());
    let stored = StoredPart {
        part: i64::from(part.part),
        total: i64::from(part.total),
        provider_message_id: text.provider_message_id.clone(),
        sealed_body: sealed.into_bytes(),
    };
    tx.save_part(&channel.name, contact.id, &part.reference, &stored, now)
        .await?;
    let parts = tx
        .parts_of(&channel.name, contact.id, &part.reference)
        .await?;
    if parts.len() < usize::from(part.total) {
        return Ok(None);
    }

    let mut joined = String::new();
    for stored in &parts {
        let sealed = SealedField::from_bytes(stored.sealed_body.clone());
        let piece = contact
            .key
            .open_text(Field::MessageBody, &sealed)
            .map_err(|_| InboundError::Damaged)?;
        joined.push_str(&piece);
    }
    tx.forget_parts(&channel.name, contact.id, &part.reference)
        .await?;
    Ok(Some((
        format!("concat:{}", part.reference),
        MessageBody::new(joined),
    )))
}
