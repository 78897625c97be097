//! Configuration errors stop the real binary with one line naming the key.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use textline::config;

use crate::helpers::binary;

/// Runs `textline migrate` in a temporary directory with only the given variables.
fn run_with(file: Option<&str>, variables: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary());
    command.current_dir(dir.path()).env_clear().arg("migrate");
    if let Some(contents) = file {
        std::fs::write(dir.path().join("textline.toml"), contents).unwrap();
    }
    command.envs(variables.iter().copied());
    (command.output().unwrap(), dir)
}

fn assert_refused(output: &Output, key: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&format!("`{key}`")),
        "names {key}: {stderr}"
    );
}

#[test]
fn an_unknown_key_in_the_file_is_refused() {
    let (output, _dir) = run_with(Some("listen = \"127.0.0.1:9000\"\nlisten_port = 9\n"), &[]);

    assert_refused(&output, "listen_port");
}

#[test]
fn an_unknown_textline_variable_is_refused() {
    let (output, _dir) = run_with(None, &[("TEXTLINE_LISTN", "127.0.0.1:1")]);

    assert_refused(&output, "listn");
}

#[test]
fn a_bad_listen_address_is_refused() {
    let (output, _dir) = run_with(None, &[("TEXTLINE_LISTEN", "localhost")]);

    assert_refused(&output, "listen");
}

#[test]
fn a_bad_database_url_is_refused() {
    let (output, _dir) = run_with(Some("database_url = \"mysql://db/textline\"\n"), &[]);

    assert_refused(&output, "database_url");
}

#[test]
fn a_bad_public_url_is_refused() {
    let (output, _dir) = run_with(None, &[("TEXTLINE_PUBLIC_URL", "not a url")]);

    assert_refused(&output, "public_url");
}

#[test]
fn a_wrongly_typed_value_is_refused() {
    let (output, _dir) = run_with(Some("body_limit_bytes = \"lots\"\n"), &[]);

    assert_refused(&output, "body_limit_bytes");
}

#[test]
fn the_environment_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("textline.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9000\"\n").unwrap();
    let environment = vec![("TEXTLINE_LISTEN".to_owned(), "127.0.0.1:9001".to_owned())];

    let settings = config::load(Some(&file), environment).unwrap();

    assert_eq!(settings.listen.port(), 9001);
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::write(&key_file, textline::privacy::MasterKey::generate().encode()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let key_file = key_file.display().to_string();

    let (output, _dir) = run_with(None, &[("TEXTLINE_MASTER_KEY_FILE", key_file.as_str())]);

    assert_refused(&output, "master_key_file");
    assert!(String::from_utf8_lossy(&output.stderr).contains("chmod 600"));
}

#[test]
fn an_unreadable_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    std::fs::create_dir(&key_file).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key_file = key_file.display().to_string();

    let (output, _dir) = run_with(None, &[("TEXTLINE_MASTER_KEY_FILE", key_file.as_str())]);

    assert_refused(&output, "master_key_file");
}

#[test]
fn a_malformed_master_key_is_refused_without_echoing_it() {
    let (output, _dir) = run_with(None, &[("TEXTLINE_MASTER_KEY", "c2VjcmV0LWJ1dC1zaG9ydA==")]);

    assert_refused(&output, "master_key");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("c2VjcmV0"));
}

#[test]
fn production_refuses_a_plain_http_public_url() {
    let (output, _dir) = run_with(
        None,
        &[
            ("TEXTLINE_ENV", "production"),
            ("TEXTLINE_PUBLIC_URL", "http://hotline.example.org"),
        ],
    );

    assert_refused(&output, "public_url");
}

#[test]
fn production_refuses_a_placeholder_database_password() {
    let (output, _dir) = run_with(
        None,
        &[
            ("TEXTLINE_ENV", "production"),
            ("TEXTLINE_PUBLIC_URL", "https://hotline.example.org"),
            (
                "TEXTLINE_DATABASE_URL",
                "postgres://textline:changeme@db/textline",
            ),
        ],
    );

    assert_refused(&output, "database_url");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("changeme"));
}

#[test]
fn the_example_configuration_parses() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/textline.example.toml");

    let settings = config::load(Some(std::path::Path::new(example)), Vec::new());

    let settings = settings.expect("textline.example.toml is valid");
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
}
