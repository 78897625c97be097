//! Telnyx tests: the reference's self-generated Ed25519 vector (section 9.4), forgeries,
//! the time window and the event shapes of section 3.

use ed25519_dalek::{Signer, SigningKey};

use super::*;

const SEED_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PUBLIC_KEY: &str = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
const TIMESTAMP: i64 = 1_700_000_000;
const VECTOR_BODY: &str =
    r#"{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4"}}"#;
const VECTOR_SIGNATURE: &str =
    "wmVhzYx1OPhBL8Az9obmALNHeXbPTVWhXLQgm2bKP40beU0cQEwVClP18UNPD6MaUyy28FOMDII2viZkJM0FDQ==";

fn signing_key() -> SigningKey {
    let seed: [u8; 32] = hex::decode(SEED_HEX).unwrap().try_into().unwrap();
    SigningKey::from_bytes(&seed)
}

fn public_key() -> TelnyxPublicKey {
    TelnyxPublicKey::from_base64(PUBLIC_KEY).unwrap()
}

fn headers(signature: &str, timestamp: &str) -> Headers {
    Headers::new()
        .with("Telnyx-Signature-Ed25519", signature)
        .with("Telnyx-Timestamp", timestamp)
}

fn sign(timestamp: i64, body: &str) -> String {
    let message = format!("{timestamp}|{body}");
    BASE64.encode(signing_key().sign(message.as_bytes()).to_bytes())
}

fn check(body: &str, signature: &str, timestamp: i64, now: i64) -> Result<(), WebhookError> {
    let headers = headers(signature, &timestamp.to_string());
    verify_signature(&public_key(), body.as_bytes(), &headers, now)
}

#[test]
fn fixed_seed_gives_the_reference_public_key() {
    let public = BASE64.encode(signing_key().verifying_key().to_bytes());
    assert_eq!(public, PUBLIC_KEY);
}

#[test]
fn reference_ed25519_vector_is_accepted() {
    assert_eq!(sign(TIMESTAMP, VECTOR_BODY), VECTOR_SIGNATURE);
    assert_eq!(
        check(VECTOR_BODY, VECTOR_SIGNATURE, TIMESTAMP, TIMESTAMP),
        Ok(())
    );
}

#[test]
fn tampered_body_is_refused() {
    let tampered = VECTOR_BODY.replace("received", "finalized");
    let outcome = check(&tampered, VECTOR_SIGNATURE, TIMESTAMP, TIMESTAMP);
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn changed_timestamp_is_refused_because_it_is_signed() {
    let outcome = check(VECTOR_BODY, VECTOR_SIGNATURE, TIMESTAMP + 1, TIMESTAMP);
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn signature_from_another_key_is_refused() {
    let other = SigningKey::from_bytes(&[7; 32]);
    let message = format!("{TIMESTAMP}|{VECTOR_BODY}");
    let forged = BASE64.encode(other.sign(message.as_bytes()).to_bytes());
    let outcome = check(VECTOR_BODY, &forged, TIMESTAMP, TIMESTAMP);
    assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
}

#[test]
fn malformed_signatures_are_refused() {
    for signature in ["", "not base64!", "AAAA", &BASE64.encode([0u8; 64])] {
        let outcome = check(VECTOR_BODY, signature, TIMESTAMP, TIMESTAMP);
        assert_eq!(outcome, Err(WebhookError::SignatureInvalid), "{signature}");
    }
}

#[test]
fn missing_signature_or_timestamp_header_is_reported_as_missing() {
    let body = VECTOR_BODY.as_bytes();
    let no_signature = Headers::new().with(TIMESTAMP_HEADER, TIMESTAMP.to_string());
    let no_timestamp = Headers::new().with(SIGNATURE_HEADER, VECTOR_SIGNATURE);
    for headers in [Headers::new(), no_signature, no_timestamp] {
        let outcome = verify_signature(&public_key(), body, &headers, TIMESTAMP);
        assert_eq!(outcome, Err(WebhookError::SignatureMissing));
    }
}

#[test]
fn stale_timestamp_is_refused_after_300_seconds() {
    let ok = check(VECTOR_BODY, VECTOR_SIGNATURE, TIMESTAMP, TIMESTAMP + 300);
    assert_eq!(ok, Ok(()));
    let stale = check(VECTOR_BODY, VECTOR_SIGNATURE, TIMESTAMP, TIMESTAMP + 301);
    assert_eq!(stale, Err(WebhookError::Stale));
}

#[test]
fn future_timestamp_is_refused_beyond_300_seconds() {
    let ok = check(VECTOR_BODY, VECTOR_SIGNATURE, TIMESTAMP, TIMESTAMP - 300);
    assert_eq!(ok, Ok(()));
    let future = check(VECTOR_BODY, VECTOR_SIGNATURE, TIMESTAMP, TIMESTAMP - 301);
    assert_eq!(future, Err(WebhookError::Stale));
}

#[test]
fn public_keys_of_the_wrong_size_are_refused() {
    let short = BASE64.encode([1u8; 31]);
    for text in ["", "not base64!", short.as_str()] {
        assert_eq!(
            TelnyxPublicKey::from_base64(text).unwrap_err(),
            InvalidPublicKey
        );
    }
}

const RECEIVED: &str = r#"{"data":{"record_type":"event",
  "id":"b301ed3f-1490-491f-995f-6e64e69674d4","event_type":"message.received",
  "occurred_at":"2024-01-02T03:04:05.678+00:00",
  "payload":{"record_type":"message","direction":"inbound",
    "id":"40385f64-5717-4562-b3fc-2c963f66afa6","type":"SMS",
    "messaging_profile_id":"4000eba1-a0c0-4563-9925-b25e842a7cb6",
    "from":{"phone_number":"+13125550001","carrier":"T-Mobile USA","line_type":"Wireless"},
    "to":[{"phone_number":"+13125550002","status":"webhook_delivered","carrier":"Telnyx",
      "line_type":"Wireless"}],
    "text":"I need help, I am in Springfield","media":[],"encoding":"GSM-7","parts":1,
    "received_at":"2024-01-02T03:04:05.000+00:00"}},
  "meta":{"attempt":1,"delivered_to":"https://example.com/webhooks/telnyx/default"}}"#;

fn finalized(status: &str, errors: &str) -> String {
    format!(
        r#"{{"data":{{"record_type":"event","id":"e1","event_type":"message.finalized",
        "occurred_at":"2024-01-02T03:04:05+00:00","payload":{{"record_type":"message",
        "direction":"outbound","id":"40385f64-aaaa","from":{{"phone_number":"+13125550002"}},
        "to":[{{"phone_number":"+13125550001","status":"{status}","carrier":"T-Mobile USA"}}],
        "text":"reply","errors":{errors}}}}},"meta":{{"attempt":1}}}}"#
    )
}

#[test]
fn inbound_event_is_read() {
    let TelnyxEvent::Inbound(text) = parse_event(RECEIVED.as_bytes()).unwrap() else {
        panic!("expected an inbound text");
    };
    assert_eq!(
        text.provider_message_id,
        "40385f64-5717-4562-b3fc-2c963f66afa6"
    );
    assert_eq!(text.from.expose(), "+13125550001");
    assert_eq!(text.to, "+13125550002");
    assert_eq!(text.body.expose(), "I need help, I am in Springfield");
    assert_eq!(text.received_at, Some(1_704_164_645));
}

#[test]
fn carrier_and_line_type_never_reach_the_inbound_text() {
    let TelnyxEvent::Inbound(text) = parse_event(RECEIVED.as_bytes()).unwrap() else {
        panic!("expected an inbound text");
    };
    let shown = format!("{text:?}");
    for located in ["T-Mobile", "Wireless", "13125550001", "Springfield"] {
        assert!(!shown.contains(located), "{located} in {shown}");
    }
}

#[test]
fn reference_vector_body_is_an_inbound_event_without_a_payload() {
    let outcome = parse_event(VECTOR_BODY.as_bytes());
    assert_eq!(
        outcome.unwrap_err(),
        WebhookError::MissingField("data.payload")
    );
}

#[test]
fn finalized_event_is_a_status_report_with_its_error_code() {
    let body = finalized(
        "delivery_failed",
        r#"[{"code":"40008","title":"Undeliverable"}]"#,
    );
    let TelnyxEvent::Status(report) = parse_event(body.as_bytes()).unwrap() else {
        panic!("expected a status report");
    };
    assert_eq!(report.provider_message_id, "40385f64-aaaa");
    assert_eq!(report.status, DeliveryStatus::Undelivered);
    assert_eq!(report.error_code.as_deref(), Some("40008"));
}

#[test]
fn numeric_error_codes_are_kept_as_text() {
    let body = finalized("sending_failed", r#"[{"code":40300}]"#);
    let TelnyxEvent::Status(report) = parse_event(body.as_bytes()).unwrap() else {
        panic!("expected a status report");
    };
    assert_eq!(report.status, DeliveryStatus::Failed);
    assert_eq!(report.error_code.as_deref(), Some("40300"));
}

#[test]
fn recipient_status_words_map_to_delivery_statuses() {
    let cases = [
        ("queued", DeliveryStatus::Queued),
        ("sending", DeliveryStatus::Sent),
        ("sent", DeliveryStatus::Sent),
        ("delivery_unconfirmed", DeliveryStatus::Sent),
        ("delivered", DeliveryStatus::Delivered),
        ("delivery_failed", DeliveryStatus::Undelivered),
        ("expired", DeliveryStatus::Undelivered),
        ("sending_failed", DeliveryStatus::Failed),
    ];
    for (word, expected) in cases {
        let body = finalized(word, "[]");
        let TelnyxEvent::Status(report) = parse_event(body.as_bytes()).unwrap() else {
            panic!("expected a status report");
        };
        assert_eq!(report.status, expected, "{word}");
        assert_eq!(report.error_code, None);
    }
    let unknown = parse_event(finalized("teleported", "[]").as_bytes());
    assert!(matches!(unknown, Err(WebhookError::Malformed(_))));
}

#[test]
fn sent_event_is_a_status_report() {
    let body = finalized("sent", "[]").replace("message.finalized", "message.sent");
    let TelnyxEvent::Status(report) = parse_event(body.as_bytes()).unwrap() else {
        panic!("expected a status report");
    };
    assert_eq!(report.status, DeliveryStatus::Sent);
}

#[test]
fn other_event_types_are_ignored() {
    let body = r#"{"data":{"event_type":"number_order.complete","payload":{}}}"#;
    assert_eq!(parse_event(body.as_bytes()), Ok(TelnyxEvent::Other));
}

#[test]
fn missing_sender_is_named() {
    let body = RECEIVED.replace(r#""phone_number":"+13125550001","#, "");
    assert_eq!(
        parse_event(body.as_bytes()).unwrap_err(),
        WebhookError::MissingField("data.payload.from.phone_number")
    );
}

#[test]
fn errors_never_show_the_body_or_the_number() {
    let garbage = "he took my passport +13125550001";
    let bad_sender = RECEIVED.replace("+13125550001", garbage);
    for body in [garbage.to_string(), bad_sender] {
        let error = parse_event(body.as_bytes()).unwrap_err();
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("passport") && !shown.contains("3125550001"),
            "{shown}"
        );
    }
}
