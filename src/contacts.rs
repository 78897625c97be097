//! Contacts as staff act on them: by alias, never by number.
//!
//! Erasing destroys a texter's data key and everything sealed with it in one transaction,
//! keeping only the suppression record (blind index, opt-out and erase times) so the number
//! is never texted again unsolicited. Revealing a number is off unless the deployment turns
//! it on, admin-only, needs a reason, and is audited before the number is returned.

use crate::audit::{Action, Actor, AuditEntry};
use crate::clock::Clock;
use crate::privacy::alias::Alias;
use crate::privacy::phone::PhoneNumber;
use crate::privacy::vault::Vault;
use crate::store::{ErasedCounts, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("no contact with that alias")]
    NotFound,
    #[error("this contact was erased")]
    Erased,
    #[error("revealing numbers is turned off for this deployment")]
    RevealDisabled,
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the stored number could not be opened")]
    Damaged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Erases the contact with `alias` on behalf of `actor`. Erasing twice changes nothing.
pub async fn erase(
    store: &Store,
    clock: &Clock,
    alias: &Alias,
    actor: Actor,
) -> Result<ErasedCounts, ContactError> {
    let contact = store
        .find_contact_by_alias(alias.as_str())
        .await?
        .ok_or(ContactError::NotFound)?;
    if contact.erased_at.is_some() {
        return Ok(ErasedCounts::default());
    }

    let now = clock.now();
    let mut tx = store.begin().await?;
    let counts = tx.erase_contact(contact.id, now).await?;
    tx.cancel_all_for_contact(contact.id, "contact erased", now)
        .await?;
    let entry = AuditEntry {
        actor,
        action: Action::ContactErased,
        subject: format!("contact:{alias}"),
        reason: None,
    };
    tx.append_audit(&entry, now).await?;
    tx.commit().await?;

    store.checkpoint().await?;
    tracing::info!(
        contact.alias = %alias,
        erased.message_bodies = counts.message_bodies,
        erased.notes = counts.notes,
        "contact erased"
    );
    Ok(counts)
}

/// Opens a contact's number for an admin who gave a reason. The audit entry is written
/// before the number is returned; if it cannot be written, nothing is revealed.
pub async fn reveal_number(
    store: &Store,
    vault: &Vault,
    clock: &Clock,
    reveal_allowed: bool,
    alias: &Alias,
    admin_id: i64,
    reason: &str,
) -> Result<PhoneNumber, ContactError> {
    if !reveal_allowed {
        return Err(ContactError::RevealDisabled);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ContactError::ReasonRequired);
    }
    let contact = store
        .find_contact_by_alias(alias.as_str())
        .await?
        .ok_or(ContactError::NotFound)?;
    let (Some(wrapped), Some(sealed)) = (contact.wrapped_key(), contact.sealed_number()) else {
        return Err(ContactError::Erased);
    };

    let entry = AuditEntry {
        actor: Actor::Staff(admin_id),
        action: Action::NumberRevealed,
        subject: format!("contact:{alias}"),
        reason: Some(reason.to_owned()),
    };
    store.append_audit(&entry, clock.now()).await?;

    let key = vault
        .contact_key(&wrapped)
        .map_err(|_| ContactError::Damaged)?;
    key.open_number(&sealed).map_err(|_| ContactError::Damaged)
}
