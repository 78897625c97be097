//! What Textline promises a texter: nothing readable at rest or in logs, erase means
//! erase, a number is revealed only to an admin with a reason, bodies are purged on time,
//! and a damaged record is an error rather than a crash or a leak.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Connection;
use textline::audit;
use textline::clock::Timestamp;
use textline::privacy::MasterKey;
use textline::privacy::seal::SealedField;
use textline::privacy::vault::{Field, Vault};
use textline::retention::{self, RetentionPolicy};
use textline::staff::Role;
use textline::store::NewOutboxText;

use crate::helpers::{
    TestApp, TestDatabase, binary, spawn_app, spawn_app_configured, spawn_app_with,
};

const TEXTER: &str = "+14155550123";
/// The texter's number as people and systems write it.
const NUMBER_FORMATS: [&str; 6] = [
    "+14155550123",
    "14155550123",
    "4155550123",
    "(415) 555-0123",
    "415-555-0123",
    "415.555.0123",
];
const SENTENCE: &str = "The blue van waits behind Marigold Laundry on Quenby Street";
/// Words of the texts that appear nowhere in Textline's own catalog or code.
const DISTINCTIVE_WORDS: [&str; 4] = ["passport", "Marigold", "Quenby", "Zubrowka"];

#[tokio::test]
async fn nothing_a_texter_sent_can_be_read_in_the_database_the_logs_or_the_metrics() {
    let database = TestDatabase::create().await;
    let master_key = MasterKey::generate().encode();
    let token = staff_token_through_the_binary(&database, &master_key);
    let server = Server::start(&database, &master_key);
    let client = reqwest::Client::new();
    let texts = [
        "hello? is this safe",
        "they took my passport and my phone",
        SENTENCE,
        "HELP",
        "the boss drinks Zubrowka every night",
    ];

    let mut alias = String::new();
    for text in texts {
        let response = client
            .post(format!("{}/api/v1/simulator/messages", server.address))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "from": TEXTER, "body": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let accepted: serde_json::Value = response.json().await.unwrap();
        alias = accepted["alias"].as_str().unwrap().to_owned();
    }
    wait_for_replies(&client, &server.address, &token, 2).await;
    let metrics = client
        .get(format!("{}/metrics", server.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let logs = server.stop();

    let mut needles: Vec<&str> = NUMBER_FORMATS.to_vec();
    needles.push(SENTENCE);
    needles.extend(DISTINCTIVE_WORDS);
    let stored = stored_bytes(&database).await;
    assert!(
        contains(&stored, &alias),
        "the scan reads what is stored in clear"
    );
    for needle in &needles {
        assert!(
            !contains(&stored, needle),
            "{needle:?} is readable in the database"
        );
        assert!(
            !contains(logs.as_bytes(), needle),
            "{needle:?} is in the logs"
        );
        assert!(
            !contains(metrics.as_bytes(), needle),
            "{needle:?} is in the metrics"
        );
    }
    assert!(logs.contains("DEBUG"), "debug logs were captured");
    assert!(
        logs.contains(&alias),
        "the texts' arrival was logged, by alias"
    );
    assert!(metrics.contains("# EOF"), "metrics were read");
}

#[tokio::test]
async fn erasing_a_contact_through_the_api_destroys_every_sealed_field_and_keeps_the_suppression() {
    let app = spawn_app().await;
    let caseworker = app.token_for(Role::Caseworker).await;
    let supervisor = app.token_for(Role::Supervisor).await;
    let alias = texter_with_history(&app, &caseworker).await;

    let refused = erase_through_api(&app, &caseworker, &alias).await;
    let erased = erase_through_api(&app, &supervisor, &alias).await;

    assert_eq!(refused.status(), 403);
    assert_eq!(erased.status(), 200);
    assert_erased(&app, &alias).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'contact.erased' \
             AND subject = 'contact:{alias}' AND actor LIKE 'staff:%'"
        ))
        .await,
        1
    );
    audit::verify(&app.store).await.unwrap();
}

#[tokio::test]
async fn erasing_a_contact_on_the_command_line_destroys_every_sealed_field_and_keeps_the_suppression()
 {
    let app = spawn_app().await;
    let caseworker = app.token_for(Role::Caseworker).await;
    let alias = texter_with_history(&app, &caseworker).await;

    let output = run_textline(
        &app.database,
        &app.master_key,
        &["contacts", "erase", &alias],
    );

    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains(&alias));
    assert_erased(&app, &alias).await;
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'contact.erased' \
             AND subject = 'contact:{alias}' AND actor = 'operator'"
        ))
        .await,
        1
    );
    let verified = run_textline(&app.database, &app.master_key, &["audit", "verify"]);
    assert!(verified.status.success(), "{}", stderr_of(&verified));
}

#[tokio::test]
async fn revealing_a_number_is_refused_to_an_admin_unless_the_deployment_allows_it() {
    let app = spawn_app().await;
    let admin = app.token_for(Role::Admin).await;
    let alias = first_text(&app, &admin).await;

    let response = reveal(&app, &admin, &alias, Some("court order 2026-118")).await;

    assert_eq!(response.status(), 403);
    assert_eq!(reveal_entries(&app).await, 0);
}

#[tokio::test]
async fn a_number_is_revealed_only_to_an_admin_who_gives_a_reason_and_is_audited() {
    let app = spawn_app_with(&[("TEXTLINE_ALLOW_NUMBER_REVEAL", "true")]).await;
    let caseworker = app.token_for(Role::Caseworker).await;
    let supervisor = app.token_for(Role::Supervisor).await;
    let admin = app.token_for(Role::Admin).await;
    let alias = first_text(&app, &caseworker).await;
    let reason = "court order 2026-118";

    let as_caseworker = reveal(&app, &caseworker, &alias, Some(reason)).await;
    let as_supervisor = reveal(&app, &supervisor, &alias, Some(reason)).await;
    let without_reason = reveal(&app, &admin, &alias, None).await;
    let blank_reason = reveal(&app, &admin, &alias, Some("   ")).await;
    let entries_before = reveal_entries(&app).await;
    let revealed = reveal(&app, &admin, &alias, Some(reason)).await;

    assert_eq!(as_caseworker.status(), 403);
    assert_eq!(as_supervisor.status(), 403);
    assert_eq!(without_reason.status(), 422);
    assert_eq!(blank_reason.status(), 422);
    assert_eq!(entries_before, 0);
    assert_eq!(revealed.status(), 200);
    let body: serde_json::Value = revealed.json().await.unwrap();
    assert_eq!(body["number"], TEXTER);
    assert_eq!(body["alias"], alias.as_str());
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'contact.number_revealed' \
             AND subject = 'contact:{alias}' AND reason = '{reason}'"
        ))
        .await,
        1
    );
    audit::verify(&app.store).await.unwrap();
}

#[tokio::test]
async fn revealing_an_erased_contacts_number_is_a_conflict() {
    let app = spawn_app_configured("allow_number_reveal = true\n", &[]).await;
    let admin = app.token_for(Role::Admin).await;
    let alias = first_text(&app, &admin).await;
    assert_eq!(erase_through_api(&app, &admin, &alias).await.status(), 200);

    let response = reveal(&app, &admin, &alias, Some("court order 2026-118")).await;

    assert_eq!(response.status(), 409);
    assert_eq!(reveal_entries(&app).await, 0);
}

#[tokio::test]
async fn purge_destroys_only_the_bodies_of_tickets_closed_longer_ago_than_retention() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let policy = RetentionPolicy {
        body_days: 30,
        audit_days: 3650,
    };
    let long_closed = texter(&app, &token, "+14155550131").await;
    let recently_closed = texter(&app, &token, "+14155550132").await;
    let open = texter(&app, &token, "+14155550133").await;
    let bodies = bodies_of(&app, long_closed).await;
    interrupted_send_to(&app, long_closed).await;
    interrupted_send_to(&app, recently_closed).await;
    // No ticket-closing API yet (issue #7): tickets are closed by SQL.
    close_ticket_of(&app, long_closed).await;
    app.clock.advance(Duration::from_secs(31 * 24 * 60 * 60));
    close_ticket_of(&app, recently_closed).await;
    let statistics = "SELECT CAST(SUM(body_chars) + SUM(segments) * 1000 + COUNT(*) * 1000000 \
                      AS BIGINT) FROM messages";
    let statistics_before = app.scalar(statistics).await;
    let timings = "SELECT CAST(SUM(opened_at) + SUM(closed_at) AS BIGINT) FROM tickets";
    let timings_before = app.scalar(timings).await;

    let report = retention::purge(&app.store, &app.clock, policy, false)
        .await
        .unwrap();

    assert!(bodies >= 2, "two texts and the greeting were stored");
    assert_eq!(report.message_bodies, bodies.unsigned_abs());
    assert_eq!(bodies_of(&app, long_closed).await, 0);
    assert_eq!(bodies_of(&app, recently_closed).await, bodies);
    assert_eq!(bodies_of(&app, open).await, bodies);
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM messages WHERE contact_id = {long_closed} \
             AND body_destroyed_at IS NOT NULL"
        ))
        .await,
        bodies
    );
    let outbox_bodies = |contact: i64| {
        format!(
            "SELECT COUNT(*) FROM outbox WHERE contact_id = {contact} \
             AND sealed_body IS NOT NULL"
        )
    };
    assert_eq!(app.scalar(&outbox_bodies(long_closed)).await, 0);
    assert_eq!(app.scalar(&outbox_bodies(recently_closed)).await, 1);
    assert_eq!(app.scalar(statistics).await, statistics_before);
    assert_eq!(app.scalar(timings).await, timings_before);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contacts WHERE wrapped_data_key IS NOT NULL")
            .await,
        3
    );
    audit::verify(&app.store).await.unwrap();
}

#[tokio::test]
async fn a_dry_run_purge_through_the_binary_reports_counts_and_destroys_nothing() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let contact = texter(&app, &token, "+14155550141").await;
    // The binary runs on the system clock: a ticket closed in 1970 has long expired.
    // No ticket-closing API yet (issue #7): the ticket is closed by SQL.
    app.execute(&format!(
        "UPDATE tickets SET status = 'closed', closed_at = 1000 WHERE contact_id = {contact}"
    ))
    .await;
    let audit_entries = app.scalar("SELECT COUNT(*) FROM audit_log").await;
    let bodies = bodies_of(&app, contact).await;

    let output = run_textline(&app.database, &app.master_key, &["purge", "--dry-run"]);

    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("would destroy: {bodies} message bodies, 0 notes")),
        "{stdout}"
    );
    assert_eq!(bodies_of(&app, contact).await, bodies);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log").await,
        audit_entries
    );
}

#[tokio::test]
async fn audit_entries_older_than_retention_expire_and_the_chain_still_verifies() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Admin).await;
    let policy = RetentionPolicy {
        body_days: 3650,
        audit_days: 30,
    };
    let old = first_text(&app, &token).await;
    erase_through_api(&app, &token, &old).await;
    app.clock.advance(Duration::from_secs(31 * 24 * 60 * 60));
    let recent = texter(&app, &token, "+14155550151").await;
    let recent_alias = alias_of(&app, recent).await;
    erase_through_api(&app, &token, &recent_alias).await;

    let report = retention::purge(&app.store, &app.clock, policy, false)
        .await
        .unwrap();

    assert_eq!(report.audit_entries, 1);
    let subject =
        |alias: &str| format!("SELECT COUNT(*) FROM audit_log WHERE subject = 'contact:{alias}'");
    assert_eq!(app.scalar(&subject(&old)).await, 0);
    assert_eq!(app.scalar(&subject(&recent_alias)).await, 1);
    let chain = audit::verify(&app.store).await.unwrap();
    assert_eq!(chain.entries, 2, "the recent erase and the purge itself");
}

#[tokio::test]
async fn a_message_body_that_fails_to_open_is_an_error_without_its_content() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let alias = first_text(&app, &token).await;
    let contact = app.store.find_contact_by_alias(&alias).await.unwrap();
    let contact = contact.unwrap();
    let vault = Vault::new(MasterKey::parse(&app.master_key).unwrap());
    let key = vault.contact_key(&contact.wrapped_key().unwrap()).unwrap();
    let stored = bytes(
        &app,
        "SELECT sealed_body FROM messages WHERE direction = 'inbound'",
    )
    .await;
    let mut corrupted = stored[0].clone();
    let middle = corrupted.len() / 2;
    corrupted[middle] ^= 0x01;
    // No HTTP route reads message bodies yet (issue #6); the vault is what every reader uses.

    let intact = key.open_text(
        Field::MessageBody,
        &SealedField::from_bytes(stored[0].clone()),
    );
    let damaged = key.open_text(Field::MessageBody, &SealedField::from_bytes(corrupted));

    assert_eq!(intact.unwrap().as_str(), "they took my passport");
    let error = damaged.unwrap_err();
    assert!(!format!("{error:?} {error}").contains("passport"));
}

#[tokio::test]
async fn an_outbox_text_that_fails_to_open_is_marked_failed_and_the_worker_goes_on() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let contact = texter(&app, &token, "+14155550161").await;
    let now = app.clock.now();
    let mut tx = app.store.begin().await.unwrap();
    tx.queue_text(&outbox_text(
        contact,
        false,
        vec![0x5a; 64],
        now.plus(Duration::from_secs(60)),
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();

    app.clock.advance(Duration::from_secs(120));

    let failed = "SELECT COUNT(*) FROM outbox WHERE status = 'failed' \
                  AND last_error = 'sealed text could not be opened' AND sealed_body IS NULL";
    assert_eq!(app.eventually(failed, 1).await, 1);
    texter(&app, &token, "+14155550162").await;
    assert_eq!(
        app.eventually("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 2)
            .await,
        2,
        "the worker still sends after the damaged text"
    );
}

/// A texter whose ticket has two texts, a note, the greeting sent, and one text whose
/// send was interrupted (left `unknown` with its sealed body); returns their alias.
async fn texter_with_history(app: &TestApp, token: &str) -> String {
    let alias = first_text(app, token).await;
    app.text_from(token, TEXTER, SENTENCE).await;
    let contact = contact_id(app, &alias).await;
    app.execute(&format!(
        "INSERT INTO ticket_notes (ticket_id, author_id, sealed_body, created_at) \
             SELECT id, NULL, {}, opened_at FROM tickets WHERE contact_id = {contact}",
        blob_literal(app)
    ))
    .await;
    interrupted_send_to(app, contact).await;
    alias
}

/// A reply left `unknown` by a send that was interrupted: it keeps its sealed body.
async fn interrupted_send_to(app: &TestApp, contact: i64) {
    app.execute(&format!(
        "INSERT INTO outbox (contact_id, ticket_id, channel, lane, purpose, unsolicited, \
             form, sealed_body, segments, encoding, status, next_attempt_at, created_at, \
             finished_at) SELECT {contact}, id, 'default', 0, 'reply', FALSE, 'free', {}, 1, \
             'gsm7', 'unknown', opened_at, opened_at, opened_at FROM tickets \
             WHERE contact_id = {contact}",
        blob_literal(app)
    ))
    .await;
}

async fn assert_erased(app: &TestApp, alias: &str) {
    let contact = contact_id(app, alias).await;
    for (table, column) in [
        ("contacts", "wrapped_data_key"),
        ("contacts", "sealed_number"),
        ("messages", "sealed_body"),
        ("ticket_notes", "sealed_body"),
        ("outbox", "sealed_body"),
        ("outbox", "own_wrapped_key"),
        ("outbox", "own_sealed_number"),
    ] {
        assert_eq!(
            app.scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE {column} IS NOT NULL"
            ))
            .await,
            0,
            "{table}.{column} is destroyed"
        );
    }
    let record = app.store.find_contact_by_alias(alias).await.unwrap();
    let record = record.expect("the alias is still known");
    assert!(record.wrapped_key().is_none() && record.sealed_number().is_none());
    assert_eq!(
        app.scalar(&format!(
            "SELECT COUNT(*) FROM contacts WHERE id = {contact} AND blind_index IS NOT NULL \
             AND opted_out_at IS NOT NULL AND erased_at IS NOT NULL"
        ))
        .await,
        1,
        "the suppression record stays"
    );

    let mut tx = app.store.begin().await.unwrap();
    tx.queue_text(&outbox_text(contact, true, vec![1; 40], app.clock.now()))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        app.eventually(
            "SELECT COUNT(*) FROM outbox WHERE purpose = 'campaign' AND status = 'cancelled' \
             AND sealed_body IS NULL",
            1
        )
        .await,
        1,
        "an unsolicited text to an erased contact is cancelled"
    );
}

/// A campaign text (unsolicited), or a conversation text (not).
fn outbox_text(
    contact_id: i64,
    unsolicited: bool,
    sealed_body: Vec<u8>,
    not_before: Timestamp,
) -> NewOutboxText {
    NewOutboxText {
        contact_id,
        ticket_id: None,
        message_id: None,
        campaign_id: unsolicited.then_some(1),
        channel: "default".into(),
        lane: if unsolicited { 1 } else { 0 },
        purpose: if unsolicited { "campaign" } else { "reply" },
        unsolicited,
        form: "discreet",
        sealed_body,
        own_key: None,
        segments: 1,
        encoding: "gsm7",
        not_before,
        expires_at: None,
    }
}

/// The first text of [`TEXTER`], with its greeting sent; returns their alias.
async fn first_text(app: &TestApp, token: &str) -> String {
    let accepted = app.text_from(token, TEXTER, "they took my passport").await;
    wait_for_sent(app, 1).await;
    accepted["alias"].as_str().unwrap().to_owned()
}

/// Two texts from `number`, greeting sent; returns the contact's id.
async fn texter(app: &TestApp, token: &str, number: &str) -> i64 {
    let sent_before = app
        .scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sent'")
        .await;
    let accepted = app.text_from(token, number, "hello").await;
    app.text_from(token, number, "they took my passport").await;
    wait_for_sent(app, sent_before + 1).await;
    contact_id(app, accepted["alias"].as_str().unwrap()).await
}

async fn wait_for_sent(app: &TestApp, count: i64) {
    let sent = "SELECT COUNT(*) FROM outbox WHERE status = 'sent'";
    assert_eq!(app.eventually(sent, count).await, count, "greetings sent");
}

async fn contact_id(app: &TestApp, alias: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM contacts WHERE alias = '{alias}'"))
        .await
}

async fn alias_of(app: &TestApp, contact_id: i64) -> String {
    let record = app.store.find_contact_by_id(contact_id).await.unwrap();
    record.unwrap().alias
}

async fn bodies_of(app: &TestApp, contact_id: i64) -> i64 {
    app.scalar(&format!(
        "SELECT COUNT(*) FROM messages WHERE contact_id = {contact_id} \
         AND sealed_body IS NOT NULL"
    ))
    .await
}

async fn close_ticket_of(app: &TestApp, contact_id: i64) {
    let now = app.clock.now().millis();
    app.execute(&format!(
        "UPDATE tickets SET status = 'closed', closed_at = {now}, updated_at = {now} \
             WHERE contact_id = {contact_id}"
    ))
    .await;
}

async fn reveal_entries(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'contact.number_revealed'")
        .await
}

async fn erase_through_api(app: &TestApp, token: &str, alias: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/contacts/{alias}/erase")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn reveal(
    app: &TestApp,
    token: &str,
    alias: &str,
    reason: Option<&str>,
) -> reqwest::Response {
    let body = match reason {
        Some(reason) => serde_json::json!({ "reason": reason }),
        None => serde_json::json!({}),
    };
    app.client
        .post(app.url(&format!("/api/v1/contacts/{alias}/reveal")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A few arbitrary bytes as a SQL literal of the backend's binary type.
fn blob_literal(app: &TestApp) -> &'static str {
    if is_sqlite(&app.database) {
        "X'00112233445566778899'"
    } else {
        "'\\x00112233445566778899'::bytea"
    }
}

fn is_sqlite(database: &TestDatabase) -> bool {
    database.url.starts_with("sqlite")
}

async fn bytes(app: &TestApp, query: &str) -> Vec<Vec<u8>> {
    bytes_in(&app.database, query).await
}

async fn bytes_in(database: &TestDatabase, query: &str) -> Vec<Vec<u8>> {
    let query = sqlx::AssertSqlSafe(query.to_owned());
    if is_sqlite(database) {
        let mut connection = sqlx::SqliteConnection::connect(&database.url)
            .await
            .unwrap();
        sqlx::query_scalar(query)
            .fetch_all(&mut connection)
            .await
            .unwrap()
    } else {
        let mut connection = sqlx::PgConnection::connect(&database.url).await.unwrap();
        sqlx::query_scalar(query)
            .fetch_all(&mut connection)
            .await
            .unwrap()
    }
}

/// Everything stored: the raw files of the data directory and, on PostgreSQL, every text and
/// binary value in the test's schema.
async fn stored_bytes(database: &TestDatabase) -> Vec<u8> {
    // Every file of the data directory: on SQLite the database, its write-ahead log and
    // the log's index when present, and whatever else the service keeps there.
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(database.data_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(path).unwrap());
        }
    }
    if is_sqlite(database) {
        let file = std::fs::metadata(database.data_path("textline.db")).unwrap();
        assert!(file.len() > 4096, "the database file was read");
        return stored;
    }
    let mut connection = sqlx::PgConnection::connect(&database.url).await.unwrap();
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND data_type IN ('text', 'bytea', 'character varying', 'character', 'json', 'jsonb')",
    )
    .fetch_all(&mut connection)
    .await
    .unwrap();
    assert!(columns.len() > 10, "the schema's columns were found");
    for (table, column, data_type) in columns {
        let value = if data_type == "bytea" {
            format!("\"{column}\"")
        } else {
            format!("convert_to(\"{column}\"::text, 'UTF8')")
        };
        let query = format!("SELECT {value} FROM \"{table}\" WHERE \"{column}\" IS NOT NULL");
        for value in bytes_in(database, &query).await {
            stored.extend(value);
            stored.push(b'\n');
        }
    }
    stored
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.to_ascii_lowercase().into_bytes();
    haystack
        .to_ascii_lowercase()
        .windows(needle.len())
        .any(|window| window == needle.as_slice())
}

async fn wait_for_replies(client: &reqwest::Client, address: &str, token: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let replies: Vec<serde_json::Value> = client
            .get(format!("{address}/api/v1/simulator/messages"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if replies.len() >= count {
            return;
        }
        assert!(Instant::now() < deadline, "only {} replies", replies.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Adds a caseworker and creates their token with the binary, as an operator would.
fn staff_token_through_the_binary(database: &TestDatabase, master_key: &str) -> String {
    let mut child = textline_command(database, master_key)
        .args(["user", "add", "worker@example.org", "--role", "caseworker"])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a long caseworker passphrase\n").unwrap();
    drop(stdin);
    let added = child.wait_with_output().unwrap();
    assert!(added.status.success(), "{}", stderr_of(&added));

    let token = run_textline(
        database,
        master_key,
        &["token", "create", "worker@example.org"],
    );
    assert!(token.status.success(), "{}", stderr_of(&token));
    String::from_utf8(token.stdout).unwrap().trim().to_owned()
}

fn run_textline(database: &TestDatabase, master_key: &str, args: &[&str]) -> Output {
    textline_command(database, master_key)
        .args(args)
        .output()
        .unwrap()
}

fn textline_command(database: &TestDatabase, master_key: &str) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(database.data_dir.path())
        .env_clear()
        .envs(database.environment())
        .env("TEXTLINE_MASTER_KEY", master_key);
    command
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `textline serve` as a child process, its stdout and stderr captured.
struct Server {
    child: Child,
    address: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(database: &TestDatabase, master_key: &str) -> Self {
        let mut child = textline_command(database, master_key)
            .env("TEXTLINE_LOG", "debug")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let captured = Arc::clone(&stdout);
        let stdout_reader = std::thread::spawn(move || {
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some((_, address)) = line.split_once("serving on ") {
                    let _ = address_tx.send(address.trim().to_owned());
                }
                let mut captured = captured.lock().unwrap();
                captured.push_str(&line);
                captured.push('\n');
            }
        });
        let mut pipe = child.stderr.take().unwrap();
        let captured = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buffer[..read]);
                captured.lock().unwrap().push_str(&text);
            }
        });
        let address = address_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("textline did not start: {}", stderr.lock().unwrap()));
        Self {
            child,
            address,
            stdout,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// Stops the server with SIGTERM and returns everything it wrote.
    fn stop(mut self) -> String {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) with a pid we spawned and a valid signal number has no memory effects.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "textline did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        format!("{stdout}\n{stderr}")
    }
}
