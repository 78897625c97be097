//! `user add` and `token create` through the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use textline::privacy::MasterKey;

use crate::helpers::{TestDatabase, binary, spawn_app_on};

fn textline(database: &TestDatabase, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary())
        .current_dir(database.data_dir.path())
        .env_clear()
        .envs(database.environment())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_user_added_and_given_a_token_on_the_command_line_can_call_the_api() {
    let database = TestDatabase::create().await;
    let add = [
        "user",
        "add",
        "worker@example.org",
        "--role",
        "caseworker",
        "--password-stdin",
    ];

    let added = textline(&database, &add, "a long caseworker passphrase\n");
    let token = textline(&database, &["token", "create", "worker@example.org"], "");

    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("tl_"));
    let app = spawn_app_on(database, MasterKey::generate().encode(), &[]).await;
    let me: serde_json::Value = app
        .get_with_token("/api/v1/me", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "caseworker");
}

#[tokio::test]
async fn a_short_password_or_a_taken_email_is_refused_with_a_clear_message() {
    let database = TestDatabase::create().await;
    let add = [
        "user",
        "add",
        "lead@example.org",
        "--role",
        "admin",
        "--password-stdin",
    ];

    let short = textline(&database, &add, "short\n");
    let first = textline(&database, &add, "a long admin passphrase\n");
    let again = textline(&database, &add, "a long admin passphrase\n");

    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    assert!(first.status.success());
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(
        !stderr.contains("lead@example.org"),
        "no email address in errors: {stderr}"
    );
}

#[tokio::test]
async fn a_token_for_an_unknown_account_is_refused() {
    let database = TestDatabase::create().await;

    let output = textline(&database, &["token", "create", "nobody@example.org"], "");

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no account"));
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["user", "add", "--help"],
        &["token", "create", "--help"],
    ] {
        let output = Command::new(binary()).args(args).output().unwrap();

        assert!(output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"));
    }
}

#[test]
fn messages_check_passes_on_the_shipped_catalog_and_reports_segments() {
    let output = Command::new(binary())
        .args(["messages", "check"])
        .output()
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("GSM-7"));
    assert!(stdout.contains("message catalog ok: 3 languages"));
}

#[test]
fn messages_check_reports_a_broken_catalog_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/messages");
    for language in ["en", "fr", "es"] {
        let text = std::fs::read_to_string(format!("{shipped}/{language}.toml")).unwrap();
        let text = if language == "fr" {
            text.replace("{emergency_number}", "{urgence}")
        } else {
            text
        };
        std::fs::write(dir.path().join(format!("{language}.toml")), text).unwrap();
    }

    let output = Command::new(binary())
        .args(["messages", "check", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("fr.toml"));
}
