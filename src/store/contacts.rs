//! Contacts: found by blind index, personal fields sealed, erased for good on request.

use super::{Store, StoreError, StoreTx, on_pool, on_tx};
use crate::clock::Timestamp;
use crate::privacy::blind_index::BlindIndex;
use crate::privacy::seal::{SealedField, WrappedDataKey};
use crate::privacy::vault::SealedContact;

/// A contact as stored. After erase the key and number are gone for good.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactRecord {
    pub id: i64,
    pub alias: String,
    pub key_id: Option<String>,
    pub wrapped_data_key: Option<Vec<u8>>,
    pub sealed_number: Option<Vec<u8>>,
    pub language: Option<String>,
    pub opted_out_at: Option<i64>,
    pub blocked_until: Option<i64>,
    pub erased_at: Option<i64>,
}

/// What erasing destroyed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasedCounts {
    pub message_bodies: u64,
    pub notes: u64,
    pub tickets_closed: u64,
}

const CONTACT_COLUMNS: &str = "id, alias, key_id, wrapped_data_key, sealed_number, language, \
    opted_out_at, blocked_until, erased_at";

impl ContactRecord {
    /// The stored data key, unless the contact was erased.
    pub fn wrapped_key(&self) -> Option<WrappedDataKey> {
        Some(WrappedDataKey {
            key_id: self.key_id.clone()?,
            ciphertext: self.wrapped_data_key.clone()?,
        })
    }

    pub fn sealed_number(&self) -> Option<SealedField> {
        self.sealed_number.clone().map(SealedField::from_bytes)
    }
}

impl StoreTx {
    /// The contact stored under any of `indexes` (current key first, then previous).
    pub async fn find_contact_by_indexes(
        &mut self,
        indexes: &[BlindIndex],
    ) -> Result<Option<ContactRecord>, StoreError> {
        for index in indexes {
            let found: Option<ContactRecord> = on_tx!(self, |conn| {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {CONTACT_COLUMNS} FROM contacts WHERE blind_index = $1"
                )))
                .bind(index.as_bytes().as_slice())
                .fetch_optional(&mut *conn)
                .await?
            });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Inserts a new contact; `None` when its blind index or alias is already taken (look
    /// the contact up again, or draw another alias).
    pub async fn insert_contact(
        &mut self,
        alias: &str,
        sealed: &SealedContact,
        language: &str,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let id: Option<i64> = on_tx!(self, |conn| {
            sqlx::query_scalar(
                "INSERT INTO contacts (alias, blind_index, key_id, wrapped_data_key, \
                 sealed_number, language, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(alias)
            .bind(sealed.blind_index.as_bytes().as_slice())
            .bind(&sealed.wrapped_key.key_id)
            .bind(&sealed.wrapped_key.ciphertext)
            .bind(sealed.sealed_number.as_bytes())
            .bind(language)
            .bind(now.millis())
            .fetch_optional(&mut *conn)
            .await?
        });
        Ok(id)
    }

    /// [`Store::store_rewrapped_contact`] inside a caller's transaction, for batches.
    pub async fn store_rewrapped_contact(
        &mut self,
        contact_id: i64,
        previous_key_id: &str,
        wrapped: &WrappedDataKey,
        blind_index: Option<&BlindIndex>,
    ) -> Result<bool, StoreError> {
        let updated = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE contacts SET key_id = $1, wrapped_data_key = $2, \
                 blind_index = COALESCE($3, blind_index) WHERE id = $4 AND key_id = $5",
            )
            .bind(&wrapped.key_id)
            .bind(&wrapped.ciphertext)
            .bind(blind_index.map(|index| index.as_bytes().to_vec()))
            .bind(contact_id)
            .bind(previous_key_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Sets or clears the campaign opt-out.
    pub async fn set_opted_out(
        &mut self,
        contact_id: i64,
        at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        on_tx!(self, |conn| {
            sqlx::query("UPDATE contacts SET opted_out_at = $1 WHERE id = $2")
                .bind(at.map(Timestamp::millis))
                .bind(contact_id)
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// Destroys the contact's data key, number, message bodies, notes and outbox bodies,
    /// and closes its tickets. What stays: alias, blind index, opt-out and erase times (the suppression
    /// record), and counts and timings.
    pub async fn erase_contact(
        &mut self,
        contact_id: i64,
        now: Timestamp,
    ) -> Result<ErasedCounts, StoreError> {
        let at = now.millis();
        let counts = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE contacts SET key_id = NULL, wrapped_data_key = NULL, \
                 sealed_number = NULL, language = NULL, erased_at = $1, \
                 opted_out_at = COALESCE(opted_out_at, $1) WHERE id = $2",
            )
            .bind(at)
            .bind(contact_id)
            .execute(&mut *conn)
            .await?;
            let message_bodies = sqlx::query(
                "UPDATE messages SET sealed_body = NULL, body_destroyed_at = $1 \
                 WHERE contact_id = $2 AND sealed_body IS NOT NULL",
            )
            .bind(at)
            .bind(contact_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            let notes = sqlx::query(
                "UPDATE ticket_notes SET sealed_body = NULL, body_destroyed_at = $1 \
                 WHERE sealed_body IS NOT NULL \
                 AND ticket_id IN (SELECT id FROM tickets WHERE contact_id = $2)",
            )
            .bind(at)
            .bind(contact_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            // Finished texts (sent, failed, or `unknown` after an interrupted send) may still
            // hold a body or their own key; queued ones are cancelled by the caller.
            sqlx::query(
                "UPDATE outbox SET sealed_body = NULL, own_key_id = NULL, \
                 own_wrapped_key = NULL, own_sealed_number = NULL WHERE contact_id = $1 \
                 AND (sealed_body IS NOT NULL OR own_wrapped_key IS NOT NULL \
                 OR own_sealed_number IS NOT NULL)",
            )
            .bind(contact_id)
            .execute(&mut *conn)
            .await?;
            let tickets_closed = sqlx::query(
                "UPDATE tickets SET status = 'closed', closed_at = $1, updated_at = $1, \
                 waiting_since = NULL WHERE contact_id = $2 AND status <> 'closed'",
            )
            .bind(at)
            .bind(contact_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            ErasedCounts {
                message_bodies,
                notes,
                tickets_closed,
            }
        });
        Ok(counts)
    }
}

impl Store {
    pub async fn find_contact_by_id(&self, id: i64) -> Result<Option<ContactRecord>, StoreError> {
        let found = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(found)
    }

    pub async fn find_contact_by_alias(
        &self,
        alias: &str,
    ) -> Result<Option<ContactRecord>, StoreError> {
        let found = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts WHERE alias = $1"
            )))
            .bind(alias)
            .fetch_optional(pool)
            .await?
        });
        Ok(found)
    }

    /// Contacts whose data key is wrapped under another master key than `current_key_id`.
    pub async fn contacts_to_rewrap(
        &self,
        current_key_id: &str,
        limit: i64,
    ) -> Result<Vec<ContactRecord>, StoreError> {
        let found = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {CONTACT_COLUMNS} FROM contacts \
                 WHERE key_id IS NOT NULL AND key_id <> $1 ORDER BY id LIMIT $2"
            )))
            .bind(current_key_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(found)
    }

    /// Stores a contact's data key re-wrapped under a new master key, with its new blind
    /// index, unless the contact changed meanwhile (erased or already re-wrapped).
    pub async fn store_rewrapped_contact(
        &self,
        contact_id: i64,
        previous_key_id: &str,
        wrapped: &WrappedDataKey,
        blind_index: Option<&BlindIndex>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let updated = tx
            .store_rewrapped_contact(contact_id, previous_key_id, wrapped, blind_index)
            .await?;
        tx.commit().await?;
        Ok(updated)
    }
}

impl StoreTx {
    /// Gives an erased contact who texts again a new key, number seal and alias.
    pub async fn revive_contact(
        &mut self,
        contact_id: i64,
        alias: &str,
        sealed: &SealedContact,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let updated = on_tx!(self, |conn| {
            sqlx::query(
                "UPDATE contacts SET alias = $1, key_id = $2, wrapped_data_key = $3, \
                 sealed_number = $4, erased_at = NULL, last_inbound_at = $5 \
                 WHERE id = $6 AND NOT EXISTS (SELECT 1 FROM contacts WHERE alias = $1)",
            )
            .bind(alias)
            .bind(&sealed.wrapped_key.key_id)
            .bind(&sealed.wrapped_key.ciphertext)
            .bind(sealed.sealed_number.as_bytes())
            .bind(now.millis())
            .bind(contact_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }
}
