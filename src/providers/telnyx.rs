//! Telnyx Messaging (API v2) webhooks: the Ed25519 signature over `{timestamp}|{raw body}`
//! and the JSON events for inbound texts and delivery updates.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::privacy::MessageBody;
use crate::providers::{
    DeliveryStatus, Headers, InboundText, StatusReport, WebhookError, check_fresh, malformed,
    sender,
};

/// Base64 of the 64-byte Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// Unix seconds when Telnyx signed the request; part of the signed message.
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// Largest accepted distance between the signed timestamp and our clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;

/// The account's webhook public key (Mission Control, Keys & Credentials).
#[derive(Clone, Debug)]
pub struct TelnyxPublicKey(VerifyingKey);

/// Why a configured Telnyx public key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a Telnyx public key (expected the base64 of 32 bytes of an Ed25519 key)")]
pub struct InvalidPublicKey;

/// What a Telnyx webhook reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnyxEvent {
    /// `message.received`: a texter wrote to one of our numbers.
    Inbound(InboundText),
    /// `message.sent` or `message.finalized`: news of a text we sent.
    Status(StatusReport),
    /// Any other event type, acknowledged and ignored.
    Other,
}

impl TelnyxPublicKey {
    pub fn from_base64(text: &str) -> Result<Self, InvalidPublicKey> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| InvalidPublicKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| InvalidPublicKey)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| InvalidPublicKey)
    }
}

/// Checks a Telnyx webhook: the Ed25519 signature over `{telnyx-timestamp}|{body}` with the
/// raw body exactly as received, and a timestamp within `MAX_SKEW_SECS` of `now` (unix
/// seconds).
pub fn verify_signature(
    key: &TelnyxPublicKey,
    body: &[u8],
    headers: &Headers,
    now: i64,
) -> Result<(), WebhookError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .ok_or(WebhookError::SignatureMissing)?;
    let timestamp = headers
        .get(TIMESTAMP_HEADER)
        .ok_or(WebhookError::SignatureMissing)?;

    let signature = decode_signature(signature)?;
    let mut message = Vec::with_capacity(timestamp.len() + 1 + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'|');
    message.extend_from_slice(body);
    key.0
        .verify_strict(&message, &signature)
        .map_err(|_| WebhookError::SignatureInvalid)?;

    let timestamp = timestamp
        .trim()
        .parse::<i64>()
        .map_err(|_| malformed("telnyx-timestamp is not unix seconds"))?;
    check_fresh(timestamp, now, MAX_SKEW_SECS, MAX_SKEW_SECS)
}

/// Reads a verified webhook body.
///
/// Only routing fields are deserialised at all: the sender's `carrier` and `line_type`,
/// which say something about who and where the texter is, are never read.
pub fn parse_event(body: &[u8]) -> Result<TelnyxEvent, WebhookError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|_| malformed("body is not a Telnyx event"))?;
    let data = envelope.data;
    let event_type = data
        .event_type
        .ok_or(WebhookError::MissingField("data.event_type"))?;

    match event_type.as_str() {
        "message.received" => {
            read_inbound(data.payload, data.occurred_at).map(TelnyxEvent::Inbound)
        }
        "message.sent" | "message.finalized" => read_status(data.payload).map(TelnyxEvent::Status),
        _ => Ok(TelnyxEvent::Other),
    }
}

#[derive(Deserialize)]
struct Envelope {
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    event_type: Option<String>,
    occurred_at: Option<String>,
    payload: Option<Payload>,
}

#[derive(Deserialize)]
struct Payload {
    id: Option<String>,
    from: Option<Endpoint>,
    #[serde(default)]
    to: Vec<Endpoint>,
    text: Option<String>,
    received_at: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct Endpoint {
    phone_number: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
struct ErrorItem {
    code: Option<serde_json::Value>,
}

fn decode_signature(text: &str) -> Result<Signature, WebhookError> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|_| WebhookError::SignatureInvalid)?;
    Signature::from_slice(&bytes).map_err(|_| WebhookError::SignatureInvalid)
}

/// A text with media only may come with no `text`; it is kept with an empty body rather
/// than losing that the texter reached out.
fn read_inbound(
    payload: Option<Payload>,
    occurred_at: Option<String>,
) -> Result<InboundText, WebhookError> {
    let payload = payload.ok_or(WebhookError::MissingField("data.payload"))?;
    let id = payload
        .id
        .filter(|id| !id.is_empty())
        .ok_or(WebhookError::MissingField("data.payload.id"))?;
    let from = payload
        .from
        .and_then(|from| from.phone_number)
        .ok_or(WebhookError::MissingField("data.payload.from.phone_number"))?;
    let to = first_recipient(payload.to)?
        .phone_number
        .ok_or(WebhookError::MissingField("data.payload.to.phone_number"))?;
    let received_at = payload.received_at.or(occurred_at);

    Ok(InboundText {
        provider_message_id: id,
        from: sender(&from)?,
        to,
        body: MessageBody::new(payload.text.unwrap_or_default()),
        opt_out_type: None,
        concat: None,
        received_at: received_at.as_deref().and_then(unix_seconds),
    })
}

fn read_status(payload: Option<Payload>) -> Result<StatusReport, WebhookError> {
    let payload = payload.ok_or(WebhookError::MissingField("data.payload"))?;
    let id = payload
        .id
        .filter(|id| !id.is_empty())
        .ok_or(WebhookError::MissingField("data.payload.id"))?;
    let error_code = payload
        .errors
        .into_iter()
        .find_map(|error| error.code)
        .map(code_text);
    let word = first_recipient(payload.to)?
        .status
        .ok_or(WebhookError::MissingField("data.payload.to.status"))?;

    Ok(StatusReport {
        provider_message_id: id,
        status: status_from_word(&word)?,
        error_code,
    })
}

fn first_recipient(to: Vec<Endpoint>) -> Result<Endpoint, WebhookError> {
    to.into_iter()
        .next()
        .ok_or(WebhookError::MissingField("data.payload.to"))
}

fn code_text(code: serde_json::Value) -> String {
    match code {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }
}

fn unix_seconds(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Maps Telnyx's per-recipient status words. `delivery_unconfirmed` is final for Telnyx but
/// says only that no receipt came, so it stays `Sent`; `delivery_failed` and `expired` are
/// the carrier giving up, `sending_failed` is Telnyx itself failing to send.
fn status_from_word(word: &str) -> Result<DeliveryStatus, WebhookError> {
    match word {
        "queued" => Ok(DeliveryStatus::Queued),
        "sending" | "sent" | "delivery_unconfirmed" => Ok(DeliveryStatus::Sent),
        "delivered" => Ok(DeliveryStatus::Delivered),
        "delivery_failed" | "expired" => Ok(DeliveryStatus::Undelivered),
        "sending_failed" => Ok(DeliveryStatus::Failed),
        _ => Err(malformed("unknown delivery status")),
    }
}

#[cfg(test)]
#[path = "telnyx_tests.rs"]
mod tests;
