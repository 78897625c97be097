//! The master key and the keys derived from it.
//!
//! Only `privacy/` ever holds key material. Every other key Textline uses (blind index,
//! data-key wrapping, the key check stored in the database) is derived from the master key
//! with HKDF-SHA256 and a purpose label, so one secret backs the whole deployment and a
//! subkey for one purpose reveals nothing about another.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Length in bytes of the master key and of every derived key.
pub const KEY_LEN: usize = 32;

/// What a derived key is for. The label is part of the derivation, so keys for two
/// purposes are independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    /// Proves at start that the configured master key is the one the data was written with.
    KeyCheck,
    /// Keyed hash of a phone number, used to find a contact without decrypting anything.
    BlindIndex,
    /// Wraps (encrypts) each contact's random data key.
    DataKeyWrapping,
    /// Names the key in stored records, so rotation can tell old from new.
    KeyId,
    /// Seals the other master key of a running rotation, so a service holding one learns both.
    KeyTransport,
}

impl KeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            KeyPurpose::KeyCheck => b"textline/v1/key-check",
            KeyPurpose::BlindIndex => b"textline/v1/blind-index",
            KeyPurpose::DataKeyWrapping => b"textline/v1/data-key-wrapping",
            KeyPurpose::KeyId => b"textline/v1/key-id",
            KeyPurpose::KeyTransport => b"textline/v1/key-transport",
        }
    }
}

/// The deployment's master key. Its `Debug` shows the key id only.
pub struct MasterKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

/// A key derived from the master key for one purpose.
pub struct DerivedKey {
    bytes: SecretBox<[u8; KEY_LEN]>,
}

/// Why a master key could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error("must be 32 bytes, base64 or hex encoded (got {0} bytes)")]
    WrongLength(usize),
    #[error("is neither base64 nor hex")]
    NotEncoded,
    #[error("is all zeros, a placeholder and not a key")]
    Placeholder,
}

impl MasterKey {
    /// Makes a new random master key from the operating system's randomness.
    pub fn generate() -> Self {
        let bytes = SecretBox::init_with_mut(|bytes: &mut [u8; KEY_LEN]| {
            rand::rng().fill_bytes(bytes);
        });
        Self { bytes }
    }

    /// Reads a key written as base64 (standard alphabet) or as 64 hex digits.
    pub fn parse(encoded: &str) -> Result<Self, MasterKeyError> {
        let encoded = encoded.trim();
        let decoded = if encoded.len() == 2 * KEY_LEN {
            hex::decode(encoded).map_err(|_| MasterKeyError::NotEncoded)?
        } else {
            BASE64
                .decode(encoded)
                .map_err(|_| MasterKeyError::NotEncoded)?
        };
        let bytes: [u8; KEY_LEN] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| MasterKeyError::WrongLength(decoded.len()))?;
        if bytes.iter().all(|byte| *byte == 0) {
            return Err(MasterKeyError::Placeholder);
        }
        Ok(Self {
            bytes: SecretBox::new(Box::new(bytes)),
        })
    }

    /// The key in the form `parse` reads, for writing the key file once.
    pub fn encode(&self) -> String {
        BASE64.encode(self.bytes.expose_secret())
    }

    /// A second handle on the same key, for a vault or a rotation that needs its own.
    pub(crate) fn duplicate(&self) -> Self {
        Self {
            bytes: SecretBox::new(Box::new(*self.bytes.expose_secret())),
        }
    }

    /// Takes raw key bytes, as opened from a sealed copy. Stays inside `privacy/`.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, MasterKeyError> {
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| MasterKeyError::WrongLength(bytes.len()))?;
        Ok(Self {
            bytes: SecretBox::new(Box::new(bytes)),
        })
    }

    /// The raw key, to seal it for transport. Stays inside `privacy/`.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose_secret()
    }

    /// Derives the key for `purpose` with HKDF-SHA256.
    pub fn derive(&self, purpose: KeyPurpose) -> DerivedKey {
        let hkdf = Hkdf::<Sha256>::new(None, self.bytes.expose_secret());
        let bytes = SecretBox::init_with_mut(|okm: &mut [u8; KEY_LEN]| {
            hkdf.expand(purpose.label(), okm)
                .expect("32 bytes is a valid HKDF-SHA256 length");
        });
        DerivedKey { bytes }
    }

    /// A short public name for this key, stored beside what it protects. It is derived,
    /// so it reveals nothing about the key.
    pub fn id(&self) -> String {
        let derived = self.derive(KeyPurpose::KeyId);
        format!("mk-{}", hex::encode(&derived.expose()[..6]))
    }

    /// A value stored in the database at first start; comparing it later tells whether the
    /// configured key is the one the data was written with.
    pub fn check_value(&self) -> Vec<u8> {
        self.derive(KeyPurpose::KeyCheck)
            .mac(b"textline master key check")
    }

    /// Whether `stored` is this key's check value, compared in constant time.
    pub fn matches_check_value(&self, stored: &[u8]) -> bool {
        self.check_value().ct_eq(stored).into()
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl DerivedKey {
    /// HMAC-SHA256 of `message` under this key.
    pub fn mac(&self, message: &[u8]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.expose())
            .expect("HMAC takes keys of any length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }

    /// The raw key, for the cipher that uses it. Stays inside `privacy/`.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.bytes.expose_secret()
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_encoding_and_parsing() {
        let key = MasterKey::generate();
        let parsed = MasterKey::parse(&key.encode()).unwrap();
        assert_eq!(key.id(), parsed.id());
        assert!(parsed.matches_check_value(&key.check_value()));
    }

    #[test]
    fn hex_keys_are_accepted() {
        let key = MasterKey::parse(&"ab".repeat(32)).unwrap();
        assert!(key.id().starts_with("mk-"));
    }

    #[test]
    fn short_and_placeholder_keys_are_refused() {
        assert_eq!(
            MasterKey::parse("c2hvcnQ=").unwrap_err(),
            MasterKeyError::WrongLength(5)
        );
        assert_eq!(
            MasterKey::parse(&"00".repeat(32)).unwrap_err(),
            MasterKeyError::Placeholder
        );
        assert_eq!(
            MasterKey::parse("not a key!").unwrap_err(),
            MasterKeyError::NotEncoded
        );
    }

    #[test]
    fn another_key_does_not_match_the_check_value() {
        let key = MasterKey::generate();
        assert!(!MasterKey::generate().matches_check_value(&key.check_value()));
    }

    #[test]
    fn purposes_derive_different_keys() {
        let key = MasterKey::generate();
        let index = key.derive(KeyPurpose::BlindIndex);
        let wrapping = key.derive(KeyPurpose::DataKeyWrapping);
        assert_ne!(index.expose(), wrapping.expose());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = MasterKey::generate();
        let shown = format!("{key:?} {:?}", key.derive(KeyPurpose::BlindIndex));
        assert!(!shown.contains(&key.encode()));
        assert!(shown.contains("redacted"));
    }
}
