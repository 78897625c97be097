//! What the outbox worker asks of a provider: send one text, and say plainly what happened.
//!
//! Each provider's client turns its wire format and error codes into one [`SendOutcome`].
//! Reasons are built from status and error codes only: providers' error messages can quote
//! the number, and reasons are stored and logged.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::privacy::phone::PhoneNumber;

/// One text to hand to a provider.
pub struct OutboundText<'a> {
    pub to: &'a PhoneNumber,
    pub from: &'a str,
    pub body: &'a str,
    /// Where the provider should report delivery (`.../webhooks/{provider}/{channel}/status`).
    pub status_callback: Option<&'a str>,
    /// Textline's id for the text, for providers that echo a client reference.
    pub reference: String,
}

/// What became of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The provider took the text and gave it this id.
    Accepted { provider_message_id: String },
    /// Try again later: throttled (429, Twilio 20429), provider errors (5xx), timeouts,
    /// connection failures, queue overflow. `after` is the provider's `Retry-After`.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Never retry: the number is invalid or unreachable, or the texter opted out at the
    /// provider (`opted_out`: Twilio 21610, Telnyx 40300).
    Permanent { reason: String, opted_out: bool },
    /// The channel is misconfigured (bad credentials, sender not allowed): pause it.
    Misconfigured { reason: String },
}

/// Boxed future returned by provider clients.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>>;

/// A provider's send API.
pub trait ProviderClient: Send + Sync {
    fn send<'a>(&'a self, text: OutboundText<'a>) -> SendFuture<'a>;
}
