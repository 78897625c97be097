//! Provider webhooks through the HTTP layer, signed as each provider signs them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey};
use secrecy::SecretString;
use textline::providers::twilio::{self, SignatureAlgorithm};
use textline::providers::vonage::{self, SignatureMethod};

use crate::fakes::{FakeTelnyx, FakeTwilio, FakeVonage};
use crate::helpers::{TestApp, spawn_app_configured};

const TWILIO_TOKEN: &str = "twilio-test-auth-token";
const VONAGE_SIGNATURE_SECRET: &str = "vonage-test-signature-secret";
const TEXTER: &str = "+14155550123";

/// A service with one channel per provider, each sending to its local fake.
struct Providers {
    app: TestApp,
    twilio: FakeTwilio,
    _vonage: FakeVonage,
    _telnyx: FakeTelnyx,
}

fn telnyx_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

async fn spawn_providers(extra_channel_settings: &str) -> Providers {
    let twilio = FakeTwilio::start("ACtest", TWILIO_TOKEN);
    let vonage = FakeVonage::start("vonage-key", "vonage-secret");
    let telnyx = FakeTelnyx::start("KEYtelnyx");
    let public_key = BASE64.encode(telnyx_key().verifying_key().to_bytes());
    let config = format!(
        r#"
[[channels]]
name = "tw"
provider = "twilio"
from = "+14155550100"
account_sid = "ACtest"
auth_token = "{TWILIO_TOKEN}"
api_base = "{twilio_base}"
{extra_channel_settings}

[[channels]]
name = "vn"
provider = "vonage"
from = "447700900999"
api_key = "vonage-key"
api_secret = "vonage-secret"
signature_secret = "{VONAGE_SIGNATURE_SECRET}"
signature_method = "md5hash"
api_base = "{vonage_base}"

[[channels]]
name = "tx"
provider = "telnyx"
from = "+13125550002"
api_key = "KEYtelnyx"
public_key = "{public_key}"
api_base = "{telnyx_base}"
"#,
        twilio_base = twilio.base_url(),
        vonage_base = vonage.base_url(),
        telnyx_base = telnyx.base_url(),
    );
    let app = spawn_app_configured(&config, &[]).await;
    Providers {
        app,
        twilio,
        _vonage: vonage,
        _telnyx: telnyx,
    }
}

fn twilio_form(sid: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("AccountSid", "ACtest"),
        ("From", TEXTER),
        ("To", "+14155550100"),
        ("Body", body),
        ("FromCity", "SPRINGFIELD"),
        ("FromZip", "62701"),
        ("FromCountry", "US"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

async fn post_twilio(
    app: &TestApp,
    path: &str,
    form: &[(String, String)],
    token: &str,
) -> reqwest::Response {
    let url = app.url(path);
    let signature = twilio::compute_signature(
        &SecretString::from(token.to_owned()),
        SignatureAlgorithm::HmacSha1,
        &url,
        form,
    );
    app.client
        .post(&url)
        .header("X-Twilio-Signature", signature)
        .form(form)
        .send()
        .await
        .unwrap()
}

fn now_secs(app: &TestApp) -> i64 {
    app.clock.now().millis() / 1000
}

#[tokio::test]
async fn a_signed_twilio_text_opens_a_ticket_and_the_greeting_reaches_the_provider() {
    let providers = spawn_providers("").await;
    let app = &providers.app;

    let response = post_twilio(
        app,
        "/webhooks/twilio/tw",
        &twilio_form("SM1", "hello"),
        TWILIO_TOKEN,
    )
    .await;

    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("<Response/>"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while providers.twilio.received().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sent = providers.twilio.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, TEXTER);
    assert_eq!(sent[0].from, "+14155550100");
}

#[tokio::test]
async fn a_second_twilio_text_threads_into_the_same_ticket() {
    let providers = spawn_providers("").await;
    let app = &providers.app;

    post_twilio(
        app,
        "/webhooks/twilio/tw",
        &twilio_form("SM1", "hello"),
        TWILIO_TOKEN,
    )
    .await;
    post_twilio(
        app,
        "/webhooks/twilio/tw",
        &twilio_form("SM2", "are you there"),
        TWILIO_TOKEN,
    )
    .await;

    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'")
            .await,
        2
    );
}

#[tokio::test]
async fn forged_and_unsigned_twilio_requests_are_refused_and_change_nothing() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let form = twilio_form("SM1", "hello");

    let forged = post_twilio(app, "/webhooks/twilio/tw", &form, "not-the-token").await;
    let unsigned = app
        .client
        .post(app.url("/webhooks/twilio/tw"))
        .form(&form)
        .send()
        .await
        .unwrap();

    assert_eq!(forged.status(), 403);
    assert_eq!(unsigned.status(), 403);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 0);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"outcome="signature_invalid""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn twenty_concurrent_copies_of_one_text_store_it_once() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let form = twilio_form("SMdup", "hello");

    let copies = (0..20).map(|_| post_twilio(app, "/webhooks/twilio/tw", &form, TWILIO_TOKEN));
    let responses = futures_util::future::join_all(copies).await;

    assert!(responses.iter().all(|response| response.status() == 200));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM contacts").await, 1);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 1);
}

#[tokio::test]
async fn unknown_channels_and_mismatched_providers_are_404() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let form = twilio_form("SM1", "hello");

    let unknown_channel = post_twilio(app, "/webhooks/twilio/nope", &form, TWILIO_TOKEN).await;
    let wrong_provider = post_twilio(app, "/webhooks/telnyx/tw", &form, TWILIO_TOKEN).await;
    let unknown_provider = post_twilio(app, "/webhooks/plivo/tw", &form, TWILIO_TOKEN).await;

    assert_eq!(unknown_channel.status(), 404);
    assert_eq!(wrong_provider.status(), 404);
    assert_eq!(unknown_provider.status(), 404);
}

#[tokio::test]
async fn a_signed_twilio_request_missing_a_field_is_400_naming_it() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let form: Vec<(String, String)> = twilio_form("SM1", "hello")
        .into_iter()
        .filter(|(name, _)| name != "From")
        .collect();

    let response = post_twilio(app, "/webhooks/twilio/tw", &form, TWILIO_TOKEN).await;

    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("From"));
    assert_eq!(app.scalar("SELECT COUNT(*) FROM messages").await, 0);
}

#[tokio::test]
async fn an_oversized_webhook_is_413() {
    let providers = spawn_providers("").await;
    let app = &providers.app;

    let response = post_twilio(
        app,
        "/webhooks/twilio/tw",
        &twilio_form("SM1", &"x".repeat(70 * 1024)),
        TWILIO_TOKEN,
    )
    .await;

    assert_eq!(response.status(), 413);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM messages").await, 0);
}

#[tokio::test]
async fn twilio_opt_out_type_is_recorded_without_a_second_reply() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    post_twilio(
        app,
        "/webhooks/twilio/tw",
        &twilio_form("SM1", "hello"),
        TWILIO_TOKEN,
    )
    .await;
    let mut stop = twilio_form("SM2", "STOP");
    stop.push(("OptOutType".into(), "STOP".into()));

    post_twilio(app, "/webhooks/twilio/tw", &stop, TWILIO_TOKEN).await;

    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contacts WHERE opted_out_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM ticket_events WHERE kind = 'keyword.stop'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox").await,
        1,
        "only the greeting"
    );
}

#[tokio::test]
async fn out_of_hours_texts_get_the_notice_with_the_emergency_number_once_per_burst() {
    let providers = spawn_providers(
        "opening_hours = [\"mon-sun 00:00-00:01\"]\nemergency_number = \"911\"\ntimezone = \"UTC\"",
    )
    .await;
    let app = &providers.app;

    for n in 0..3 {
        post_twilio(
            app,
            "/webhooks/twilio/tw",
            &twilio_form(&format!("SM{n}"), "hello?"),
            TWILIO_TOKEN,
        )
        .await;
    }

    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE purpose = 'out_of_hours'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM outbox").await, 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while providers.twilio.received().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(providers.twilio.received()[0].body.contains("911"));
}

#[tokio::test]
async fn a_signed_vonage_text_is_stored_and_a_forged_one_refused() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let mut params: Vec<(String, String)> = [
        ("msisdn", "447700900001"),
        ("to", "447700900999"),
        ("messageId", "0A0000001"),
        ("text", "hello from london"),
        ("type", "text"),
        ("message-timestamp", "2026-12-03 10:00:00"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    params.push(("timestamp".into(), now_secs(app).to_string()));
    let secret = SecretString::from(VONAGE_SIGNATURE_SECRET.to_owned());
    let sig = vonage::compute_signature(SignatureMethod::Md5Hash, &secret, &params);
    let mut signed = params.clone();
    signed.push(("sig".into(), sig));
    let mut forged = params.clone();
    forged.push(("sig".into(), "0".repeat(32)));

    let refused = app
        .client
        .post(app.url("/webhooks/vonage/vn"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    let stored = app
        .client
        .post(app.url("/webhooks/vonage/vn"))
        .form(&signed)
        .send()
        .await
        .unwrap();

    assert_eq!(refused.status(), 403);
    assert_eq!(stored.status(), 200);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'")
            .await,
        1
    );
}

#[tokio::test]
async fn vonage_parts_of_a_long_text_are_joined_before_anything_else() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let secret = SecretString::from(VONAGE_SIGNATURE_SECRET.to_owned());

    for (part, text) in [("2", "second half"), ("1", "first half, ")] {
        let mut params: Vec<(String, String)> = [
            ("msisdn", "447700900001"),
            ("to", "447700900999"),
            ("messageId", &format!("0A00000{part}")[..]),
            ("text", text),
            ("type", "text"),
            ("concat", "true"),
            ("concat-ref", "77"),
            ("concat-total", "2"),
            ("concat-part", part),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        params.push(("timestamp".into(), now_secs(app).to_string()));
        let sig = vonage::compute_signature(SignatureMethod::Md5Hash, &secret, &params);
        params.push(("sig".into(), sig));
        let response = app
            .client
            .post(app.url("/webhooks/vonage/vn"))
            .form(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'")
            .await,
        1
    );
    assert_eq!(app.scalar("SELECT COUNT(*) FROM inbound_parts").await, 0);
    assert_eq!(
        app.scalar("SELECT body_chars FROM messages WHERE direction = 'inbound'")
            .await,
        "first half, second half".chars().count() as i64
    );
}

fn telnyx_inbound(id: &str) -> String {
    format!(
        r#"{{"data":{{"record_type":"event","id":"ev-{id}","event_type":"message.received",
        "occurred_at":"2026-12-03T10:00:00.000+00:00","payload":{{"record_type":"message",
        "direction":"inbound","id":"{id}","type":"SMS",
        "from":{{"phone_number":"+13125550001","carrier":"T-Mobile USA","line_type":"Wireless"}},
        "to":[{{"phone_number":"+13125550002","status":"webhook_delivered"}}],
        "text":"I need help","media":[],"encoding":"GSM-7","parts":1}}}},"meta":{{"attempt":1}}}}"#
    )
}

async fn post_telnyx(
    app: &TestApp,
    body: &str,
    timestamp: i64,
    key: &SigningKey,
) -> reqwest::Response {
    let signature = BASE64.encode(
        key.sign(format!("{timestamp}|{body}").as_bytes())
            .to_bytes(),
    );
    app.client
        .post(app.url("/webhooks/telnyx/tx"))
        .header("content-type", "application/json")
        .header("telnyx-signature-ed25519", signature)
        .header("telnyx-timestamp", timestamp.to_string())
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_signed_telnyx_text_is_stored_and_stale_or_forged_ones_refused() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    let now = now_secs(app);

    let stale = post_telnyx(app, &telnyx_inbound("m1"), now - 301, &telnyx_key()).await;
    let forged = post_telnyx(
        app,
        &telnyx_inbound("m1"),
        now,
        &SigningKey::from_bytes(&[7; 32]),
    )
    .await;
    let stored = post_telnyx(app, &telnyx_inbound("m1"), now, &telnyx_key()).await;
    let replayed = post_telnyx(app, &telnyx_inbound("m1"), now, &telnyx_key()).await;

    assert_eq!(stale.status(), 403);
    assert_eq!(forged.status(), 403);
    assert_eq!(stored.status(), 200);
    assert_eq!(replayed.status(), 200);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'")
            .await,
        1
    );
}

#[tokio::test]
async fn status_callbacks_never_move_a_delivery_backwards() {
    let providers = spawn_providers("").await;
    let app = &providers.app;
    post_twilio(
        app,
        "/webhooks/twilio/tw",
        &twilio_form("SM1", "hello"),
        TWILIO_TOKEN,
    )
    .await;
    let sent = app
        .eventually("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1)
        .await;
    assert_eq!(sent, 1);
    let provider_id = app
        .text("SELECT provider_message_id FROM outbox WHERE status = 'sent'")
        .await;
    let status = |word: &str| {
        vec![
            ("MessageSid".to_owned(), provider_id.clone()),
            ("MessageStatus".to_owned(), word.to_owned()),
            ("AccountSid".to_owned(), "ACtest".to_owned()),
        ]
    };

    let delivered = post_twilio(
        app,
        "/webhooks/twilio/tw/status",
        &status("delivered"),
        TWILIO_TOKEN,
    )
    .await;
    let late_sent = post_twilio(
        app,
        "/webhooks/twilio/tw/status",
        &status("sent"),
        TWILIO_TOKEN,
    )
    .await;
    let unknown = vec![
        ("MessageSid".to_owned(), "SMunknown".to_owned()),
        ("MessageStatus".to_owned(), "delivered".to_owned()),
    ];
    let unknown = post_twilio(app, "/webhooks/twilio/tw/status", &unknown, TWILIO_TOKEN).await;

    assert_eq!(delivered.status(), 200);
    assert_eq!(late_sent.status(), 200);
    assert_eq!(unknown.status(), 200);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox WHERE delivery_status = 'delivered'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE delivery_status = 'delivered'")
            .await,
        1
    );
}
