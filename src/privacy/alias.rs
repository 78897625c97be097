//! Aliases: the short pseudonyms caseworkers see instead of a texter's number.
//!
//! An alias such as `K7QF-29` is random, drawn from a CSPRNG, and not derived from the
//! number, so knowing the alias tells nothing about the phone even to someone with the
//! keys. It uses characters that cannot be misread or misheard (no 0/O, 1/I/L, U) so staff
//! can read one aloud to a colleague. Aliases are not unique by construction: the store
//! gives a new contact a fresh alias when the drawn one is taken.

use std::fmt;

use rand::RngExt;

/// Characters of the first part: digits and capitals, without look-alikes.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of the two-digit suffix.
pub const DIGITS: &[u8] = b"23456789";

const HEAD_LEN: usize = 4;
const TAIL_LEN: usize = 2;
const ALIAS_LEN: usize = HEAD_LEN + 1 + TAIL_LEN;

/// A texter's pseudonym, always in upper case, e.g. `K7QF-29`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alias(String);

/// Why some text is not an alias. Does not repeat the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not an alias (four letters or digits, a dash and two digits, like K7QF-29)")]
pub struct InvalidAlias;

impl Alias {
    /// Draws a new random alias.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut pick = |set: &[u8]| char::from(set[rng.random_range(0..set.len())]);

        let head: String = (0..HEAD_LEN).map(|_| pick(ALPHABET)).collect();
        let tail: String = (0..TAIL_LEN).map(|_| pick(DIGITS)).collect();
        Self(format!("{head}-{tail}"))
    }

    /// Reads an alias typed by staff, in either case, around surrounding spaces.
    pub fn parse(text: &str) -> Result<Self, InvalidAlias> {
        let text = text.trim().to_ascii_uppercase();
        if !has_alias_shape(text.as_bytes()) {
            return Err(InvalidAlias);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn has_alias_shape(bytes: &[u8]) -> bool {
    if bytes.len() != ALIAS_LEN {
        return false;
    }
    let (head, rest) = bytes.split_at(HEAD_LEN);
    let (dash, tail) = rest.split_at(1);
    head.iter().all(|byte| ALPHABET.contains(byte))
        && dash == b"-"
        && tail.iter().all(|byte| DIGITS.contains(byte))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn generated_aliases_have_the_shape_four_dash_two() {
        for _ in 0..1_000 {
            let alias = Alias::generate();
            let text = alias.as_str();
            assert_eq!(text.len(), ALIAS_LEN, "{text}");
            assert_eq!(&text[4..5], "-", "{text}");
            assert!(
                text[..4].bytes().all(|byte| ALPHABET.contains(&byte)),
                "{text}"
            );
            assert!(
                text[5..].bytes().all(|byte| DIGITS.contains(&byte)),
                "{text}"
            );
        }
    }

    #[test]
    fn generated_aliases_never_use_look_alike_characters() {
        let text: String = (0..2_000).map(|_| Alias::generate().to_string()).collect();
        for confusable in ['0', 'O', '1', 'I', 'L', 'U'] {
            assert!(!text.contains(confusable), "{confusable}");
        }
    }

    #[test]
    fn ten_thousand_generated_aliases_rarely_collide() {
        // About 52 million aliases exist, so 10,000 draws expect about one collision.
        let drawn: HashSet<Alias> = (0..10_000).map(|_| Alias::generate()).collect();
        let collisions = 10_000 - drawn.len();
        assert!(collisions <= 10, "{collisions} collisions");
    }

    #[test]
    fn parse_accepts_lower_case_and_surrounding_spaces() {
        assert_eq!(Alias::parse(" k7qf-29 ").unwrap().as_str(), "K7QF-29");
    }

    #[test]
    fn parse_refuses_other_shapes() {
        let bad = [
            "",
            "K7QF",
            "K7QF29",
            "K7QF-2",
            "K7QF-299",
            "K7Q-29",
            "K7QFF-29",
            "K7QF_29",
            "K7QF-19",
            "K7QF-20",
            "K0QF-29",
            "KOQF-29",
            "KIQF-29",
            "KLQF-29",
            "K7QF-2A",
            "K7 QF-29",
            "K7QF-٢٩",
            "K7QF–29",
        ];
        for text in bad {
            assert_eq!(Alias::parse(text), Err(InvalidAlias), "{text:?}");
        }
    }

    #[test]
    fn generated_aliases_survive_display_and_parse() {
        for _ in 0..1_000 {
            let alias = Alias::generate();
            assert_eq!(Alias::parse(&alias.to_string()), Ok(alias));
        }
    }

    proptest! {
        #[test]
        fn every_well_formed_alias_parses_in_either_case(text in "[2-9A-HJKMNP-TV-Z]{4}-[2-9]{2}") {
            let alias = Alias::parse(&text)?;
            prop_assert_eq!(alias.as_str(), text.as_str());
            prop_assert_eq!(Alias::parse(&text.to_lowercase()), Ok(alias));
        }
    }
}
