//! Keyed blind index of phone numbers, to find a contact without decrypting anything.
//!
//! The index is HMAC-SHA256 of the normalised number under a key derived from the master
//! key. Without the master key, a stolen database cannot be searched by phone number, and
//! the index cannot be reversed by hashing every possible number.

use std::fmt;

use crate::privacy::keys::{DerivedKey, KeyPurpose, MasterKey};
use crate::privacy::phone::PhoneNumber;

/// Length in bytes of a blind index.
pub const BLIND_INDEX_LEN: usize = 32;

/// The blind index of one phone number under one master key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlindIndex([u8; BLIND_INDEX_LEN]);

/// Computes blind indexes. Holds the derived key, not the master key.
pub struct BlindIndexer {
    key: DerivedKey,
}

/// Why stored bytes are not a blind index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a blind index is 32 bytes (64 hex digits)")]
pub struct InvalidBlindIndex;

impl BlindIndexer {
    pub fn new(master: &MasterKey) -> Self {
        Self {
            key: master.derive(KeyPurpose::BlindIndex),
        }
    }

    /// The index of `number`'s normalised form. The kinds' normalised forms never overlap,
    /// so a short code and a sender id cannot share an index.
    pub fn index(&self, number: &PhoneNumber) -> BlindIndex {
        let mac = self.key.mac(number.expose().as_bytes());
        let bytes = mac
            .as_slice()
            .try_into()
            .expect("HMAC-SHA256 output is 32 bytes");
        BlindIndex(bytes)
    }
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexer(<redacted>)")
    }
}

impl BlindIndex {
    /// Reads an index as stored in the database.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidBlindIndex> {
        bytes.try_into().map(Self).map_err(|_| InvalidBlindIndex)
    }

    pub fn from_hex(text: &str) -> Result<Self, InvalidBlindIndex> {
        let bytes = hex::decode(text).map_err(|_| InvalidBlindIndex)?;
        Self::from_bytes(&bytes)
    }

    pub fn as_bytes(&self) -> &[u8; BLIND_INDEX_LEN] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Shows a prefix only: enough to tell two indexes apart in a debug log, too little to
/// look a contact up with.
impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({}…)", hex::encode(&self.0[..4]))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A French mobile number (in the allocated 061 range) written three ways.
    fn french_spellings(digits: u32) -> [(String, Option<&'static str>); 3] {
        let national = format!("61{digits:07}");
        let spaced: String = format!("0{national}")
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        [
            (format!("+33{national}"), None),
            (spaced, Some("FR")),
            (format!("00 33 {national}"), None),
        ]
    }

    fn index_of(indexer: &BlindIndexer, input: &str, region: Option<&str>) -> BlindIndex {
        indexer.index(&PhoneNumber::parse(input, region).unwrap())
    }

    proptest! {
        #[test]
        fn one_number_in_different_formats_has_one_index(digits in 0u32..10_000_000) {
            let indexer = BlindIndexer::new(&MasterKey::generate());
            let [first, second, third] = french_spellings(digits);
            let expected = index_of(&indexer, &first.0, first.1);
            prop_assert_eq!(index_of(&indexer, &second.0, second.1), expected);
            prop_assert_eq!(index_of(&indexer, &third.0, third.1), expected);
        }

        #[test]
        fn different_numbers_have_different_indexes(
            a in 0u32..10_000_000,
            b in 0u32..10_000_000,
        ) {
            prop_assume!(a != b);
            let indexer = BlindIndexer::new(&MasterKey::generate());
            let first = index_of(&indexer, &format!("+3361{a:07}"), None);
            let second = index_of(&indexer, &format!("+3361{b:07}"), None);
            prop_assert_ne!(first, second);
        }

        #[test]
        fn different_master_keys_give_different_indexes(digits in 0u32..10_000_000) {
            let number = PhoneNumber::parse(&format!("+3361{digits:07}"), None).unwrap();
            let first = BlindIndexer::new(&MasterKey::generate()).index(&number);
            let second = BlindIndexer::new(&MasterKey::generate()).index(&number);
            prop_assert_ne!(first, second);
        }
    }

    #[test]
    fn the_same_key_gives_the_same_index_after_reloading() {
        let master = MasterKey::generate();
        let reloaded = MasterKey::parse(&master.encode()).unwrap();
        let number = PhoneNumber::parse("+1 415 555 0100", None).unwrap();
        let index = BlindIndexer::new(&master).index(&number);
        assert_eq!(BlindIndexer::new(&reloaded).index(&number), index);
    }

    #[test]
    fn short_codes_and_sender_ids_are_indexed() {
        let indexer = BlindIndexer::new(&MasterKey::generate());
        let short_code = index_of(&indexer, "24365", None);
        let sender_id = index_of(&indexer, "ACME", None);
        assert_ne!(short_code, sender_id);
        assert_eq!(index_of(&indexer, " 24365 ", Some("US")), short_code);
    }

    #[test]
    fn an_index_survives_hex_and_bytes() {
        let indexer = BlindIndexer::new(&MasterKey::generate());
        let index = index_of(&indexer, "+33612345678", None);
        assert_eq!(BlindIndex::from_hex(&index.to_hex()), Ok(index));
        assert_eq!(BlindIndex::from_bytes(index.as_bytes()), Ok(index));
        assert_eq!(BlindIndex::from_bytes(&[0; 31]), Err(InvalidBlindIndex));
        assert_eq!(BlindIndex::from_hex("zz"), Err(InvalidBlindIndex));
    }

    #[test]
    fn debug_shows_only_a_short_prefix() {
        let indexer = BlindIndexer::new(&MasterKey::generate());
        let index = index_of(&indexer, "+33612345678", None);
        let shown = format!("{index:?} {indexer:?}");
        assert!(shown.contains(&index.to_hex()[..8]));
        assert!(!shown.contains(&index.to_hex()[..9]), "{shown}");
    }
}
