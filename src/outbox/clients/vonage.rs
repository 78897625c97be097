//! Sends texts through Vonage's SMS API (`POST /sms/json`, form-encoded, key and secret in
//! the form) and reads its per-part `status` codes into a [`SendOutcome`].
//!
//! Vonage answers HTTP 200 even when it refuses a text: the verdict is in `messages[].status`,
//! one entry per part, `"0"` meaning accepted.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{
    ClientError, DEFAULT_TIMEOUT, Reply, Verdict, accepted_without_id, build_http_client,
    check_base_url, check_destination, execute, outcome_for_code, outcome_for_status, reason,
};
use crate::outbox::send::{OutboundText, ProviderClient, SendFuture, SendOutcome};

pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";
const PROVIDER: &str = "vonage";

/// GSM 03.38 basic table (one septet each), in code order.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                          ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table (escape plus one septet each).
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// What a Vonage channel needs to send.
#[derive(Debug, Clone)]
pub struct VonageConfig {
    pub api_key: String,
    pub api_secret: SecretString,
    pub base_url: String,
    pub timeout: Duration,
}

/// Sends one text per request with one Vonage API key.
pub struct VonageClient {
    http: reqwest::Client,
    send_url: String,
    api_key: String,
    api_secret: SecretString,
}

impl VonageConfig {
    /// Vonage's public SMS API with the default timeout.
    pub fn new(api_key: impl Into<String>, api_secret: SecretString) -> Self {
        Self {
            api_key: api_key.into(),
            api_secret,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl VonageClient {
    pub fn new(config: VonageConfig) -> Result<Self, ClientError> {
        let base_url = check_base_url(&config.base_url)?;

        Ok(Self {
            http: build_http_client(config.timeout)?,
            send_url: format!("{base_url}/sms/json"),
            api_key: config.api_key,
            api_secret: config.api_secret,
        })
    }

    async fn send_text(&self, text: OutboundText<'_>) -> SendOutcome {
        if let Err(outcome) = check_destination(PROVIDER, text.to) {
            return outcome;
        }

        let fields = form_fields(&text, &self.api_key, self.api_secret.expose_secret());
        let request = self.http.post(&self.send_url).form(&fields);
        match execute(PROVIDER, request).await {
            Ok(reply) => read_reply(&reply),
            Err(outcome) => outcome,
        }
    }
}

impl ProviderClient for VonageClient {
    fn send<'a>(&'a self, text: OutboundText<'a>) -> SendFuture<'a> {
        Box::pin(self.send_text(text))
    }
}

/// `{"message-count": "1", "messages": [{"status": "0", "message-id": "..."}]}`.
#[derive(Deserialize)]
struct SendResponse {
    messages: Vec<PartStatus>,
}

#[derive(Deserialize)]
struct PartStatus {
    status: String,
    #[serde(rename = "message-id")]
    message_id: Option<String>,
}

/// Numbers go without `+`, as Vonage expects. Delivery receipts are always asked for; the
/// per-text `callback` overrides the dashboard's receipt URL when the channel has one.
fn form_fields<'a>(
    text: &'a OutboundText<'a>,
    api_key: &'a str,
    api_secret: &'a str,
) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![
        ("api_key", api_key),
        ("api_secret", api_secret),
        ("from", without_plus(text.from)),
        ("to", without_plus(text.to.expose())),
        ("text", text.body),
        ("type", message_type(text.body)),
        ("client-ref", text.reference.as_str()),
        ("status-report-req", "1"),
    ];
    if let Some(url) = text.status_callback {
        fields.push(("callback", url));
    }
    fields
}

fn without_plus(number: &str) -> &str {
    number.strip_prefix('+').unwrap_or(number)
}

/// `text` when every character is in the GSM-7 tables, `unicode` otherwise: sent as `text`,
/// a character outside GSM-7 (an accent such as `á`, a curly quote, a backtick) would be
/// replaced or dropped on the texter's phone.
fn message_type(body: &str) -> &'static str {
    let gsm7 = body
        .chars()
        .all(|c| GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c));
    if gsm7 { "text" } else { "unicode" }
}

fn read_reply(reply: &Reply) -> SendOutcome {
    if !(200..300).contains(&reply.status) {
        return outcome_for_status(PROVIDER, reply.status, None::<u32>, reply.retry_after);
    }
    let parts = match serde_json::from_slice::<SendResponse>(&reply.body) {
        Ok(response) if !response.messages.is_empty() => response.messages,
        _ => return accepted_without_id(PROVIDER, reply.status),
    };

    let Some(refused) = parts.iter().find(|part| part.status != "0") else {
        return match parts.into_iter().next().and_then(|part| part.message_id) {
            Some(id) if !id.is_empty() => SendOutcome::Accepted {
                provider_message_id: id,
            },
            _ => accepted_without_id(PROVIDER, reply.status),
        };
    };
    read_refusal(reply, refused, parts.iter().any(|part| part.status == "0"))
}

/// A refused part. When other parts went out, resending would repeat them, so the text is
/// not retried whatever the code.
fn read_refusal(reply: &Reply, refused: &PartStatus, some_parts_sent: bool) -> SendOutcome {
    let code = refused.status.parse::<u32>().ok();
    if some_parts_sent {
        return SendOutcome::Permanent {
            reason: reason(
                PROVIDER,
                reply.status,
                code,
                "only part of the text was accepted",
            ),
            opted_out: false,
        };
    }
    match code.and_then(classify) {
        Some((verdict, description)) => {
            let reason = reason(PROVIDER, reply.status, code, description);
            outcome_for_code(verdict, reason, reply.retry_after)
        }
        None => SendOutcome::Permanent {
            reason: reason(PROVIDER, reply.status, code, "unrecognised status"),
            opted_out: false,
        },
    }
}

/// Vonage SMS API send statuses (reference section 2.1).
fn classify(status: u32) -> Option<(Verdict, &'static str)> {
    let entry = match status {
        1 => (Verdict::Retry, "throttled"),
        2 => (Verdict::Misconfigured, "missing parameters"),
        3 => (
            Verdict::Permanent,
            "invalid parameters, such as the to number",
        ),
        4 => (Verdict::Misconfigured, "invalid credentials"),
        5 => (Verdict::Retry, "internal error"),
        6 => (
            Verdict::Permanent,
            "invalid message, such as an unrecognised number prefix",
        ),
        7 => (Verdict::Permanent, "destination number barred"),
        8 => (Verdict::Misconfigured, "account barred"),
        9 => (Verdict::Misconfigured, "account out of credit"),
        10 => (Verdict::Retry, "too many connections"),
        11 => (Verdict::Misconfigured, "account not enabled for http"),
        12 => (Verdict::Permanent, "message too long"),
        14 => (Verdict::Misconfigured, "invalid signature"),
        15 => (Verdict::Misconfigured, "invalid sender address"),
        22 => (Verdict::Permanent, "invalid network code"),
        23 => (Verdict::Misconfigured, "invalid callback url"),
        29 => (
            Verdict::Misconfigured,
            "destination not whitelisted for this account",
        ),
        32 => (Verdict::Misconfigured, "signature and api secret both sent"),
        33 => (Verdict::Permanent, "destination number deactivated"),
        _ => return None,
    };
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn refused(status: &str) -> Reply {
        let body = format!(
            r#"{{"message-count": "1", "messages": [{{"status": "{status}",
                "error-text": "Bad number 447700900001"}}]}}"#
        );
        reply(200, &body)
    }

    fn outcome_for(status: &str) -> SendOutcome {
        read_reply(&refused(status))
    }

    #[test]
    fn status_zero_is_accepted_with_the_message_id() {
        let body = r#"{"message-count": "1", "messages": [{"to": "447700900000",
            "message-id": "0A0000000123ABCD1", "status": "0", "remaining-balance": "3.14"}]}"#;

        let outcome = read_reply(&reply(200, body));

        assert_eq!(
            outcome,
            SendOutcome::Accepted {
                provider_message_id: "0A0000000123ABCD1".into()
            }
        );
    }

    #[test]
    fn refusal_inside_http_200_is_read_from_the_status() {
        assert_eq!(
            outcome_for("4"),
            SendOutcome::Misconfigured {
                reason: "vonage 200 code 4: invalid credentials".into()
            }
        );
    }

    #[test]
    fn throttling_internal_errors_and_busy_binds_are_retried() {
        for status in ["1", "5", "10"] {
            assert!(
                matches!(outcome_for(status), SendOutcome::Retry { .. }),
                "{status}"
            );
        }
    }

    #[test]
    fn invalid_barred_or_deactivated_numbers_are_permanent() {
        for status in ["3", "6", "7", "33"] {
            let outcome = outcome_for(status);

            assert!(
                matches!(
                    outcome,
                    SendOutcome::Permanent {
                        opted_out: false,
                        ..
                    }
                ),
                "{status}: {outcome:?}"
            );
        }
    }

    #[test]
    fn account_and_sender_problems_are_misconfiguration() {
        for status in ["2", "8", "9", "15", "29"] {
            assert!(
                matches!(outcome_for(status), SendOutcome::Misconfigured { .. }),
                "{status}"
            );
        }
    }

    #[test]
    fn partly_accepted_text_is_never_retried() {
        let body = r#"{"message-count": "2", "messages": [
            {"status": "0", "message-id": "0A01"}, {"status": "1"}]}"#;

        let outcome = read_reply(&reply(200, body));

        assert!(matches!(
            outcome,
            SendOutcome::Permanent {
                opted_out: false,
                ..
            }
        ));
    }

    #[test]
    fn http_errors_follow_the_status() {
        assert!(matches!(
            read_reply(&reply(500, "")),
            SendOutcome::Retry { .. }
        ));
        assert!(matches!(
            read_reply(&reply(401, "")),
            SendOutcome::Misconfigured { .. }
        ));
    }

    #[test]
    fn reasons_never_quote_the_error_text() {
        let SendOutcome::Permanent { reason, .. } = outcome_for("3") else {
            panic!("expected a permanent failure");
        };

        assert!(!reason.contains("447700900001"), "{reason}");
    }

    #[test]
    fn type_is_unicode_only_outside_gsm7() {
        assert_eq!(message_type("Hello {name} €5 @ 10:00\nOK?"), "text");
        assert_eq!(message_type("Ça va, Ümit? à bientôt"), "unicode");
        assert_eq!(message_type("use `code`"), "unicode");
        assert_eq!(message_type("it’s"), "unicode");
        assert_eq!(message_type("Привет"), "unicode");
    }
}
