//! Wrappers for personal data whose `Debug` never shows the content.
//!
//! Logs, metrics labels, error replies and emails are built from values that implement
//! `Debug` or `Display`; wrapping personal data in these types makes printing it by
//! accident show a placeholder instead. Reading the content takes an explicit `expose`.

use std::fmt;

/// Text a texter wrote or will receive.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageBody(String);

/// A staff member's email address: needed to log in and to be notified, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl MessageBody {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageBody(<{} chars redacted>)", self.char_count())
    }
}

/// Why an email address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("is not an email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Accepts `local@domain` with no spaces, lowercased so that one person has one account.
    pub fn parse(text: &str) -> Result<Self, InvalidEmail> {
        let text = text.trim();
        let (local, domain) = text.split_once('@').ok_or(InvalidEmail)?;
        let plausible = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && text.len() <= 254
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(InvalidEmail);
        }
        Ok(Self(text.to_lowercase()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_bodies_and_addresses() {
        let body = MessageBody::new("he took my passport");
        let email = EmailAddress::parse("Case.Worker@example.org").unwrap();
        let shown = format!("{body:?} {email:?}");
        assert!(!shown.contains("passport"));
        assert!(!shown.to_lowercase().contains("case.worker"));
        assert_eq!(email.expose(), "case.worker@example.org");
    }

    #[test]
    fn malformed_email_addresses_are_refused() {
        for text in [
            "",
            "no-at-sign",
            "a@b",
            "a b@example.org",
            "@example.org",
            "a@.org",
        ] {
            assert_eq!(EmailAddress::parse(text), Err(InvalidEmail), "{text}");
        }
    }
}
