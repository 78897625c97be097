//! A texter's or channel's number, normalised so one phone has one form.
//!
//! Full numbers become E.164 (`+33612345678`); short codes and alphanumeric sender ids are
//! kept as they are. The normalised form is what the blind index is computed over, so two
//! spellings of one number find the same contact. `Debug` and `Display` never show it:
//! reading the number takes an explicit `expose`.

use std::fmt;
use std::str::FromStr;

use phonenumber::Mode;
use phonenumber::country::Id as Region;
use zeroize::Zeroize;

/// Longest input looked at; anything longer is refused before any parsing.
const MAX_INPUT_LEN: usize = 64;
/// Short codes are 3 to 8 digits, with no country code.
const SHORT_CODE_LEN: std::ops::RangeInclusive<usize> = 3..=8;
/// Alphanumeric sender ids are at most 11 characters (a GSM limit).
const MAX_SENDER_ID_LEN: usize = 11;
/// Digits in an E.164 number, country code included (the shortest are Niue and St Helena).
const E164_DIGITS: std::ops::RangeInclusive<usize> = 7..=15;

/// A phone number, short code or alphanumeric sender id in its normalised form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    kind: NumberKind,
    normalised: String,
}

/// Which kind of sender a `PhoneNumber` is. The kinds have disjoint normalised forms:
/// E.164 starts with `+`, a short code is digits only, a sender id has a letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// A full number in E.164 form.
    International,
    /// A 3 to 8 digit code that only works inside one country.
    ShortCode,
    /// A name such as `ACME` that some countries allow as a sender.
    Alphanumeric,
}

/// Why some text is not a phone number. Never carries the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("is empty")]
    Empty,
    #[error("is longer than any phone number or sender id")]
    TooLong,
    #[error("names an unknown region (expected a code such as US or FR)")]
    UnknownRegion,
    #[error("is not a phone number, short code or sender id")]
    NotANumber,
    #[error("is not a number that exists in its country")]
    InvalidForCountry,
    #[error("is not a sender id (up to 11 letters, digits and spaces, with a letter)")]
    InvalidSenderId,
}

impl PhoneNumber {
    /// Reads a number typed by a person (a caseworker, a CSV import), checked against the
    /// number ranges each country has allocated. `default_region` (`"US"`, `"FR"`) says
    /// how to read numbers written without a country code.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneNumberError> {
        let text = check_input(input)?;
        if text.chars().any(char::is_alphabetic) {
            return Self::sender_id(text);
        }
        let region = default_region.map(parse_region).transpose()?;

        let full = Self::international(text, region, Check::AllocatedRange);
        if is_short_code(text) {
            return Ok(full.unwrap_or_else(|_| Self::short_code(text)));
        }
        full
    }

    /// Reads a sender as an SMS provider reports it. The provider has already routed the
    /// text, so the number is checked for shape only: refusing a number from a range newer
    /// than our metadata would lose a texter's message. Digits without `+` are taken as
    /// E.164 without its plus, as some providers send them.
    pub fn from_provider(input: &str) -> Result<Self, PhoneNumberError> {
        let text = check_input(input)?;
        if text.chars().any(char::is_alphabetic) {
            return Self::sender_id(text);
        }
        if is_short_code(text) {
            return Ok(Self::short_code(text));
        }

        let with_plus;
        let text = if text.bytes().all(|byte| byte.is_ascii_digit()) {
            with_plus = format!("+{text}");
            with_plus.as_str()
        } else {
            text
        };
        Self::international(text, None, Check::Shape)
    }

    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The normalised form: E.164, or the short code or sender id as given.
    pub fn expose(&self) -> &str {
        &self.normalised
    }

    /// The E.164 form, for a full number only.
    pub fn expose_e164(&self) -> Option<&str> {
        (self.kind == NumberKind::International).then_some(self.normalised.as_str())
    }

    fn international(
        text: &str,
        region: Option<Region>,
        check: Check,
    ) -> Result<Self, PhoneNumberError> {
        let text = with_international_prefix(text, region);
        let number = phonenumber::parse(region, text.as_ref()).map_err(|error| match error {
            phonenumber::ParseError::InvalidCountryCode => PhoneNumberError::InvalidForCountry,
            _ => PhoneNumberError::NotANumber,
        })?;
        if number.extension().is_some() {
            return Err(PhoneNumberError::NotANumber);
        }

        let normalised = number.format().mode(Mode::E164).to_string();
        let acceptable = match check {
            Check::AllocatedRange => number.is_valid(),
            Check::Shape => E164_DIGITS.contains(&(normalised.len() - 1)),
        };
        if !acceptable {
            return Err(PhoneNumberError::InvalidForCountry);
        }
        Ok(Self {
            kind: NumberKind::International,
            normalised,
        })
    }

    fn short_code(text: &str) -> Self {
        Self {
            kind: NumberKind::ShortCode,
            normalised: text.to_owned(),
        }
    }

    fn sender_id(text: &str) -> Result<Self, PhoneNumberError> {
        let allowed = text.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
        if !allowed || text.len() > MAX_SENDER_ID_LEN {
            return Err(PhoneNumberError::InvalidSenderId);
        }
        Ok(Self {
            kind: NumberKind::Alphanumeric,
            normalised: text.to_owned(),
        })
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({:?}, <redacted>)", self.kind)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted phone number>")
    }
}

impl Drop for PhoneNumber {
    fn drop(&mut self) {
        self.normalised.zeroize();
    }
}

/// How much a full number is checked beyond parsing.
#[derive(Clone, Copy)]
enum Check {
    /// The number is in a range its country has allocated.
    AllocatedRange,
    /// The number has a known country code and a plausible length.
    Shape,
}

fn check_input(input: &str) -> Result<&str, PhoneNumberError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(PhoneNumberError::TooLong);
    }
    let text = input.trim();
    if text.is_empty() {
        return Err(PhoneNumberError::Empty);
    }
    Ok(text)
}

fn parse_region(code: &str) -> Result<Region, PhoneNumberError> {
    Region::from_str(&code.trim().to_ascii_uppercase()).map_err(|_| PhoneNumberError::UnknownRegion)
}

fn is_short_code(text: &str) -> bool {
    SHORT_CODE_LEN.contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Without a region nothing says which international prefix the writer dialled; `00` is
/// the one most of the world uses, so it is read as `+`. With a region the parser knows
/// that region's own prefix (`00` in France, `011` in the US).
fn with_international_prefix(text: &str, region: Option<Region>) -> std::borrow::Cow<'_, str> {
    match (region, text.strip_prefix("00")) {
        (None, Some(rest)) => format!("+{rest}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(input: &str, region: Option<&str>) -> String {
        let number = PhoneNumber::parse(input, region).unwrap();
        assert_eq!(number.kind(), NumberKind::International, "{input}");
        number.expose_e164().unwrap().to_owned()
    }

    #[test]
    fn international_format_is_normalised_to_e164() {
        assert_eq!(e164("+1 415 555 0100", None), "+14155550100");
        assert_eq!(e164("+33612345678", None), "+33612345678");
        assert_eq!(e164("+33 6 12 34 56 78", Some("US")), "+33612345678");
    }

    #[test]
    fn national_format_is_read_with_the_default_region() {
        assert_eq!(e164("(415) 555-0100", Some("US")), "+14155550100");
        assert_eq!(e164("06 12 34 56 78", Some("FR")), "+33612345678");
        assert_eq!(e164("06 12 34 56 78", Some("fr")), "+33612345678");
    }

    #[test]
    fn double_zero_prefix_is_read_as_plus() {
        assert_eq!(e164("00 33 6 12 34 56 78", None), "+33612345678");
        assert_eq!(e164("00 33 6 12 34 56 78", Some("FR")), "+33612345678");
        assert_eq!(e164("011 33 6 12 34 56 78", Some("US")), "+33612345678");
    }

    #[test]
    fn national_format_without_a_region_is_refused() {
        let refused = PhoneNumber::parse("(415) 555-0100", None).unwrap_err();
        assert_eq!(refused, PhoneNumberError::InvalidForCountry);
    }

    #[test]
    fn unknown_region_is_refused() {
        let refused = PhoneNumber::parse("06 12 34 56 78", Some("XX")).unwrap_err();
        assert_eq!(refused, PhoneNumberError::UnknownRegion);
    }

    #[test]
    fn short_codes_are_kept_as_they_are() {
        for region in [None, Some("US"), Some("FR")] {
            let number = PhoneNumber::parse("24365", region).unwrap();
            assert_eq!(number.kind(), NumberKind::ShortCode);
            assert_eq!(number.expose(), "24365");
            assert_eq!(number.expose_e164(), None);
        }
    }

    #[test]
    fn alphanumeric_sender_ids_are_kept_as_they_are() {
        let number = PhoneNumber::parse("ACME", Some("US")).unwrap();
        assert_eq!(number.kind(), NumberKind::Alphanumeric);
        assert_eq!(number.expose(), "ACME");
        assert_eq!(
            PhoneNumber::parse("Acme Help 2", None).unwrap().expose(),
            "Acme Help 2"
        );
    }

    #[test]
    fn garbage_is_refused() {
        let cases = [
            ("", PhoneNumberError::Empty),
            ("   ", PhoneNumberError::Empty),
            ("12", PhoneNumberError::NotANumber),
            ("+1 23", PhoneNumberError::InvalidForCountry),
            ("+999 1234567", PhoneNumberError::InvalidForCountry),
            ("+1 415 555 0100 garbage", PhoneNumberError::InvalidSenderId),
            ("+1 800 FLOWERS", PhoneNumberError::InvalidSenderId),
            ("ACME-SUPPORT-LINE", PhoneNumberError::InvalidSenderId),
            ("héllo", PhoneNumberError::InvalidSenderId),
            ("+-()", PhoneNumberError::NotANumber),
        ];
        for (input, expected) in cases {
            assert_eq!(
                PhoneNumber::parse(input, Some("US")),
                Err(expected),
                "{input:?}"
            );
        }
        let long = "1".repeat(MAX_INPUT_LEN + 1);
        assert_eq!(
            PhoneNumber::parse(&long, None),
            Err(PhoneNumberError::TooLong)
        );
    }

    #[test]
    fn provider_numbers_in_unallocated_ranges_are_accepted() {
        assert!(PhoneNumber::parse("+44 7700 900123", None).is_err());
        let number = PhoneNumber::from_provider("+447700900123").unwrap();
        assert_eq!(number.expose_e164(), Some("+447700900123"));
    }

    #[test]
    fn provider_numbers_without_plus_are_read_as_e164() {
        let number = PhoneNumber::from_provider("14155550100").unwrap();
        assert_eq!(number.expose_e164(), Some("+14155550100"));
        assert_eq!(
            PhoneNumber::from_provider("24365").unwrap().kind(),
            NumberKind::ShortCode
        );
        assert_eq!(
            PhoneNumber::from_provider("+1 23"),
            Err(PhoneNumberError::InvalidForCountry)
        );
    }

    #[test]
    fn debug_and_display_never_show_the_digits() {
        let inputs = [("+1 415 555 0100", None), ("24365", None), ("ACME", None)];
        for (input, region) in inputs {
            let number = PhoneNumber::parse(input, region).unwrap();
            let shown = format!("{number:?} {number} {:?}", Some(&number));
            for secret in ["4155550100", "0100", "24365", "ACME"] {
                assert!(!shown.contains(secret), "{shown}");
            }
            assert!(shown.contains("redacted"));
        }
    }

    #[test]
    fn errors_never_show_the_input() {
        let error = PhoneNumber::parse("+1 415 555 01000000", None).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("415"), "{shown}");
    }
}
