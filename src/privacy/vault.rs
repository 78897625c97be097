//! The vault: the service's one handle on its keys.
//!
//! Other modules hand the vault a number or a text and get back blind indexes and sealed
//! bytes; they never see a key. While a key rotation runs, the vault knows both master
//! keys: it wraps new data keys under the new one, opens keys wrapped under either, and
//! looks contacts up under both blind indexes.

use std::sync::{Arc, RwLock};

use zeroize::Zeroizing;

use super::MasterKey;
use super::blind_index::{BlindIndex, BlindIndexer};
use super::phone::PhoneNumber;
use super::seal::{DataKey, KeyRing, SealError, SealedField, WrappedDataKey};

/// Which kind of field a sealed value is. It is bound into the ciphertext, so a sealed
/// note cannot be passed off as a message body or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Number,
    MessageBody,
    Note,
    OutboxBody,
}

/// The keys in use, cheap to share between threads.
pub struct Vault {
    keys: RwLock<Arc<Keys>>,
}

struct Keys {
    ring: KeyRing,
    /// Current key's indexer first, then the previous key's during a rotation.
    indexers: Vec<BlindIndexer>,
}

/// A new contact's secrets, ready to store.
pub struct SealedContact {
    pub blind_index: BlindIndex,
    pub wrapped_key: WrappedDataKey,
    pub sealed_number: SealedField,
    pub key: ContactKey,
}

/// One contact's opened data key: seals and opens that contact's fields only.
pub struct ContactKey(DataKey);

impl Vault {
    pub fn new(master: MasterKey) -> Self {
        Self {
            keys: RwLock::new(Arc::new(Keys::single(master))),
        }
    }

    /// Knows `current` and `previous` at once, as during a rotation.
    pub fn rotating(current: MasterKey, previous: MasterKey) -> Self {
        Self {
            keys: RwLock::new(Arc::new(Keys::rotating(current, previous))),
        }
    }

    /// Switches to `current` as the wrapping key while still opening what `previous` wrapped.
    pub fn start_rotation(&self, current: MasterKey, previous: MasterKey) {
        self.replace(Keys::rotating(current, previous));
    }

    /// Forgets the previous key once a rotation is over: `current` alone wraps and opens.
    pub fn end_rotation(&self, current: MasterKey) {
        self.replace(Keys::single(current));
    }

    /// The id of the master key new data keys are wrapped under.
    pub fn current_key_id(&self) -> String {
        self.keys().ring.current().id()
    }

    /// The id of the master key still opening old data keys while a rotation runs.
    pub fn previous_key_id(&self) -> Option<String> {
        self.keys().ring.previous().map(MasterKey::id)
    }

    /// A copy of the loaded master key named `id`, for following a rotation.
    pub(crate) fn master_key(&self, id: &str) -> Option<MasterKey> {
        let keys = self.keys();
        let current = Some(keys.ring.current());
        [current, keys.ring.previous()]
            .into_iter()
            .flatten()
            .find(|key| key.id() == id)
            .map(MasterKey::duplicate)
    }

    /// The blind indexes a contact with this number may be stored under: the current key's
    /// first, then the previous key's while a rotation runs.
    pub fn blind_indexes(&self, number: &PhoneNumber) -> Vec<BlindIndex> {
        self.keys()
            .indexers
            .iter()
            .map(|indexer| indexer.index(number))
            .collect()
    }

    /// A fresh data key for a new contact, its number sealed with it.
    pub fn seal_new_contact(&self, number: &PhoneNumber) -> SealedContact {
        let keys = self.keys();
        let key = ContactKey(DataKey::generate());
        let sealed_number = key.seal(Field::Number, number.expose().as_bytes());
        SealedContact {
            blind_index: keys.indexers[0].index(number),
            wrapped_key: keys.ring.wrap(&key.0),
            sealed_number,
            key,
        }
    }

    /// Opens a contact's stored data key.
    pub fn contact_key(&self, wrapped: &WrappedDataKey) -> Result<ContactKey, SealError> {
        self.keys().ring.unwrap(wrapped).map(ContactKey)
    }

    /// Re-wraps a data key under the current master key; with it, the current blind index
    /// of the number it seals, for rotation.
    pub fn rewrap(
        &self,
        wrapped: &WrappedDataKey,
        sealed_number: Option<&SealedField>,
    ) -> Result<(WrappedDataKey, Option<BlindIndex>), SealError> {
        let keys = self.keys();
        let key = ContactKey(keys.ring.unwrap(wrapped)?);
        let index = match sealed_number {
            Some(sealed) => Some(keys.indexers[0].index(&key.open_number(sealed)?)),
            None => None,
        };
        Ok((keys.ring.wrap(&key.0), index))
    }

    fn keys(&self) -> Arc<Keys> {
        self.keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps the whole key set at once, so no caller sees half of a switch.
    fn replace(&self, keys: Keys) {
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(keys);
    }
}

impl Keys {
    fn single(master: MasterKey) -> Self {
        Self {
            indexers: vec![BlindIndexer::new(&master)],
            ring: KeyRing::new(master),
        }
    }

    /// Current key's indexer first, then the previous key's.
    fn rotating(current: MasterKey, previous: MasterKey) -> Self {
        Self {
            indexers: vec![BlindIndexer::new(&current), BlindIndexer::new(&previous)],
            ring: KeyRing::with_previous(current, previous),
        }
    }
}

impl ContactKey {
    pub fn seal(&self, field: Field, plaintext: &[u8]) -> SealedField {
        self.0.seal(plaintext, field.label())
    }

    pub fn open(
        &self,
        field: Field,
        sealed: &SealedField,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.0.open(sealed, field.label())
    }

    /// Opens a sealed text; invalid UTF-8 counts as a damaged record.
    pub fn open_text(
        &self,
        field: Field,
        sealed: &SealedField,
    ) -> Result<Zeroizing<String>, SealError> {
        let bytes = self.open(field, sealed)?;
        String::from_utf8(bytes.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| SealError::Malformed)
    }

    pub fn open_number(&self, sealed: &SealedField) -> Result<PhoneNumber, SealError> {
        let text = self.open_text(Field::Number, sealed)?;
        PhoneNumber::from_provider(&text).map_err(|_| SealError::Malformed)
    }
}

impl Field {
    fn label(self) -> &'static [u8] {
        match self {
            Field::Number => b"textline/contact/number",
            Field::MessageBody => b"textline/message/body",
            Field::Note => b"textline/note/body",
            Field::OutboxBody => b"textline/outbox/body",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number() -> PhoneNumber {
        PhoneNumber::from_provider("+14155550100").unwrap()
    }

    #[test]
    fn a_sealed_contact_opens_with_its_stored_key() {
        let vault = Vault::new(MasterKey::generate());
        let contact = vault.seal_new_contact(&number());

        let key = vault.contact_key(&contact.wrapped_key).unwrap();

        assert_eq!(
            key.open_number(&contact.sealed_number).unwrap().expose(),
            "+14155550100"
        );
        assert_eq!(vault.blind_indexes(&number()), vec![contact.blind_index]);
    }

    #[test]
    fn a_field_cannot_be_opened_as_another_kind() {
        let vault = Vault::new(MasterKey::generate());
        let contact = vault.seal_new_contact(&number());
        let note = contact.key.seal(Field::Note, b"worried about her brother");

        assert!(contact.key.open(Field::MessageBody, &note).is_err());
        assert_eq!(
            &contact.key.open(Field::Note, &note).unwrap()[..],
            b"worried about her brother"
        );
    }

    #[test]
    fn during_rotation_old_keys_open_and_new_keys_wrap() {
        let old = MasterKey::generate();
        let old_copy = MasterKey::parse(&old.encode()).unwrap();
        let before = Vault::new(old);
        let contact = before.seal_new_contact(&number());
        let new = MasterKey::generate();
        let new_id = new.id();

        let during = Vault::rotating(new, old_copy);
        let (rewrapped, index) = during
            .rewrap(&contact.wrapped_key, Some(&contact.sealed_number))
            .unwrap();

        assert_eq!(rewrapped.key_id, new_id);
        assert!(during.contact_key(&contact.wrapped_key).is_ok());
        assert!(during.contact_key(&rewrapped).is_ok());
        let indexes = during.blind_indexes(&number());
        assert_eq!(indexes.len(), 2);
        assert_eq!(Some(indexes[0]), index);
        assert_eq!(indexes[1], contact.blind_index);
    }
}
