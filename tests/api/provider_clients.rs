//! The Twilio, Vonage and Telnyx clients against local fakes of their send APIs: what
//! reaches the provider, and which outcome each kind of answer becomes.

use std::time::{Duration, Instant, SystemTime};

use secrecy::SecretString;
use textline::outbox::clients::telnyx::{TelnyxClient, TelnyxConfig};
use textline::outbox::clients::twilio::{TwilioClient, TwilioConfig};
use textline::outbox::clients::vonage::{VonageClient, VonageConfig};
use textline::outbox::send::{OutboundText, ProviderClient, SendOutcome};
use textline::privacy::phone::PhoneNumber;

use crate::fakes::{FakeReply, FakeTelnyx, FakeTwilio, FakeVonage, ReceivedText};

const TEXTER: &str = "+33612345678";
const SENDER: &str = "+15005550006";
const BODY: &str = "Meet Tuesday at the usual place, code 4417";
const CALLBACK: &str = "https://textline.example/webhooks/any/default/status";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const SECRET: &str = "right-secret";
const RELAXED_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn accepted_text_reaches_each_provider_once_with_its_fields() {
    for rig in rigs(RELAXED_TIMEOUT, SECRET) {
        let texter = texter();

        let outcome = rig.client.send(text(&texter, BODY)).await;

        let SendOutcome::Accepted {
            provider_message_id,
        } = &outcome
        else {
            panic!("{}: expected acceptance, got {outcome:?}", rig.name);
        };
        assert!(!provider_message_id.is_empty(), "{}", rig.name);
        let received = rig.fake.received();
        assert_eq!(received.len(), 1, "{}", rig.name);
        assert_eq!(received[0].body, BODY, "{}", rig.name);
        let plus = if rig.name == "vonage" { "" } else { "+" };
        assert_eq!(received[0].to, format!("{plus}33612345678"), "{}", rig.name);
        assert_eq!(
            received[0].from,
            format!("{plus}15005550006"),
            "{}",
            rig.name
        );
    }
}

#[tokio::test]
async fn status_callback_and_reference_travel_with_the_text() {
    let [twilio, vonage, telnyx] = rigs(RELAXED_TIMEOUT, SECRET);
    let texter = texter();

    for rig in [&twilio, &vonage, &telnyx] {
        rig.client.send(text(&texter, BODY)).await;
    }

    let field = |rig: &Rig, name: &str| rig.fake.received()[0].fields.get(name).cloned();
    assert_eq!(field(&twilio, "StatusCallback").as_deref(), Some(CALLBACK));
    assert_eq!(field(&vonage, "callback").as_deref(), Some(CALLBACK));
    assert_eq!(field(&vonage, "client-ref").as_deref(), Some("outbox-42"));
    assert_eq!(field(&vonage, "status-report-req").as_deref(), Some("1"));
    assert_eq!(field(&telnyx, "webhook_url").as_deref(), Some(CALLBACK));
}

#[tokio::test]
async fn vonage_is_told_unicode_only_for_text_outside_gsm7() {
    let [_, vonage, _] = rigs(RELAXED_TIMEOUT, SECRET);
    let texter = texter();

    vonage
        .client
        .send(text(&texter, "On est là, à demain"))
        .await;
    vonage.client.send(text(&texter, "Tu n’es pas seule")).await;

    let types: Vec<_> = vonage
        .fake
        .received()
        .iter()
        .map(|t| t.fields["type"].clone())
        .collect();
    assert_eq!(types, ["text", "unicode"]);
}

#[tokio::test]
async fn too_many_requests_is_retried_after_the_providers_retry_after() {
    for rig in rigs(RELAXED_TIMEOUT, SECRET) {
        let texter = texter();
        rig.fake.script(vec![FakeReply::TooManyRequests {
            retry_after: Some("30".into()),
        }]);

        let outcome = rig.client.send(text(&texter, BODY)).await;

        assert!(
            matches!(outcome, SendOutcome::Retry { after: Some(after), .. }
                if after == Duration::from_secs(30)),
            "{}: {outcome:?}",
            rig.name
        );
        check_no_leak(rig.name, &outcome);
    }
}

#[tokio::test]
async fn retry_after_given_as_an_http_date_is_honoured() {
    let [twilio, _, _] = rigs(RELAXED_TIMEOUT, SECRET);
    let texter = texter();
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    twilio.fake.script(vec![FakeReply::TooManyRequests {
        retry_after: Some(date),
    }]);

    let outcome = twilio.client.send(text(&texter, BODY)).await;

    let SendOutcome::Retry {
        after: Some(after), ..
    } = outcome
    else {
        panic!("expected a retry with a delay, got {outcome:?}");
    };
    assert!(
        after > Duration::from_secs(110) && after <= Duration::from_secs(120),
        "{after:?}"
    );
}

#[tokio::test]
async fn server_error_is_retried() {
    for rig in rigs(RELAXED_TIMEOUT, SECRET) {
        let texter = texter();
        rig.fake.script(vec![FakeReply::ServerError]);

        let outcome = rig.client.send(text(&texter, BODY)).await;

        assert!(
            matches!(outcome, SendOutcome::Retry { .. }),
            "{}: {outcome:?}",
            rig.name
        );
        check_no_leak(rig.name, &outcome);
    }
}

#[tokio::test]
async fn provider_that_hangs_past_the_timeout_is_retried_after_the_timeout() {
    let timeout = Duration::from_millis(300);
    for rig in rigs(timeout, SECRET) {
        let texter = texter();
        rig.fake
            .script(vec![FakeReply::Hang(Duration::from_secs(3))]);
        let started = Instant::now();

        let outcome = rig.client.send(text(&texter, BODY)).await;

        let waited = started.elapsed();
        assert!(
            matches!(outcome, SendOutcome::Retry { .. }),
            "{}: {outcome:?}",
            rig.name
        );
        assert!(
            waited >= timeout && waited < Duration::from_secs(2),
            "{}: {waited:?}",
            rig.name
        );
        // The provider did take the text: this retry is how a duplicate can happen.
        let received = rig.fake.received();
        assert_eq!(received.len(), 1, "{}", rig.name);
        assert!(received[0].at >= started, "{}", rig.name);
        check_no_leak(rig.name, &outcome);
    }
}

#[tokio::test]
async fn unreachable_provider_is_retried() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("find a free port")
        .port();
    let mut config = TwilioConfig::new(ACCOUNT_SID, SecretString::from(SECRET));
    config.base_url = format!("http://127.0.0.1:{closed_port}");
    let client = TwilioClient::new(config).expect("valid configuration");
    let texter = texter();

    let outcome = client.send(text(&texter, BODY)).await;

    assert_eq!(
        outcome,
        SendOutcome::Retry {
            after: None,
            reason: "twilio: could not connect".into()
        }
    );
}

#[tokio::test]
async fn opted_out_recipient_is_permanent_and_marked_opted_out() {
    let [twilio, _, telnyx] = rigs(RELAXED_TIMEOUT, SECRET);
    twilio.fake.script(vec![FakeReply::Code {
        http_status: 400,
        code: 21610,
    }]);
    telnyx.fake.script(vec![FakeReply::Code {
        http_status: 400,
        code: 40300,
    }]);

    for rig in [twilio, telnyx] {
        let texter = texter();
        let outcome = rig.client.send(text(&texter, BODY)).await;

        assert!(
            matches!(
                outcome,
                SendOutcome::Permanent {
                    opted_out: true,
                    ..
                }
            ),
            "{}: {outcome:?}",
            rig.name
        );
        check_no_leak(rig.name, &outcome);
    }
}

#[tokio::test]
async fn invalid_number_is_permanent() {
    let [twilio, vonage, telnyx] = rigs(RELAXED_TIMEOUT, SECRET);
    twilio.fake.script(vec![FakeReply::Code {
        http_status: 400,
        code: 21211,
    }]);
    vonage.fake.script(vec![FakeReply::Code {
        http_status: 200,
        code: 3,
    }]);
    telnyx.fake.script(vec![FakeReply::Code {
        http_status: 400,
        code: 40310,
    }]);

    for rig in [twilio, vonage, telnyx] {
        let texter = texter();
        let outcome = rig.client.send(text(&texter, BODY)).await;

        assert!(
            matches!(
                outcome,
                SendOutcome::Permanent {
                    opted_out: false,
                    ..
                }
            ),
            "{}: {outcome:?}",
            rig.name
        );
        check_no_leak(rig.name, &outcome);
    }
}

#[tokio::test]
async fn rejected_credentials_pause_the_channel() {
    for rig in rigs(RELAXED_TIMEOUT, "wrong-secret") {
        let texter = texter();

        let outcome = rig.client.send(text(&texter, BODY)).await;

        assert!(
            matches!(outcome, SendOutcome::Misconfigured { .. }),
            "{}: {outcome:?}",
            rig.name
        );
        assert!(rig.fake.received().is_empty(), "{}", rig.name);
        check_no_leak(rig.name, &outcome);
    }
}

/// One provider's client wired to its fake.
struct Rig {
    name: &'static str,
    client: Box<dyn ProviderClient>,
    fake: Box<dyn Fake>,
}

/// What the tests need from every fake.
trait Fake {
    fn script(&self, replies: Vec<FakeReply>);
    fn received(&self) -> Vec<ReceivedText>;
}

/// The three clients, each against a fresh fake that accepts only [`SECRET`].
fn rigs(timeout: Duration, secret: &str) -> [Rig; 3] {
    [
        twilio(timeout, secret),
        vonage(timeout, secret),
        telnyx(timeout, secret),
    ]
}

fn twilio(timeout: Duration, secret: &str) -> Rig {
    let fake = FakeTwilio::start(ACCOUNT_SID, SECRET);
    let mut config = TwilioConfig::new(ACCOUNT_SID, SecretString::from(secret));
    config.base_url = fake.base_url().to_owned();
    config.timeout = timeout;
    let client = TwilioClient::new(config).expect("valid twilio configuration");
    Rig {
        name: "twilio",
        client: Box::new(client),
        fake: Box::new(fake),
    }
}

fn vonage(timeout: Duration, secret: &str) -> Rig {
    let fake = FakeVonage::start("abcd1234", SECRET);
    let mut config = VonageConfig::new("abcd1234", SecretString::from(secret));
    config.base_url = fake.base_url().to_owned();
    config.timeout = timeout;
    let client = VonageClient::new(config).expect("valid vonage configuration");
    Rig {
        name: "vonage",
        client: Box::new(client),
        fake: Box::new(fake),
    }
}

fn telnyx(timeout: Duration, secret: &str) -> Rig {
    let fake = FakeTelnyx::start(SECRET);
    let mut config = TelnyxConfig::new(SecretString::from(secret));
    config.base_url = fake.base_url().to_owned();
    config.timeout = timeout;
    let client = TelnyxClient::new(config).expect("valid telnyx configuration");
    Rig {
        name: "telnyx",
        client: Box::new(client),
        fake: Box::new(fake),
    }
}

fn texter() -> PhoneNumber {
    PhoneNumber::parse(TEXTER, None).expect("a valid French mobile number")
}

fn text<'a>(to: &'a PhoneNumber, body: &'a str) -> OutboundText<'a> {
    OutboundText {
        to,
        from: SENDER,
        body,
        status_callback: Some(CALLBACK),
        reference: "outbox-42".to_owned(),
    }
}

/// No reason quotes the number (in any spelling), the body, or a secret.
fn check_no_leak(provider: &str, outcome: &SendOutcome) {
    let reason = match outcome {
        SendOutcome::Accepted { .. } => return,
        SendOutcome::Retry { reason, .. }
        | SendOutcome::Permanent { reason, .. }
        | SendOutcome::Misconfigured { reason } => reason,
    };
    for secret in ["612345678", "4417", "Tuesday", SECRET, "wrong-secret"] {
        assert!(
            !reason.contains(secret),
            "{provider}: reason {reason:?} leaks {secret:?}"
        );
    }
}

impl Fake for FakeTwilio {
    fn script(&self, replies: Vec<FakeReply>) {
        FakeTwilio::script(self, replies);
    }

    fn received(&self) -> Vec<ReceivedText> {
        FakeTwilio::received(self)
    }
}

impl Fake for FakeVonage {
    fn script(&self, replies: Vec<FakeReply>) {
        FakeVonage::script(self, replies);
    }

    fn received(&self) -> Vec<ReceivedText> {
        FakeVonage::received(self)
    }
}

impl Fake for FakeTelnyx {
    fn script(&self, replies: Vec<FakeReply>) {
        FakeTelnyx::script(self, replies);
    }

    fn received(&self) -> Vec<ReceivedText> {
        FakeTelnyx::received(self)
    }
}
