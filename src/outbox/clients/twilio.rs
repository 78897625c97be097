//! Sends texts through Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`,
//! form-encoded, HTTP Basic with the account SID and auth token) and reads Twilio's error
//! codes into a [`SendOutcome`].

use std::time::Duration;

use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{
    ClientError, DEFAULT_TIMEOUT, Reply, Verdict, accepted_without_id, build_http_client,
    check_base_url, check_destination, execute, outcome_for_code, outcome_for_status, reason,
};
use crate::outbox::send::{OutboundText, ProviderClient, SendFuture, SendOutcome};

pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";
const PROVIDER: &str = "twilio";

/// What a Twilio channel needs to send.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `AC` followed by 32 hex digits (or an API key SID).
    pub account_sid: String,
    pub auth_token: SecretString,
    pub base_url: String,
    pub timeout: Duration,
}

/// Sends one text per request to one Twilio account.
pub struct TwilioClient {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: SecretString,
}

impl TwilioConfig {
    /// Twilio's public API with the default timeout.
    pub fn new(account_sid: impl Into<String>, auth_token: SecretString) -> Self {
        Self {
            account_sid: account_sid.into(),
            auth_token,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl TwilioClient {
    pub fn new(config: TwilioConfig) -> Result<Self, ClientError> {
        let sid = &config.account_sid;
        if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ClientError::InvalidAccountId);
        }
        let base_url = check_base_url(&config.base_url)?;

        Ok(Self {
            http: build_http_client(config.timeout)?,
            messages_url: format!("{base_url}/2010-04-01/Accounts/{sid}/Messages.json"),
            account_sid: config.account_sid,
            auth_token: config.auth_token,
        })
    }

    async fn send_text(&self, text: OutboundText<'_>) -> SendOutcome {
        if let Err(outcome) = check_destination(PROVIDER, text.to) {
            return outcome;
        }

        let request = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .header(ACCEPT, "application/json")
            .form(&form_fields(&text));
        match execute(PROVIDER, request).await {
            Ok(reply) => read_reply(&reply),
            Err(outcome) => outcome,
        }
    }
}

impl ProviderClient for TwilioClient {
    fn send<'a>(&'a self, text: OutboundText<'a>) -> SendFuture<'a> {
        Box::pin(self.send_text(text))
    }
}

/// A created message (`201`, `sid` = `SM...`).
#[derive(Deserialize)]
struct CreatedMessage {
    sid: String,
}

/// Twilio's error body, legacy or RFC 9457: only the numeric `code` is read.
#[derive(Deserialize)]
struct ErrorBody {
    code: Option<u32>,
}

fn form_fields<'a>(text: &'a OutboundText<'a>) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![
        ("To", text.to.expose()),
        ("From", text.from),
        ("Body", text.body),
    ];
    if let Some(url) = text.status_callback {
        fields.push(("StatusCallback", url));
    }
    fields
}

fn read_reply(reply: &Reply) -> SendOutcome {
    if (200..300).contains(&reply.status) {
        return match serde_json::from_slice::<CreatedMessage>(&reply.body) {
            Ok(message) if !message.sid.is_empty() => SendOutcome::Accepted {
                provider_message_id: message.sid,
            },
            _ => accepted_without_id(PROVIDER, reply.status),
        };
    }

    let code = serde_json::from_slice::<ErrorBody>(&reply.body)
        .ok()
        .and_then(|body| body.code);
    match code.and_then(classify) {
        Some((verdict, description)) => {
            let reason = reason(PROVIDER, reply.status, code, description);
            outcome_for_code(verdict, reason, reply.retry_after)
        }
        None => outcome_for_status(PROVIDER, reply.status, code, reply.retry_after),
    }
}

/// Twilio's error codes that matter at send time (reference section 1.5).
fn classify(code: u32) -> Option<(Verdict, &'static str)> {
    let entry = match code {
        20003 => (Verdict::Misconfigured, "authentication failed"),
        20429 => (Verdict::Retry, "too many requests"),
        21211 => (Verdict::Permanent, "invalid To number"),
        21212 => (Verdict::Misconfigured, "invalid From number"),
        21408 => (
            Verdict::Misconfigured,
            "sending to the To number's region is not enabled",
        ),
        21606 => (
            Verdict::Misconfigured,
            "From number cannot send to this destination",
        ),
        21608 => (
            Verdict::Misconfigured,
            "To number not verified for a trial account",
        ),
        21610 => (
            Verdict::OptedOut,
            "the texter unsubscribed from this sender",
        ),
        21611 => (Verdict::Retry, "the From number's queue is full"),
        21612 => (Verdict::Permanent, "To number is not reachable by SMS"),
        21614 => (Verdict::Permanent, "To number is not a mobile number"),
        21617 => (Verdict::Permanent, "body is longer than 1600 characters"),
        21635 => (Verdict::Permanent, "To number is a landline"),
        30001 => (Verdict::Retry, "queue overflow"),
        30002 => (Verdict::Misconfigured, "account suspended"),
        30005 => (Verdict::Permanent, "unknown destination handset"),
        30006 => (Verdict::Permanent, "landline or unreachable carrier"),
        _ => return None,
    };
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, retry_after: Option<Duration>, body: &str) -> Reply {
        Reply {
            status,
            retry_after,
            body: body.as_bytes().to_vec(),
        }
    }

    fn error(status: u16, code: u32) -> Reply {
        let body = format!(
            r#"{{"code": {code}, "message": "The number +15005550006 is bad",
                "more_info": "https://www.twilio.com/docs/errors/{code}", "status": {status}}}"#
        );
        reply(status, None, &body)
    }

    #[test]
    fn created_message_is_accepted_with_its_sid() {
        let body = r#"{"sid": "SM1234567890abcdef1234567890abcdef", "status": "queued"}"#;

        let outcome = read_reply(&reply(201, None, body));

        assert_eq!(
            outcome,
            SendOutcome::Accepted {
                provider_message_id: "SM1234567890abcdef1234567890abcdef".into()
            }
        );
    }

    #[test]
    fn created_message_without_a_sid_is_never_retried() {
        let outcome = read_reply(&reply(201, None, "{}"));

        assert!(matches!(
            outcome,
            SendOutcome::Permanent {
                opted_out: false,
                ..
            }
        ));
    }

    #[test]
    fn unsubscribed_recipient_is_permanent_and_opted_out() {
        let outcome = read_reply(&error(400, 21610));

        assert_eq!(
            outcome,
            SendOutcome::Permanent {
                reason: "twilio 400 code 21610: the texter unsubscribed from this sender".into(),
                opted_out: true,
            }
        );
    }

    #[test]
    fn invalid_or_unreachable_numbers_are_permanent() {
        for code in [21211, 21612, 21614, 21635, 21617] {
            let outcome = read_reply(&error(400, code));

            assert!(
                matches!(
                    outcome,
                    SendOutcome::Permanent {
                        opted_out: false,
                        ..
                    }
                ),
                "{code}: {outcome:?}"
            );
        }
    }

    #[test]
    fn credential_and_sender_errors_are_misconfiguration() {
        for (status, code) in [(401, 20003), (400, 21606), (400, 21212), (400, 21408)] {
            let outcome = read_reply(&error(status, code));

            assert!(
                matches!(outcome, SendOutcome::Misconfigured { .. }),
                "{code}: {outcome:?}"
            );
        }
    }

    #[test]
    fn too_many_requests_is_retried_after_the_retry_after() {
        let after = Some(Duration::from_secs(7));
        let body = r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#;

        let outcome = read_reply(&reply(429, after, body));

        assert_eq!(
            outcome,
            SendOutcome::Retry {
                after,
                reason: "twilio 429 code 20429: too many requests".into()
            }
        );
    }

    #[test]
    fn full_queues_and_server_errors_are_retried() {
        for (status, body) in [
            (400, r#"{"code": 21611}"#),
            (
                500,
                r#"{"code": 20500, "message": "Internal Server Error"}"#,
            ),
            (503, "<html>unavailable</html>"),
        ] {
            let outcome = read_reply(&reply(status, None, body));

            assert!(
                matches!(outcome, SendOutcome::Retry { .. }),
                "{status}: {outcome:?}"
            );
        }
    }

    #[test]
    fn bare_unauthorized_is_misconfiguration() {
        let outcome = read_reply(&reply(401, None, ""));

        assert!(matches!(outcome, SendOutcome::Misconfigured { .. }));
    }

    #[test]
    fn reasons_never_quote_the_providers_message() {
        let outcome = read_reply(&error(400, 21211));

        let SendOutcome::Permanent { reason, .. } = outcome else {
            panic!("expected a permanent failure, got {outcome:?}");
        };
        assert!(!reason.contains("15005550006"), "{reason}");
    }
}
