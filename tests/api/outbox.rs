//! The outbox worker against a fake Twilio: what reaches the provider, how often, when, and
//! what the outbox records about it.
//!
//! Texts are queued straight into the store, as the inbound pipeline and caseworkers'
//! replies do, and the service's own worker sends them to a real HTTP fake.

use std::time::{Duration, Instant};

use textline::privacy::phone::PhoneNumber;
use textline::privacy::vault::{ContactKey, Field};
use textline::staff::Role;
use textline::store::{NewOutboxText, OutboxRow};

use crate::fakes::{FakeReply, FakeTwilio, ReceivedText};
use crate::helpers::{TestApp, TestDatabase, spawn_app_configured, spawn_app_configured_on};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "fake-twilio-auth-token";
const HOTLINE: &str = "+14155550100";
const TEXTER: &str = "+14155550123";

#[tokio::test]
async fn a_queued_reply_reaches_the_provider_once_and_is_recorded_as_sent() {
    let (app, twilio) = spawn_with_twilio(10).await;
    let texter = add_texter(&app, TEXTER).await;

    let id = queue(&app, &[reply_to(&app, &texter, "We are here for you.")]).await[0];

    let received = received_at_least(&twilio, 1, Duration::from_secs(5)).await;
    let row = row_when(&app, id, |row| row.status == "sent").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, TEXTER);
    assert_eq!(received[0].from, HOTLINE);
    assert_eq!(received[0].body, "We are here for you.");
    assert_eq!(row.attempts, 1);
    let sid = row.provider_message_id.expect("the provider's id is kept");
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
}

#[tokio::test]
async fn a_throttled_text_waits_at_least_the_retry_after_then_goes_out_once() {
    let (app, twilio) = spawn_with_twilio(10).await;
    twilio.script(vec![FakeReply::TooManyRequests {
        retry_after: Some("1".into()),
    }]);
    let texter = add_texter(&app, TEXTER).await;
    let throttled_at = app.clock.now().millis();

    let id = queue(&app, &[reply_to(&app, &texter, "Still there?")]).await[0];
    row_when(&app, id, |row| row.status == "queued" && row.attempts == 1).await;
    let next_attempt_at = app
        .scalar(&format!(
            "SELECT next_attempt_at FROM outbox WHERE id = {id}"
        ))
        .await;
    app.clock.advance(Duration::from_millis(
        (next_attempt_at - throttled_at) as u64,
    ));

    let row = row_when(&app, id, |row| row.status == "sent").await;
    assert!(
        next_attempt_at - throttled_at >= 1_000,
        "retried after {} ms",
        next_attempt_at - throttled_at
    );
    assert_eq!(row.attempts, 2);
    assert_eq!(twilio.received().len(), 2, "one refused try, one delivery");
}

#[tokio::test]
async fn a_text_refused_with_a_server_error_is_delivered_once_after_recovery() {
    let (app, twilio) = spawn_with_twilio(10).await;
    twilio.script(vec![FakeReply::ServerError]);
    let texter = add_texter(&app, TEXTER).await;

    let id = queue(&app, &[reply_to(&app, &texter, "Are you safe?")]).await[0];
    let row = row_when(&app, id, |row| row.status == "queued" && row.attempts == 1).await;
    advance_to_next_attempt(&app, id).await;

    let sent = row_when(&app, id, |row| row.status == "sent").await;
    assert!(row.last_error.unwrap_or_default().contains("500"));
    assert_eq!(sent.attempts, 2);
    assert_eq!(twilio.received().len(), 2, "the 500 was not a delivery");
}

#[tokio::test]
async fn a_send_that_hangs_past_the_client_timeout_is_retried_and_duplicated() {
    let (app, twilio) = spawn_with_twilio(10).await;
    // The client gives up after 10 s; the fake takes the text and answers only after 12 s.
    twilio.script(vec![FakeReply::Hang(Duration::from_secs(12))]);
    let texter = add_texter(&app, TEXTER).await;

    let id = queue(&app, &[reply_to(&app, &texter, "Take your time.")]).await[0];
    let timed_out = row_when_within(
        &app,
        id,
        |row| row.status == "queued" && row.attempts == 1,
        Duration::from_secs(15),
    )
    .await;
    advance_to_next_attempt(&app, id).await;

    let sent = row_when(&app, id, |row| row.status == "sent").await;
    assert!(
        timed_out
            .last_error
            .unwrap_or_default()
            .contains("no answer within the timeout")
    );
    assert_eq!(sent.attempts, 2);
    // TODO(#5): a timeout is retried although the provider may already hold the text, so
    // the texter gets it twice. Twilio has no idempotency key; what is asserted here is the
    // duplicate as it happens today.
    let received = twilio.received();
    assert_eq!(received.len(), 2, "the provider took the same text twice");
    assert_eq!(received[0].body, received[1].body);
}

#[tokio::test]
async fn twilio_21610_fails_the_text_for_good_and_opts_the_texter_out() {
    let (app, twilio) = spawn_with_twilio(10).await;
    twilio.script(vec![FakeReply::Code {
        http_status: 400,
        code: 21610,
    }]);
    let texter = add_texter(&app, TEXTER).await;

    let id = queue(&app, &[reply_to(&app, &texter, "Hello again.")]).await[0];
    let row = row_when(&app, id, |row| row.status == "failed").await;
    app.clock.advance(Duration::from_secs(3600));

    assert!(row.last_error.unwrap_or_default().contains("21610"));
    let opted_out = format!(
        "SELECT COUNT(*) FROM contacts WHERE id = {} AND opted_out_at IS NOT NULL",
        texter.id
    );
    assert_eq!(app.eventually(&opted_out, 1).await, 1);
    assert_still(&app, id, "failed", 1).await;
    assert_eq!(twilio.received().len(), 1, "never retried");
}

#[tokio::test]
async fn a_number_the_provider_calls_invalid_is_failed_for_good_and_never_retried() {
    let (app, twilio) = spawn_with_twilio(10).await;
    twilio.script(vec![FakeReply::Code {
        http_status: 400,
        code: 21211,
    }]);
    let texter = add_texter(&app, TEXTER).await;

    let id = queue(&app, &[reply_to(&app, &texter, "Hello.")]).await[0];
    let row = row_when(&app, id, |row| row.status == "failed").await;
    app.clock.advance(Duration::from_secs(3600));

    assert!(row.last_error.unwrap_or_default().contains("21211"));
    assert_still(&app, id, "failed", 1).await;
    assert_eq!(twilio.received().len(), 1, "never retried");
}

#[tokio::test]
async fn bad_credentials_pause_the_channel_and_keep_the_text_queued() {
    let twilio = FakeTwilio::start(ACCOUNT_SID, "the-real-token");
    let app = spawn_app_configured(&twilio_config(&twilio, 10), &[]).await;
    let texter = add_texter(&app, TEXTER).await;

    let id = queue(&app, &[reply_to(&app, &texter, "Hello.")]).await[0];
    let row = row_when(&app, id, |row| row.last_error.is_some()).await;
    app.clock.advance(Duration::from_secs(3600));

    assert_eq!(
        row.status, "queued",
        "the text is kept for when the channel is fixed"
    );
    assert!(row.last_error.unwrap_or_default().contains("20003"));
    assert_still(&app, id, "queued", 1).await;
    assert!(
        twilio.received().is_empty(),
        "the fake records only authenticated sends"
    );
}

#[tokio::test]
async fn a_channel_never_sends_more_than_its_rate_in_any_second() {
    let (app, twilio) = spawn_with_twilio(10).await;
    let texter = add_texter(&app, TEXTER).await;
    let texts: Vec<_> = (0..40)
        .map(|n| campaign_to(&app, &texter, &format!("Campaign text {n}")))
        .collect();

    queue(&app, &texts).await;
    let received = received_at_least(&twilio, 40, Duration::from_secs(15)).await;

    let times: Vec<Instant> = received.iter().map(|text| text.at).collect();
    let busiest = busiest_second(&times);
    let span = times[times.len() - 1]
        .duration_since(times[0])
        .as_secs_f64();
    let rate = (times.len() - 1) as f64 / span;
    eprintln!("pacing: busiest one-second window {busiest} texts, average {rate:.2}/s");
    assert_eq!(received.len(), 40);
    assert!(busiest <= 10, "{busiest} texts in one second");
    assert!((8.5..=10.5).contains(&rate), "average rate {rate:.2}/s");
}

#[tokio::test]
async fn a_reply_overtakes_campaign_texts_queued_before_it() {
    let (app, twilio) = spawn_with_twilio(10).await;
    let texter = add_texter(&app, TEXTER).await;
    let mut texts: Vec<_> = (0..20)
        .map(|n| campaign_to(&app, &texter, &format!("Campaign text {n}")))
        .collect();
    texts.push(reply_to(&app, &texter, "A caseworker's reply"));

    queue(&app, &texts).await;
    let received = received_at_least(&twilio, 21, Duration::from_secs(10)).await;

    let position = received
        .iter()
        .position(|text| text.body == "A caseworker's reply")
        .expect("the reply was sent");
    assert!(
        position < 10,
        "the reply went out after {position} campaign texts"
    );
}

#[tokio::test]
async fn stop_cancels_queued_campaign_texts_at_once() {
    let (app, twilio) = spawn_with_twilio(2).await;
    let token = app.token_for(Role::Caseworker).await;
    let texter = add_texter(&app, TEXTER).await;
    let texts: Vec<_> = (0..10)
        .map(|n| campaign_to(&app, &texter, &format!("Campaign text {n}")))
        .collect();
    queue(&app, &texts).await;
    received_at_least(&twilio, 2, Duration::from_secs(5)).await;

    stop_from(&app, &token, TEXTER).await;
    let stop_stored = Instant::now();

    // Texts already claimed when the STOP landed meet the opt-out gate at send time.
    let unfinished =
        "SELECT COUNT(*) FROM outbox WHERE lane = 1 AND status IN ('queued', 'sending')";
    assert_eq!(app.eventually(unfinished, 0).await, 0);
    let received = twilio.received();
    let late = received.iter().filter(|text| text.at > stop_stored).count();
    let sent = count(&app, "status = 'sent' AND lane = 1").await;
    assert_eq!(
        late, 0,
        "{late} campaign texts reached the provider after STOP"
    );
    assert_eq!(sent, received.len() as i64);
    assert_eq!(
        count(&app, "status = 'cancelled' AND lane = 1").await,
        10 - sent
    );
    assert!(sent < 10, "the STOP came before the campaign finished");
}

#[tokio::test]
async fn texts_cut_off_mid_send_are_marked_unknown_and_never_resent() {
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN);
    let database = TestDatabase::create().await;
    let key = textline::privacy::MasterKey::generate().encode();
    // The first run has no channel named `default`, so only the test claims its texts.
    let first = spawn_app_configured_on(database, key.clone(), STANDBY_CONFIG, &[]).await;
    let texter = add_texter(&first, TEXTER).await;
    let texts: Vec<_> = (0..5)
        .map(|n| reply_to(&first, &texter, &format!("Reply {n}")))
        .collect();
    let ids = queue(&first, &texts).await;
    let claimed = first
        .store
        .claim_due("default", "worker-killed", first.clock.now(), 2)
        .await
        .unwrap();
    let TestApp { database, .. } = first;

    let second = spawn_app_configured_on(database, key, &twilio_config(&twilio, 10), &[]).await;
    received_at_least(&twilio, 3, Duration::from_secs(5)).await;

    // On SQLite the start marks them; on PostgreSQL, which other nodes may share, the
    // worker's sweep does once they are two minutes old.
    second.clock.advance(Duration::from_secs(121));

    for text in &claimed {
        let unknown = |row: &OutboxRow| row.status == "unknown";
        row_when_within(&second, text.id, unknown, Duration::from_secs(8)).await;
        assert_still(&second, text.id, "unknown", 1).await;
    }
    assert_eq!(second.eventually(&sent_count(), 3).await, 3);
    let mut bodies: Vec<String> = twilio.received().into_iter().map(|t| t.body).collect();
    bodies.sort();
    assert_eq!(
        bodies,
        ["Reply 2", "Reply 3", "Reply 4"],
        "each unclaimed text once"
    );
    assert_eq!(ids.len() - claimed.len(), bodies.len());
}

const STANDBY_CONFIG: &str = r#"
[[channels]]
name = "standby"
provider = "simulator"
"#;

/// A contact the tests can queue texts to, with its data key to seal them.
struct Texter {
    id: i64,
    key: ContactKey,
}

async fn spawn_with_twilio(rate_per_second: u32) -> (TestApp, FakeTwilio) {
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN);
    let app = spawn_app_configured(&twilio_config(&twilio, rate_per_second), &[]).await;
    (app, twilio)
}

/// A Twilio channel `default` on the fake, and a simulator channel `phone` for texting in.
fn twilio_config(twilio: &FakeTwilio, rate_per_second: u32) -> String {
    format!(
        r#"
[[channels]]
name = "default"
provider = "twilio"
from = "{HOTLINE}"
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
api_base = "{}"
rate_per_second = {rate_per_second}

[[channels]]
name = "phone"
provider = "simulator"
"#,
        twilio.base_url()
    )
}

async fn add_texter(app: &TestApp, number: &str) -> Texter {
    let number = PhoneNumber::from_provider(number).unwrap();
    let sealed = app.vault.seal_new_contact(&number);
    let alias = format!("T{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let mut tx = app.store.begin().await.unwrap();
    let id = tx
        .insert_contact(&alias, &sealed, "en", app.clock.now())
        .await
        .unwrap()
        .expect("a new contact");
    tx.commit().await.unwrap();
    Texter {
        id,
        key: sealed.key,
    }
}

fn reply_to(app: &TestApp, texter: &Texter, body: &str) -> NewOutboxText {
    outbox_text(app, texter, body, 0, "reply", false)
}

fn campaign_to(app: &TestApp, texter: &Texter, body: &str) -> NewOutboxText {
    outbox_text(app, texter, body, 1, "campaign", true)
}

fn outbox_text(
    app: &TestApp,
    texter: &Texter,
    body: &str,
    lane: i64,
    purpose: &'static str,
    unsolicited: bool,
) -> NewOutboxText {
    NewOutboxText {
        contact_id: texter.id,
        ticket_id: None,
        message_id: None,
        campaign_id: None,
        channel: "default".into(),
        lane,
        purpose,
        unsolicited,
        form: "standard",
        sealed_body: texter
            .key
            .seal(Field::OutboxBody, body.as_bytes())
            .into_bytes(),
        own_key: None,
        segments: 1,
        encoding: "GSM-7",
        not_before: app.clock.now(),
        expires_at: None,
    }
}

/// Queues texts in one transaction, as their cause would; returns their ids in order.
async fn queue(app: &TestApp, texts: &[NewOutboxText]) -> Vec<i64> {
    let mut tx = app.store.begin().await.unwrap();
    let mut ids = Vec::new();
    for text in texts {
        ids.push(tx.queue_text(text).await.unwrap());
    }
    tx.commit().await.unwrap();
    ids
}

/// The texter texts STOP through the simulator channel; returns once it is stored.
async fn stop_from(app: &TestApp, token: &str, number: &str) {
    let response = app
        .client
        .post(app.url("/api/v1/simulator/messages"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "from": number, "body": "STOP", "channel": "phone" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "STOP accepted");
}

async fn received_at_least(
    twilio: &FakeTwilio,
    count: usize,
    within: Duration,
) -> Vec<ReceivedText> {
    let deadline = Instant::now() + within;
    loop {
        let received = twilio.received();
        if received.len() >= count || Instant::now() > deadline {
            return received;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn row(app: &TestApp, id: i64) -> OutboxRow {
    let rows = app.store.outbox_rows(1_000).await.unwrap();
    rows.into_iter()
        .find(|row| row.id == id)
        .expect("the text is in the outbox")
}

async fn row_when(app: &TestApp, id: i64, done: impl Fn(&OutboxRow) -> bool) -> OutboxRow {
    row_when_within(app, id, done, Duration::from_secs(5)).await
}

/// The text's row once `done` holds, or as it is when `within` runs out.
async fn row_when_within(
    app: &TestApp,
    id: i64,
    done: impl Fn(&OutboxRow) -> bool,
    within: Duration,
) -> OutboxRow {
    let deadline = Instant::now() + within;
    loop {
        let row = row(app, id).await;
        if done(&row) || Instant::now() > deadline {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Moves the clock to the text's next attempt, so the worker's next poll takes it.
async fn advance_to_next_attempt(app: &TestApp, id: i64) {
    let next = app
        .scalar(&format!(
            "SELECT next_attempt_at FROM outbox WHERE id = {id}"
        ))
        .await;
    let wait = (next - app.clock.now().millis()).max(0);
    app.clock.advance(Duration::from_millis(wait as u64));
}

/// Checks that a text keeps its status and attempts across two of the worker's idle polls
/// (500 ms each): proving that nothing happens takes waiting.
async fn assert_still(app: &TestApp, id: i64, status: &str, attempts: i64) {
    let until = Instant::now() + Duration::from_millis(1_200);
    while Instant::now() < until {
        let row = row(app, id).await;
        assert_eq!((row.status.as_str(), row.attempts), (status, attempts));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sent_count() -> String {
    "SELECT COUNT(*) FROM outbox WHERE status = 'sent'".to_owned()
}

async fn count(app: &TestApp, condition: &str) -> i64 {
    app.scalar(&format!("SELECT COUNT(*) FROM outbox WHERE {condition}"))
        .await
}

/// The most receive times in any half-open one-second window.
fn busiest_second(times: &[Instant]) -> usize {
    let mut sorted = times.to_vec();
    sorted.sort();
    (0..sorted.len())
        .map(|start| {
            sorted[start..]
                .iter()
                .take_while(|at| at.duration_since(sorted[start]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}
