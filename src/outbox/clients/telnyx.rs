//! Sends texts through Telnyx's Messaging API v2 (`POST /v2/messages`, JSON, Bearer API key)
//! and reads Telnyx's error codes (`errors[0].code`) into a [`SendOutcome`].

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    ClientError, DEFAULT_TIMEOUT, Reply, Verdict, accepted_without_id, build_http_client,
    check_base_url, check_destination, execute, outcome_for_code, outcome_for_status, reason,
};
use crate::outbox::send::{OutboundText, ProviderClient, SendFuture, SendOutcome};

pub const DEFAULT_BASE_URL: &str = "https://api.telnyx.com";
const PROVIDER: &str = "telnyx";

/// What a Telnyx channel needs to send.
#[derive(Debug, Clone)]
pub struct TelnyxConfig {
    pub api_key: SecretString,
    pub base_url: String,
    pub timeout: Duration,
}

/// Sends one text per request with one Telnyx API key.
pub struct TelnyxClient {
    http: reqwest::Client,
    messages_url: String,
    api_key: SecretString,
}

impl TelnyxConfig {
    /// Telnyx's public API with the default timeout.
    pub fn new(api_key: SecretString) -> Self {
        Self {
            api_key,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl TelnyxClient {
    pub fn new(config: TelnyxConfig) -> Result<Self, ClientError> {
        let base_url = check_base_url(&config.base_url)?;

        Ok(Self {
            http: build_http_client(config.timeout)?,
            messages_url: format!("{base_url}/v2/messages"),
            api_key: config.api_key,
        })
    }

    async fn send_text(&self, text: OutboundText<'_>) -> SendOutcome {
        if let Err(outcome) = check_destination(PROVIDER, text.to) {
            return outcome;
        }

        let message = NewMessage {
            from: text.from,
            to: text.to.expose(),
            text: text.body,
            webhook_url: text.status_callback,
        };
        let request = self
            .http
            .post(&self.messages_url)
            .bearer_auth(self.api_key.expose_secret())
            .json(&message);
        match execute(PROVIDER, request).await {
            Ok(reply) => read_reply(&reply),
            Err(outcome) => outcome,
        }
    }
}

impl ProviderClient for TelnyxClient {
    fn send<'a>(&'a self, text: OutboundText<'a>) -> SendFuture<'a> {
        Box::pin(self.send_text(text))
    }
}

#[derive(Serialize)]
struct NewMessage<'a> {
    from: &'a str,
    to: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_url: Option<&'a str>,
}

/// `{"data": {"id": "<uuid>", ...}}`.
#[derive(Deserialize)]
struct Created {
    data: CreatedMessage,
}

#[derive(Deserialize)]
struct CreatedMessage {
    id: String,
}

/// `{"errors": [{"code": "40300", "title": ..., "detail": ...}]}`; only `code` is read.
#[derive(Deserialize)]
struct ErrorBody {
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    code: serde_json::Value,
}

fn read_reply(reply: &Reply) -> SendOutcome {
    if (200..300).contains(&reply.status) {
        return match serde_json::from_slice::<Created>(&reply.body) {
            Ok(created) if !created.data.id.is_empty() => SendOutcome::Accepted {
                provider_message_id: created.data.id,
            },
            _ => accepted_without_id(PROVIDER, reply.status),
        };
    }

    let code = error_code(&reply.body);
    match code.and_then(classify) {
        Some((verdict, description)) => {
            let reason = reason(PROVIDER, reply.status, code, description);
            outcome_for_code(verdict, reason, reply.retry_after)
        }
        None => outcome_for_status(PROVIDER, reply.status, code, reply.retry_after),
    }
}

/// The first error's code, which Telnyx sends as a string of digits (a number is accepted).
fn error_code(body: &[u8]) -> Option<u32> {
    let body = serde_json::from_slice::<ErrorBody>(body).ok()?;
    match &body.errors.first()?.code {
        serde_json::Value::String(code) => code.parse().ok(),
        serde_json::Value::Number(code) => code.as_u64().and_then(|code| code.try_into().ok()),
        _ => None,
    }
}

/// Telnyx's error codes that matter at send time: reference section 3, plus the general API
/// codes (10xxx) and 40310 from Telnyx's error pages.
fn classify(code: u32) -> Option<(Verdict, &'static str)> {
    let entry = match code {
        10002 => (Verdict::Permanent, "invalid phone number"),
        10007 => (Verdict::Retry, "unexpected provider error"),
        10008 => (Verdict::Retry, "provider timed out"),
        10009 => (Verdict::Misconfigured, "authentication failed"),
        10010 => (Verdict::Misconfigured, "authorization failed"),
        10011 => (Verdict::Retry, "too many requests"),
        10016 => (Verdict::Permanent, "phone number is not in +E.164 form"),
        40001 => (Verdict::Permanent, "destination not routable"),
        40003 => (Verdict::Misconfigured, "sending number blocked as spam"),
        40005 => (Verdict::Permanent, "message expired"),
        40006 => (Verdict::Retry, "recipient's carrier unavailable"),
        40008 => (Verdict::Permanent, "undeliverable"),
        40009 => (Verdict::Permanent, "invalid message body"),
        40011 => (Verdict::Retry, "rate limit exceeded"),
        40300 => (Verdict::OptedOut, "the texter sent STOP to this sender"),
        40310 => (Verdict::Permanent, "invalid to number"),
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

    fn error(status: u16, code: &str) -> Reply {
        let body = format!(
            r#"{{"errors": [{{"code": "{code}", "title": "Refused",
                "detail": "Cannot send to +13125550001", "source": {{"pointer": "/to"}}}}]}}"#
        );
        reply(status, None, &body)
    }

    #[test]
    fn created_message_is_accepted_with_its_id() {
        let body = r#"{"data": {"record_type": "message", "type": "SMS",
            "id": "40385f64-5717-4562-b3fc-2c963f66afa6", "to": [{"status": "queued"}]}}"#;

        let outcome = read_reply(&reply(200, None, body));

        assert_eq!(
            outcome,
            SendOutcome::Accepted {
                provider_message_id: "40385f64-5717-4562-b3fc-2c963f66afa6".into()
            }
        );
    }

    #[test]
    fn stop_blocked_recipient_is_permanent_and_opted_out() {
        let outcome = read_reply(&error(400, "40300"));

        assert_eq!(
            outcome,
            SendOutcome::Permanent {
                reason: "telnyx 400 code 40300: the texter sent STOP to this sender".into(),
                opted_out: true,
            }
        );
    }

    #[test]
    fn invalid_numbers_are_permanent() {
        for code in ["40310", "10002", "10016", "40001"] {
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
    fn rejected_api_key_is_misconfiguration() {
        let outcome = read_reply(&error(401, "10009"));

        assert_eq!(
            outcome,
            SendOutcome::Misconfigured {
                reason: "telnyx 401 code 10009: authentication failed".into()
            }
        );
    }

    #[test]
    fn too_many_requests_is_retried_after_the_retry_after() {
        let after = Some(Duration::from_secs(2));
        let mut throttled = error(429, "10011");
        throttled.retry_after = after;

        let outcome = read_reply(&throttled);

        assert!(matches!(outcome, SendOutcome::Retry { after: a, .. } if a == after));
    }

    #[test]
    fn server_errors_are_retried() {
        assert!(matches!(
            read_reply(&reply(502, None, "bad gateway")),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            read_reply(&error(500, "10007")),
            SendOutcome::Retry { .. }
        ));
    }

    #[test]
    fn numeric_codes_are_read_too() {
        assert_eq!(error_code(br#"{"errors": [{"code": 40300}]}"#), Some(40300));
    }

    #[test]
    fn reasons_never_quote_the_detail() {
        let SendOutcome::Permanent { reason, .. } = read_reply(&error(400, "40310")) else {
            panic!("expected a permanent failure");
        };

        assert!(!reason.contains("3125550001"), "{reason}");
    }
}
