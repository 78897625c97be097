//! Vonage (Nexmo) webhooks: signed SMS API inbound texts and delivery receipts (`sig`), and
//! signed Messages API webhooks (JWT). SMS API webhooks arrive as a form, a query string or
//! flat JSON; `params_from_json` turns the JSON form into the same pairs.

mod jwt;
mod signature;

pub use jwt::{CLOCK_LEEWAY_SECS, verify_messages_jwt};
pub use signature::{
    MAX_AGE_SECS, MAX_AHEAD_SECS, SignatureMethod, UnknownSignatureMethod, compute_signature,
    verify_signature,
};

use time::PrimitiveDateTime;
use time::macros::format_description;

use crate::privacy::MessageBody;
use crate::providers::{
    ConcatPart, DeliveryStatus, InboundText, StatusReport, WebhookError, form_value, malformed,
    require, sender,
};

/// Flattens a JSON webhook body into name/value pairs, as the form would have carried them:
/// strings as they are, numbers and booleans in their JSON spelling. Nested values and
/// nulls are left out; SMS API webhooks have none.
pub fn params_from_json(body: &[u8]) -> Result<Vec<(String, String)>, WebhookError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| malformed("body is not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("body is not a JSON object"))?;
    let pairs = object
        .iter()
        .filter_map(|(name, value)| scalar_text(value).map(|text| (name.clone(), text)))
        .collect();
    Ok(pairs)
}

/// Reads an SMS API inbound text from verified parameters.
///
/// Only routing fields are read; `network-code` and anything else that locates the texter
/// is left behind. Parts of a long text come one by one with `concat` set; reassembling them
/// is the inbound pipeline's work.
pub fn parse_inbound(params: &[(String, String)]) -> Result<InboundText, WebhookError> {
    let provider_message_id = require(params, &["messageId"])?;
    let from = sender(require(params, &["msisdn"])?)?;
    let to = require(params, &["to"])?;
    let text = form_value(params, "text").ok_or(WebhookError::MissingField("text"))?;
    let concat = read_concat(params)?;
    let received_at = form_value(params, "message-timestamp").and_then(unix_seconds);

    Ok(InboundText {
        provider_message_id: provider_message_id.to_owned(),
        from,
        to: to.to_owned(),
        body: MessageBody::new(text),
        opt_out_type: None,
        concat,
        received_at,
    })
}

/// Reads an SMS API delivery receipt from verified parameters. An `err-code` of `0` means
/// no error and is dropped.
pub fn parse_status(params: &[(String, String)]) -> Result<StatusReport, WebhookError> {
    let provider_message_id = require(params, &["messageId"])?;
    let status = status_from_word(require(params, &["status"])?)?;
    let error_code = form_value(params, "err-code").filter(|code| !code.is_empty() && *code != "0");

    Ok(StatusReport {
        provider_message_id: provider_message_id.to_owned(),
        status,
        error_code: error_code.map(str::to_owned),
    })
}

fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn read_concat(params: &[(String, String)]) -> Result<Option<ConcatPart>, WebhookError> {
    if form_value(params, "concat") != Some("true") {
        return Ok(None);
    }
    let reference = require(params, &["concat-ref"])?;
    let total = small_number(require(params, &["concat-total"])?)?;
    let part = small_number(require(params, &["concat-part"])?)?;
    if part == 0 || part > total {
        return Err(malformed("concat-part is outside concat-total"));
    }
    Ok(Some(ConcatPart {
        reference: reference.to_owned(),
        total,
        part,
    }))
}

fn small_number(text: &str) -> Result<u8, WebhookError> {
    text.trim()
        .parse()
        .map_err(|_| malformed("concat count is not a number from 0 to 255"))
}

/// `message-timestamp` is `YYYY-MM-DD HH:MM:SS` in UTC. An unreadable one is dropped rather
/// than refusing the text.
fn unix_seconds(text: &str) -> Option<i64> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(text.trim(), format)
        .ok()
        .map(|moment| moment.assume_utc().unix_timestamp())
}

/// Maps delivery receipt status words. `accepted` and `buffered` are still on their way;
/// `unknown` (the carrier said nothing usable) stays `Sent`, since nothing says it failed;
/// `expired` means the carrier gave up delivering.
fn status_from_word(word: &str) -> Result<DeliveryStatus, WebhookError> {
    match word {
        "accepted" | "buffered" | "unknown" => Ok(DeliveryStatus::Sent),
        "delivered" => Ok(DeliveryStatus::Delivered),
        "expired" => Ok(DeliveryStatus::Undelivered),
        "failed" | "rejected" => Ok(DeliveryStatus::Failed),
        _ => Err(malformed("unknown delivery status")),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::providers::parse_form;

    /// The reference's inbound example, with numbers filled in.
    const INBOUND: &str = "keyword=HELLO!&message-timestamp=2016-08-14 10:13:54&\
        messageId=030000000926C4C2&msisdn=447700900001&text=Hello!&to=447700900999&type=text";
    /// courier's delivery receipt fixture, with a number filled in.
    const RECEIPT: &str = "msisdn=447700900001&to=Tak&network-code=23820&\
        messageId=0C0000002EEBDA56&price=0.01820000&status=delivered&scts=1705021324&\
        err-code=0&message-timestamp=2017-05-02+11%3A24%3A03";

    fn form(text: &str) -> Vec<(String, String)> {
        parse_form(text.as_bytes())
    }

    #[test]
    fn reference_inbound_example_is_read() {
        let text = parse_inbound(&form(INBOUND)).unwrap();
        assert_eq!(text.provider_message_id, "030000000926C4C2");
        assert_eq!(text.from.expose(), "+447700900001");
        assert_eq!(text.to, "447700900999");
        assert_eq!(text.body.expose(), "Hello!");
        assert_eq!(text.concat, None);
        assert_eq!(text.received_at, Some(1_471_169_634));
    }

    #[test]
    fn json_inbound_reads_like_the_form() {
        let body = br#"{"msisdn":"447700900001","to":"447700900999","messageId":"0A0000001",
            "text":"help","type":"text","concat":"true","concat-ref":"42",
            "concat-total":"3","concat-part":2,"message-timestamp":"2020-01-01 00:00:00",
            "nested":{"ignored":true},"nothing":null}"#;
        let params = params_from_json(body).unwrap();
        let text = parse_inbound(&params).unwrap();
        assert_eq!(text.body.expose(), "help");
        let part = ConcatPart {
            reference: "42".into(),
            total: 3,
            part: 2,
        };
        assert_eq!(text.concat, Some(part));
        assert_eq!(text.received_at, Some(1_577_836_800));
        assert!(
            params
                .iter()
                .all(|(name, _)| name != "nested" && name != "nothing")
        );
    }

    #[test]
    fn concat_part_outside_its_total_is_refused() {
        let payload = format!("{INBOUND}&concat=true&concat-ref=7&concat-total=2&concat-part=3");
        assert!(matches!(
            parse_inbound(&form(&payload)),
            Err(WebhookError::Malformed(_))
        ));
        let missing = format!("{INBOUND}&concat=true&concat-total=2&concat-part=1");
        assert_eq!(
            parse_inbound(&form(&missing)).unwrap_err(),
            WebhookError::MissingField("concat-ref")
        );
    }

    #[test]
    fn missing_sender_is_named() {
        let params: Vec<_> = form(INBOUND)
            .into_iter()
            .filter(|(k, _)| k != "msisdn")
            .collect();
        assert_eq!(
            parse_inbound(&params).unwrap_err(),
            WebhookError::MissingField("msisdn")
        );
    }

    #[test]
    fn non_json_body_is_malformed_without_echoing_it() {
        let error = params_from_json(b"he took my passport +447700900001").unwrap_err();
        let shown = error.to_string();
        assert!(
            !shown.contains("passport") && !shown.contains("447700900001"),
            "{shown}"
        );
    }

    #[test]
    fn delivery_receipt_is_read_without_location() {
        let report = parse_status(&form(RECEIPT)).unwrap();
        assert_eq!(report.provider_message_id, "0C0000002EEBDA56");
        assert_eq!(report.status, DeliveryStatus::Delivered);
        assert_eq!(report.error_code, None);
        assert!(!format!("{report:?}").contains("23820"));
    }

    #[test]
    fn receipt_status_words_map_to_delivery_statuses() {
        let cases = [
            ("delivered", DeliveryStatus::Delivered),
            ("expired", DeliveryStatus::Undelivered),
            ("failed", DeliveryStatus::Failed),
            ("rejected", DeliveryStatus::Failed),
            ("accepted", DeliveryStatus::Sent),
            ("buffered", DeliveryStatus::Sent),
            ("unknown", DeliveryStatus::Sent),
        ];
        for (word, expected) in cases {
            let payload = format!("messageId=0C01&status={word}&err-code=6");
            let report = parse_status(&form(&payload)).unwrap();
            assert_eq!(report.status, expected, "{word}");
            assert_eq!(report.error_code.as_deref(), Some("6"));
        }
        let unknown = parse_status(&form("messageId=0C01&status=submitted"));
        assert!(matches!(unknown, Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn signed_json_inbound_verifies_after_flattening() {
        let secret = SecretString::from("signature_secret");
        let mut params = params_from_json(
            br#"{"msisdn":"447700900001","to":"447700900999","messageId":"0A01",
                "text":"a&b=c","timestamp":1700000000,"nonce":"n-1"}"#,
        )
        .unwrap();
        let sig = compute_signature(SignatureMethod::Md5Hash, &secret, &params);
        params.push(("sig".into(), sig));
        let outcome = verify_signature(SignatureMethod::Md5Hash, &secret, &params, 1_700_000_000);
        assert_eq!(outcome, Ok(()));
    }
}
