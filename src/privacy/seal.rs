//! Encryption at rest of a contact's personal data, with XChaCha20-Poly1305.
//!
//! Each contact has its own random data key, stored wrapped (encrypted) under the master
//! key. Erasing a contact destroys its wrapped key, which makes every field sealed with it
//! unreadable wherever no copy of the wrapped key remains. A database backup still holds
//! one, readable with the master key of its time, until that master key is rotated away
//! and destroyed. Rotating rewraps the small data keys and leaves sealed fields as they are.
//!
//! A sealed value is `version (1 byte) || nonce (24 bytes) || ciphertext and tag`. The
//! version byte is authenticated with the caller's associated data, which binds a field to
//! its record (`b"message:123:body"`) so that a ciphertext copied to another row fails to
//! open.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::Rng;
use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use crate::privacy::keys::{KEY_LEN, KeyPurpose, MasterKey};

/// A contact's data key, which seals that contact's fields. Zeroized on drop.
pub struct DataKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

/// A data key encrypted under the master key named by `key_id`, as stored beside the
/// contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    /// The id (`MasterKey::id`) of the master key this was wrapped under.
    pub key_id: String,
    pub ciphertext: Vec<u8>,
}

/// A field sealed under a data key, as stored in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedField(Vec<u8>);

/// The master keys a running server knows: the current one, which wraps every new data
/// key, and during a rotation the previous one, which still opens what is not yet rewrapped.
#[derive(Debug)]
pub struct KeyRing {
    current: MasterKey,
    current_id: String,
    previous: Option<(MasterKey, String)>,
}

/// Why sealed data could not be opened. Never carries plaintext or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("sealed data is truncated or of an unknown format version")]
    Malformed,
    #[error("sealed data does not open: wrong key, wrong associated data, or tampered with")]
    Unauthentic,
    #[error("data key was wrapped under master key {key_id}, which is not loaded")]
    UnknownMasterKey { key_id: String },
}

/// Rewraps `wrapped` from the `old` master key to the `new` one, for a key rotation.
pub fn rewrap(
    old: &MasterKey,
    new: &MasterKey,
    wrapped: &WrappedDataKey,
) -> Result<WrappedDataKey, SealError> {
    Ok(DataKey::unwrap(old, wrapped)?.wrap(new))
}

/// Seals master key `key` under a key derived from `carrier`, bound to both ids, so that
/// whoever holds `carrier` learns `key` while a rotation runs.
pub fn seal_master_key(carrier: &MasterKey, key: &MasterKey) -> Vec<u8> {
    let transport = carrier.derive(KeyPurpose::KeyTransport);
    let associated = transport_associated_data(&carrier.id(), &key.id());
    seal_bytes(transport.expose(), key.expose(), &associated)
}

/// Opens a master key sealed by [`seal_master_key`] under `carrier`; `key_id` is the id the
/// opened key must have.
pub fn open_master_key(
    carrier: &MasterKey,
    key_id: &str,
    sealed: &[u8],
) -> Result<MasterKey, SealError> {
    let transport = carrier.derive(KeyPurpose::KeyTransport);
    let associated = transport_associated_data(&carrier.id(), key_id);
    let opened = open_bytes(transport.expose(), sealed, &associated)?;
    let key = MasterKey::from_bytes(&opened).map_err(|_| SealError::Malformed)?;
    if key.id() != key_id {
        return Err(SealError::Unauthentic);
    }
    Ok(key)
}

impl DataKey {
    /// Makes a new random data key, for a new contact.
    pub fn generate() -> Self {
        let bytes = SecretBox::init_with_mut(|bytes: &mut [u8; KEY_LEN]| {
            rand::rng().fill_bytes(bytes);
        });
        Self { bytes }
    }

    /// Encrypts this key under `master`, bound to that master key's id.
    pub fn wrap(&self, master: &MasterKey) -> WrappedDataKey {
        let key_id = master.id();
        let wrapping = master.derive(KeyPurpose::DataKeyWrapping);
        let associated = wrapping_associated_data(&key_id);
        let ciphertext = seal_bytes(wrapping.expose(), self.bytes.expose_secret(), &associated);
        WrappedDataKey { key_id, ciphertext }
    }

    /// Decrypts a data key wrapped under `master`.
    pub fn unwrap(master: &MasterKey, wrapped: &WrappedDataKey) -> Result<Self, SealError> {
        if wrapped.key_id != master.id() {
            return Err(SealError::UnknownMasterKey {
                key_id: wrapped.key_id.clone(),
            });
        }
        let wrapping = master.derive(KeyPurpose::DataKeyWrapping);
        let associated = wrapping_associated_data(&wrapped.key_id);
        let opened = open_bytes(wrapping.expose(), &wrapped.ciphertext, &associated)?;

        let bytes: &[u8; KEY_LEN] = opened
            .as_slice()
            .try_into()
            .map_err(|_| SealError::Malformed)?;
        Ok(Self {
            bytes: SecretBox::new(Box::new(*bytes)),
        })
    }

    /// Encrypts `plaintext`, bound to `associated` (which is authenticated, not encrypted).
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> SealedField {
        SealedField(seal_bytes(
            self.bytes.expose_secret(),
            plaintext,
            associated,
        ))
    }

    /// Decrypts a field sealed with this key and the same `associated` data.
    pub fn open(
        &self,
        sealed: &SealedField,
        associated: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        open_bytes(self.bytes.expose_secret(), &sealed.0, associated)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl SealedField {
    /// Takes sealed bytes as read from the database; they are checked when opened.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for SealedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedField(<{} bytes>)", self.0.len())
    }
}

impl KeyRing {
    pub fn new(current: MasterKey) -> Self {
        let current_id = current.id();
        Self {
            current,
            current_id,
            previous: None,
        }
    }

    /// A ring for the time of a rotation: `previous` still opens data keys not yet rewrapped.
    pub fn with_previous(current: MasterKey, previous: MasterKey) -> Self {
        let previous_id = previous.id();
        Self {
            previous: Some((previous, previous_id)),
            ..Self::new(current)
        }
    }

    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// The previous master key, while a rotation runs.
    pub fn previous(&self) -> Option<&MasterKey> {
        self.previous.as_ref().map(|(previous, _)| previous)
    }

    /// Wraps a data key under the current master key.
    pub fn wrap(&self, key: &DataKey) -> WrappedDataKey {
        key.wrap(&self.current)
    }

    /// Unwraps with whichever loaded master key the wrapped key names.
    pub fn unwrap(&self, wrapped: &WrappedDataKey) -> Result<DataKey, SealError> {
        DataKey::unwrap(self.master_for(&wrapped.key_id)?, wrapped)
    }

    /// Whether `wrapped` is already under the current master key.
    pub fn is_current(&self, wrapped: &WrappedDataKey) -> bool {
        wrapped.key_id == self.current_id
    }

    /// Rewraps under the current master key whatever a loaded master key can unwrap.
    pub fn rewrap(&self, wrapped: &WrappedDataKey) -> Result<WrappedDataKey, SealError> {
        rewrap(self.master_for(&wrapped.key_id)?, &self.current, wrapped)
    }

    fn master_for(&self, key_id: &str) -> Result<&MasterKey, SealError> {
        if key_id == self.current_id {
            return Ok(&self.current);
        }
        match &self.previous {
            Some((previous, previous_id)) if previous_id == key_id => Ok(previous),
            _ => Err(SealError::UnknownMasterKey {
                key_id: key_id.to_owned(),
            }),
        }
    }
}

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const WRAPPING_LABEL: &[u8] = b"textline/v1/wrapped-data-key/";
const TRANSPORT_LABEL: &[u8] = b"textline/v1/sealed-master-key/";

/// The wrapping label is fixed, so appending the key id keeps the encoding unambiguous.
fn wrapping_associated_data(key_id: &str) -> Vec<u8> {
    [WRAPPING_LABEL, key_id.as_bytes()].concat()
}

/// Key ids have a fixed length, so joining them with a separator is unambiguous.
fn transport_associated_data(carrier_id: &str, key_id: &str) -> Vec<u8> {
    [
        TRANSPORT_LABEL,
        carrier_id.as_bytes(),
        b"/",
        key_id.as_bytes(),
    ]
    .concat()
}

fn seal_bytes(key: &[u8; KEY_LEN], plaintext: &[u8], associated: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let aad = versioned(associated);
    let ciphertext = cipher(key)
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 only refuses messages of 256 GiB or more");

    let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
    sealed.push(FORMAT_VERSION);
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    sealed
}

fn open_bytes(
    key: &[u8; KEY_LEN],
    sealed: &[u8],
    associated: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let (&version, rest) = sealed.split_first().ok_or(SealError::Malformed)?;
    if version != FORMAT_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("split at the nonce length");

    let aad = versioned(associated);
    let plaintext = cipher(key)
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Unauthentic)?;
    Ok(Zeroizing::new(plaintext))
}

fn cipher(key: &[u8; KEY_LEN]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

fn versioned(associated: &[u8]) -> Vec<u8> {
    [&[FORMAT_VERSION], associated].concat()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;

    const ROW: &[u8] = b"message:123:body";

    fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }

    fn same_key(a: &DataKey, b: &DataKey) -> bool {
        a.bytes.expose_secret() == b.bytes.expose_secret()
    }

    proptest! {
        #[test]
        fn sealed_fields_open_to_what_was_sealed(plaintext in bytes(512), associated in bytes(64)) {
            let key = DataKey::generate();
            let sealed = key.seal(&plaintext, &associated);
            let opened = key.open(&sealed, &associated)?;
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }

        #[test]
        fn flipped_bit_fails_to_open(plaintext in bytes(128), position in any::<Index>()) {
            let key = DataKey::generate();
            let mut tampered = key.seal(&plaintext, ROW).into_bytes();
            let bit = position.index(tampered.len() * 8);
            tampered[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(key.open(&SealedField::from_bytes(tampered), ROW).is_err());
        }

        #[test]
        fn wrong_associated_data_fails_to_open(
            plaintext in bytes(128),
            associated in bytes(32),
            other in bytes(32),
        ) {
            prop_assume!(associated != other);
            let key = DataKey::generate();
            let sealed = key.seal(&plaintext, &associated);
            prop_assert_eq!(key.open(&sealed, &other), Err(SealError::Unauthentic));
        }

        #[test]
        fn truncated_fields_fail_to_open(plaintext in bytes(64), position in any::<Index>()) {
            let key = DataKey::generate();
            let mut sealed = key.seal(&plaintext, ROW).into_bytes();
            sealed.truncate(position.index(sealed.len()));
            prop_assert!(key.open(&SealedField::from_bytes(sealed), ROW).is_err());
        }

        #[test]
        fn two_seals_of_the_same_plaintext_differ(plaintext in bytes(64)) {
            let key = DataKey::generate();
            prop_assert_ne!(key.seal(&plaintext, ROW), key.seal(&plaintext, ROW));
        }
    }

    #[test]
    fn a_field_fails_to_open_under_another_data_key() {
        let sealed = DataKey::generate().seal(b"he took my passport", ROW);
        let opened = DataKey::generate().open(&sealed, ROW);
        assert_eq!(opened, Err(SealError::Unauthentic));
    }

    #[test]
    fn a_wrapped_key_unwraps_to_the_same_key() {
        let master = MasterKey::generate();
        let key = DataKey::generate();
        let wrapped = key.wrap(&master);
        assert_eq!(wrapped.key_id, master.id());
        assert!(same_key(&DataKey::unwrap(&master, &wrapped).unwrap(), &key));
    }

    #[test]
    fn a_wrapped_key_does_not_unwrap_under_another_master_key() {
        let wrapped = DataKey::generate().wrap(&MasterKey::generate());
        let other = MasterKey::generate();
        let refused = DataKey::unwrap(&other, &wrapped).unwrap_err();
        assert_eq!(
            refused,
            SealError::UnknownMasterKey {
                key_id: wrapped.key_id.clone()
            }
        );

        let relabelled = WrappedDataKey {
            key_id: other.id(),
            ..wrapped
        };
        assert_eq!(
            DataKey::unwrap(&other, &relabelled).unwrap_err(),
            SealError::Unauthentic
        );
    }

    #[test]
    fn a_tampered_wrapped_key_does_not_unwrap() {
        let master = MasterKey::generate();
        let mut wrapped = DataKey::generate().wrap(&master);
        for index in 0..wrapped.ciphertext.len() {
            wrapped.ciphertext[index] ^= 0x80;
            assert!(DataKey::unwrap(&master, &wrapped).is_err(), "byte {index}");
            wrapped.ciphertext[index] ^= 0x80;
        }
        assert!(DataKey::unwrap(&master, &wrapped).is_ok());
    }

    #[test]
    fn rewrapped_keys_open_old_fields_under_the_new_master_key_only() {
        let (old, new) = (MasterKey::generate(), MasterKey::generate());
        let key = DataKey::generate();
        let sealed = key.seal(b"he took my passport", ROW);
        let rewrapped = rewrap(&old, &new, &key.wrap(&old)).unwrap();

        let unwrapped = DataKey::unwrap(&new, &rewrapped).unwrap();
        assert_eq!(
            unwrapped.open(&sealed, ROW).unwrap().as_slice(),
            b"he took my passport"
        );
        assert!(DataKey::unwrap(&old, &rewrapped).is_err());
        assert!(DataKey::unwrap(&MasterKey::generate(), &rewrapped).is_err());
    }

    #[test]
    fn a_key_ring_unwraps_under_the_previous_key_and_rewraps_to_the_current() {
        let previous = MasterKey::generate();
        let key = DataKey::generate();
        let old_wrapped = key.wrap(&previous);
        let ring = KeyRing::with_previous(MasterKey::generate(), previous);

        assert!(same_key(&ring.unwrap(&old_wrapped).unwrap(), &key));
        assert!(!ring.is_current(&old_wrapped));
        let rewrapped = ring.rewrap(&old_wrapped).unwrap();
        assert!(ring.is_current(&rewrapped));
        assert!(same_key(
            &DataKey::unwrap(ring.current(), &rewrapped).unwrap(),
            &key
        ));
        assert!(ring.is_current(&ring.wrap(&key)));
    }

    #[test]
    fn a_key_ring_refuses_keys_wrapped_under_an_unknown_master_key() {
        let ring = KeyRing::new(MasterKey::generate());
        let wrapped = DataKey::generate().wrap(&MasterKey::generate());
        let refused = ring.unwrap(&wrapped).unwrap_err();
        assert!(matches!(refused, SealError::UnknownMasterKey { .. }));
        assert!(ring.rewrap(&wrapped).is_err());
    }

    #[test]
    fn a_sealed_master_key_opens_under_its_carrier_only() {
        let (carrier, key) = (MasterKey::generate(), MasterKey::generate());
        let sealed = seal_master_key(&carrier, &key);

        let opened = open_master_key(&carrier, &key.id(), &sealed).unwrap();

        assert_eq!(opened.encode(), key.encode());
        assert!(open_master_key(&MasterKey::generate(), &key.id(), &sealed).is_err());
        assert!(open_master_key(&carrier, &carrier.id(), &sealed).is_err());
    }

    #[test]
    fn empty_and_unknown_version_fields_are_malformed() {
        let key = DataKey::generate();
        let mut sealed = key.seal(b"", ROW).into_bytes();
        assert_eq!(
            key.open(&SealedField::from_bytes(sealed.clone()), ROW)
                .unwrap()
                .len(),
            0
        );
        sealed[0] = 2;
        assert_eq!(
            key.open(&SealedField::from_bytes(sealed), ROW),
            Err(SealError::Malformed)
        );
        assert_eq!(
            key.open(&SealedField::from_bytes(vec![]), ROW),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn debug_output_shows_no_key_or_plaintext() {
        let key = DataKey::generate();
        let sealed = key.seal(b"he took my passport", ROW);
        let error = DataKey::generate().open(&sealed, ROW).unwrap_err();
        let shown = format!("{key:?} {sealed:?} {error} {error:?}");
        assert!(!shown.contains("passport"));
        assert!(!shown.contains(&hex::encode(key.bytes.expose_secret())));
        assert!(shown.contains("DataKey(<redacted>)"), "{shown}");
    }
}
