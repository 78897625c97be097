//! Twilio Programmable Messaging webhooks: signature check, inbound texts and delivery
//! status callbacks, both form-encoded.

mod signature;

pub use signature::{
    SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, SignatureAlgorithm, SignedPayload, TwilioKeys,
    compute_signature, verify_signature,
};

use crate::privacy::MessageBody;
use crate::providers::{
    DeliveryStatus, InboundText, StatusReport, WebhookError, form_value, malformed, require, sender,
};

/// The TwiML answer to an inbound text when we reply later through the outbox (or not at
/// all): Twilio then sends nothing back by itself. Serve it as `text/xml`.
pub const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

/// Reads an inbound text from a verified, decoded form.
///
/// Only the fields below are read; Twilio's location fields (`FromCity`, `FromState`,
/// `FromZip`, `FromCountry` and their `To` twins) and channel extras are left behind.
pub fn parse_inbound(form: &[(String, String)]) -> Result<InboundText, WebhookError> {
    let provider_message_id = require(form, &["MessageSid", "SmsMessageSid", "SmsSid"])?;
    let from = sender(require(form, &["From"])?)?;
    let to = require(form, &["To"])?;
    let body = form_value(form, "Body").ok_or(WebhookError::MissingField("Body"))?;
    let opt_out_type = form_value(form, "OptOutType").filter(|value| !value.is_empty());

    Ok(InboundText {
        provider_message_id: provider_message_id.to_owned(),
        from,
        to: to.to_owned(),
        body: MessageBody::new(body),
        opt_out_type: opt_out_type.map(str::to_owned),
        concat: None,
        received_at: None,
    })
}

/// Reads a delivery status callback from a verified, decoded form.
pub fn parse_status(form: &[(String, String)]) -> Result<StatusReport, WebhookError> {
    let provider_message_id = require(form, &["MessageSid", "SmsSid"])?;
    let status = status_from_word(require(form, &["MessageStatus", "SmsStatus"])?)?;
    let error_code = form_value(form, "ErrorCode").filter(|code| !code.is_empty());

    Ok(StatusReport {
        provider_message_id: provider_message_id.to_owned(),
        status,
        error_code: error_code.map(str::to_owned),
    })
}

/// Maps Twilio's message status words. `read` is a delivery confirmed further and
/// `canceled` a scheduled send that never left; `receiving`, `received` and
/// `partially_delivered` never describe a single outbound text and are refused.
fn status_from_word(word: &str) -> Result<DeliveryStatus, WebhookError> {
    match word {
        "accepted" | "scheduled" | "queued" => Ok(DeliveryStatus::Queued),
        "sending" | "sent" => Ok(DeliveryStatus::Sent),
        "delivered" | "read" => Ok(DeliveryStatus::Delivered),
        "undelivered" => Ok(DeliveryStatus::Undelivered),
        "failed" | "canceled" => Ok(DeliveryStatus::Failed),
        _ => Err(malformed("unknown delivery status")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::parse_form;

    /// The payload courier captured from Twilio (reference section 1.2).
    const CAPTURED: &str = "ToCountry=US&ToState=District+Of+Columbia&\
        SmsMessageSid=SMe287d7109a5a925f182f0e07fe5b223b&NumMedia=0&ToCity=&FromZip=01022&\
        SmsSid=SMe287d7109a5a925f182f0e07fe5b223b&FromState=MA&SmsStatus=received&\
        FromCity=CHICOPEE&Body=Msg&FromCountry=US&To=%2B12028831111&ToZip=&NumSegments=1&\
        MessageSid=SMe287d7109a5a925f182f0e07fe5b223b&AccountSid=acctid&\
        From=%2B14133881111&ApiVersion=2010-04-01";

    fn form(text: &str) -> Vec<(String, String)> {
        parse_form(text.as_bytes())
    }

    fn without(text: &str, name: &str) -> Vec<(String, String)> {
        form(text)
            .into_iter()
            .filter(|(key, _)| key != name)
            .collect()
    }

    #[test]
    fn captured_inbound_payload_is_read() {
        let text = parse_inbound(&form(CAPTURED)).unwrap();
        assert_eq!(
            text.provider_message_id,
            "SMe287d7109a5a925f182f0e07fe5b223b"
        );
        assert_eq!(text.from.expose(), "+14133881111");
        assert_eq!(text.to, "+12028831111");
        assert_eq!(text.body.expose(), "Msg");
        assert_eq!(text.opt_out_type, None);
        assert_eq!(text.concat, None);
        assert_eq!(text.received_at, None);
    }

    #[test]
    fn location_metadata_never_reaches_the_inbound_text() {
        let payload = format!("{CAPTURED}&FromCity=SPRINGFIELD&FromZip=65801&FromCountry=US");
        let text = parse_inbound(&form(&payload)).unwrap();
        let shown = format!("{text:?}");
        for located in [
            "CHICOPEE",
            "SPRINGFIELD",
            "01022",
            "65801",
            "MA",
            "District",
            "US",
        ] {
            assert!(!shown.contains(located), "{located} in {shown}");
            assert!(!text.to.contains(located));
            assert!(!text.provider_message_id.contains(located));
            assert!(!text.body.expose().contains(located));
            assert!(!text.from.expose().contains(located));
        }
        assert!(!shown.contains("14133881111"), "{shown}");
    }

    #[test]
    fn opt_out_type_is_kept_when_twilio_sends_it() {
        let text = parse_inbound(&form(&format!("{CAPTURED}&OptOutType=STOP"))).unwrap();
        assert_eq!(text.opt_out_type.as_deref(), Some("STOP"));
    }

    #[test]
    fn sms_sid_stands_in_for_a_missing_message_sid() {
        let text = parse_inbound(&without(CAPTURED, "MessageSid")).unwrap();
        assert_eq!(
            text.provider_message_id,
            "SMe287d7109a5a925f182f0e07fe5b223b"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let cases = [("From", "From"), ("To", "To"), ("Body", "Body")];
        for (removed, named) in cases {
            let outcome = parse_inbound(&without(CAPTURED, removed));
            assert_eq!(outcome.unwrap_err(), WebhookError::MissingField(named));
        }
        let no_id: Vec<_> = form(CAPTURED)
            .into_iter()
            .filter(|(key, _)| !key.ends_with("Sid") || key == "AccountSid")
            .collect();
        assert_eq!(
            parse_inbound(&no_id).unwrap_err(),
            WebhookError::MissingField("MessageSid")
        );
    }

    #[test]
    fn errors_never_show_the_body_or_the_number() {
        let payload = "MessageSid=SM1&From=%2B1415+he+took+my+passport&To=%2B12028831111&\
                       Body=he+took+my+passport";
        let error = parse_inbound(&form(payload)).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("passport") && !shown.contains("1415"),
            "{shown}"
        );
    }

    #[test]
    fn status_callback_is_read() {
        let payload = "ErrorCode=21610&MessageSid=SMe287&MessageStatus=failed&To=%2B12028831111";
        let report = parse_status(&form(payload)).unwrap();
        assert_eq!(report.provider_message_id, "SMe287");
        assert_eq!(report.status, DeliveryStatus::Failed);
        assert_eq!(report.error_code.as_deref(), Some("21610"));
    }

    #[test]
    fn status_words_map_to_delivery_statuses() {
        let cases = [
            ("queued", DeliveryStatus::Queued),
            ("accepted", DeliveryStatus::Queued),
            ("sending", DeliveryStatus::Sent),
            ("sent", DeliveryStatus::Sent),
            ("delivered", DeliveryStatus::Delivered),
            ("read", DeliveryStatus::Delivered),
            ("undelivered", DeliveryStatus::Undelivered),
            ("failed", DeliveryStatus::Failed),
            ("canceled", DeliveryStatus::Failed),
        ];
        for (word, expected) in cases {
            let payload = format!("MessageSid=SM1&MessageStatus={word}");
            let report = parse_status(&form(&payload)).unwrap();
            assert_eq!(report.status, expected, "{word}");
            assert_eq!(report.error_code, None);
        }
        let unknown = parse_status(&form("MessageSid=SM1&MessageStatus=received"));
        assert!(matches!(unknown, Err(WebhookError::Malformed(_))));
    }

    #[test]
    fn empty_twiml_is_an_empty_response_element() {
        assert!(EMPTY_TWIML.ends_with("<Response/>"));
        assert!(EMPTY_TWIML.starts_with("<?xml"));
    }
}
