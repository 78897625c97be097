//! Provider adapters: check that a webhook really comes from the SMS provider, then read it
//! into one provider-neutral shape (`InboundText` or `StatusReport`).
//!
//! Nothing here knows about HTTP frameworks. The web layer hands over the externally visible
//! URL the provider called, the raw body, the headers and the current time; the adapters
//! answer with domain types or a `WebhookError` that never carries request content.
//!
//! Provider metadata that locates a texter (city, state, zip, country, carrier, line type)
//! is deliberately absent from every type here: the parsers never copy it, so it is dropped
//! the moment a webhook is read.

pub mod telnyx;
pub mod twilio;
pub mod vonage;

use std::fmt;
use std::str::FromStr;

use subtle::ConstantTimeEq;

use crate::privacy::MessageBody;
use crate::privacy::phone::PhoneNumber;

/// The SMS providers a channel can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    Twilio,
    Vonage,
    Telnyx,
    /// The built-in stand-in used for demos and caseworker training.
    Simulator,
}

/// A text a texter sent to one of our numbers, as every provider adapter reports it.
///
/// It holds only what routing needs. Location metadata that providers attach (Twilio's
/// `FromCity`, `FromState`, `FromZip`, `FromCountry`, Telnyx's carrier and line type) has
/// no field here on purpose: a texter's whereabouts must never reach storage or logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundText {
    /// The provider's id for the text, used to drop duplicates sent on retry.
    pub provider_message_id: String,
    /// The texter.
    pub from: PhoneNumber,
    /// Our number, short code or sender id that received the text (not personal data).
    pub to: String,
    pub body: MessageBody,
    /// Twilio's `OptOutType` (`STOP`, `START`, `HELP`) when Advanced Opt-Out is on.
    pub opt_out_type: Option<String>,
    /// Where this part fits when the provider hands over a long text in pieces.
    pub concat: Option<ConcatPart>,
    /// When the provider received the text, in unix seconds, when it says.
    pub received_at: Option<i64>,
}

/// One part of a long text that the provider did not reassemble (Vonage SMS API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcatPart {
    /// Shared by every part of one long text (from one sender).
    pub reference: String,
    pub total: u8,
    /// 1-based position of this part.
    pub part: u8,
}

/// What a provider says happened to a text we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    /// The provider's own error code, when it gave one.
    pub error_code: Option<String>,
}

/// Where a sent text is, in words common to every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Accepted by the provider, not yet handed to a carrier.
    Queued,
    /// Handed to a carrier; no news of the handset yet.
    Sent,
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// The provider could not send it.
    Failed,
}

/// Why a webhook was refused. `Display` never includes any request content, so the value
/// can be logged and returned as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook signature is missing")]
    SignatureMissing,
    #[error("webhook signature does not match")]
    SignatureInvalid,
    #[error("webhook timestamp is outside the accepted window")]
    Stale,
    #[error("webhook lacks the field {0}")]
    MissingField(&'static str),
    /// The text is always a fixed description, never a value taken from the request.
    #[error("webhook is malformed: {0}")]
    Malformed(String),
}

/// Request headers, looked up case-insensitively.
#[derive(Clone, Default)]
pub struct Headers {
    /// Names lowercased on insertion.
    entries: Vec<(String, String)>,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Vonage => "vonage",
            Self::Telnyx => "telnyx",
            Self::Simulator => "simulator",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a provider name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a provider (expected twilio, vonage, telnyx or simulator)")]
pub struct UnknownProvider;

impl FromStr for ProviderKind {
    type Err = UnknownProvider;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "twilio" => Ok(Self::Twilio),
            "vonage" => Ok(Self::Vonage),
            "telnyx" => Ok(Self::Telnyx),
            "simulator" => Ok(Self::Simulator),
            _ => Err(UnknownProvider),
        }
    }
}

impl DeliveryStatus {
    /// How far along a text is. Providers do not promise ordering, so a report whose rank is
    /// not above the stored one must be ignored: a late `sent` never overwrites `delivered`,
    /// and the first final outcome stands.
    pub fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Sent => 1,
            Self::Delivered | Self::Undelivered | Self::Failed => 2,
        }
    }

    /// Whether no later report can change the outcome.
    pub fn is_final(self) -> bool {
        self.rank() == 2
    }

    /// Whether this report should replace `current`.
    pub fn supersedes(self, current: DeliveryStatus) -> bool {
        self.rank() > current.rank()
    }
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header; a repeated name keeps its first value for `get`.
    pub fn insert(&mut self, name: &str, value: impl Into<String>) {
        self.entries.push((name.to_ascii_lowercase(), value.into()));
    }

    /// Builder form of `insert`.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Debug for Headers {
    /// Only the names: values may hold signatures or tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Headers").field("names", &names).finish()
    }
}

/// Decodes an `application/x-www-form-urlencoded` body (or query string) into its pairs, in
/// the order received (`+` is a space, percent escapes are decoded).
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The first value of a form field.
pub(crate) fn form_value<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The first non-empty value among `names`, or `MissingField` naming the first of them.
pub(crate) fn require<'a>(
    form: &'a [(String, String)],
    names: &[&'static str],
) -> Result<&'a str, WebhookError> {
    names
        .iter()
        .find_map(|name| form_value(form, name).filter(|value| !value.is_empty()))
        .ok_or(WebhookError::MissingField(names[0]))
}

/// Reads the texter's number; the error names the field, never the value.
pub(crate) fn sender(text: &str) -> Result<PhoneNumber, WebhookError> {
    PhoneNumber::from_provider(text)
        .map_err(|_| WebhookError::Malformed("sender is not a phone number or sender id".into()))
}

pub(crate) fn malformed(what: &'static str) -> WebhookError {
    WebhookError::Malformed(what.to_owned())
}

/// Compares two byte strings in constant time for equal lengths. Lengths are not secret.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Whether `timestamp` lies within `max_age` seconds before `now` and `max_ahead` after it.
pub(crate) fn check_fresh(
    timestamp: i64,
    now: i64,
    max_age: i64,
    max_ahead: i64,
) -> Result<(), WebhookError> {
    let age = now.saturating_sub(timestamp);
    if age > max_age || age < -max_ahead {
        return Err(WebhookError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_round_trip() {
        for kind in [
            ProviderKind::Twilio,
            ProviderKind::Vonage,
            ProviderKind::Telnyx,
            ProviderKind::Simulator,
        ] {
            assert_eq!(kind.as_str().parse::<ProviderKind>(), Ok(kind));
        }
        assert_eq!(" Twilio ".parse::<ProviderKind>(), Ok(ProviderKind::Twilio));
        assert_eq!("plivo".parse::<ProviderKind>(), Err(UnknownProvider));
    }

    #[test]
    fn a_late_sent_never_overwrites_delivered() {
        use DeliveryStatus::*;
        assert!(!Sent.supersedes(Delivered));
        assert!(!Queued.supersedes(Sent));
        assert!(Delivered.supersedes(Sent));
        assert!(Failed.supersedes(Queued));
        assert!(!Failed.supersedes(Delivered));
        assert!(Delivered.is_final() && Undelivered.is_final() && Failed.is_final());
        assert!(!Queued.is_final() && !Sent.is_final());
    }

    #[test]
    fn headers_are_found_whatever_their_case() {
        let headers = Headers::new().with("X-Twilio-Signature", "abc");
        assert_eq!(headers.get("x-twilio-signature"), Some("abc"));
        assert_eq!(headers.get("X-TWILIO-SIGNATURE"), Some("abc"));
        assert_eq!(headers.get("telnyx-timestamp"), None);
    }

    #[test]
    fn header_debug_shows_names_only() {
        let headers = Headers::new().with("Authorization", "Bearer secret-token");
        let shown = format!("{headers:?}");
        assert!(shown.contains("authorization"));
        assert!(!shown.contains("secret-token"));
    }

    #[test]
    fn form_bodies_are_decoded_in_received_order() {
        let form = parse_form(b"Body=It%27s+amazing&To=%2B12028831111&ToCity=");
        let expected = [
            ("Body", "It's amazing"),
            ("To", "+12028831111"),
            ("ToCity", ""),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(form, expected);
    }

    #[test]
    fn no_webhook_error_shows_the_body_or_the_number_it_was_fed() {
        let hostile = "he took my passport +14155550123";
        let encoded = "he+took+my+passport+%2B14155550123";
        let twilio_form = parse_form(
            format!(
                "MessageSid=SM1&To=%2B1202&Body={encoded}&From={encoded}&MessageStatus={encoded}"
            )
            .as_bytes(),
        );
        let vonage_form = parse_form(
            format!(
                "messageId=1&msisdn=14155550123&to=1&text={encoded}&concat=true&\
                     concat-ref=1&concat-total={encoded}&concat-part=1&status={encoded}"
            )
            .as_bytes(),
        );
        let mut errors = vec![
            WebhookError::SignatureMissing,
            WebhookError::SignatureInvalid,
            WebhookError::Stale,
            twilio::parse_inbound(&twilio_form).unwrap_err(),
            twilio::parse_status(&twilio_form).unwrap_err(),
            vonage::parse_inbound(&vonage_form).unwrap_err(),
            vonage::parse_status(&vonage_form).unwrap_err(),
            vonage::params_from_json(hostile.as_bytes()).unwrap_err(),
            telnyx::parse_event(hostile.as_bytes()).unwrap_err(),
        ];
        let sender_error = twilio::parse_inbound(&parse_form(b"MessageSid=SM1&To=1&Body=x"));
        errors.push(sender_error.unwrap_err());

        for error in errors {
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("passport"), "{shown}");
            assert!(!shown.contains("4155550123"), "{shown}");
        }
    }

    #[test]
    fn freshness_window_is_checked_both_ways() {
        assert_eq!(check_fresh(1_000, 1_300, 300, 300), Ok(()));
        assert_eq!(check_fresh(1_000, 700, 300, 300), Ok(()));
        assert_eq!(
            check_fresh(1_000, 1_301, 300, 300),
            Err(WebhookError::Stale)
        );
        assert_eq!(check_fresh(1_000, 699, 300, 300), Err(WebhookError::Stale));
        assert_eq!(
            check_fresh(i64::MIN, i64::MAX, 300, 300),
            Err(WebhookError::Stale)
        );
    }
}
