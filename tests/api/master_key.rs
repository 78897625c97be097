//! The master key: created once, reused, and never replaced over existing data.

use std::os::unix::fs::PermissionsExt;

use textline::clock::Clock;
use textline::privacy::MasterKey;
use textline::startup::{Application, StartupError};

use crate::helpers::{TestDatabase, load_settings};

async fn start(database: &TestDatabase, key: Option<&str>) -> Result<Application, StartupError> {
    let mut environment = database.environment();
    if let Some(key) = key {
        environment.push(("TEXTLINE_MASTER_KEY".into(), key.into()));
    }
    let settings = load_settings(&database.data_path("textline.toml"), environment);
    Application::build(settings, Clock::system()).await
}

#[tokio::test]
async fn a_new_deployment_writes_a_key_file_only_its_owner_can_read() {
    let database = TestDatabase::create().await;

    let application = start(&database, None).await.unwrap();

    let key_file = database.data_path("master.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let written = MasterKey::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(written.id(), application.report().key_id);
}

#[tokio::test]
async fn the_key_file_is_used_again_on_the_next_start() {
    let database = TestDatabase::create().await;
    let first = start(&database, None)
        .await
        .unwrap()
        .report()
        .key_id
        .clone();

    let second = start(&database, None).await.unwrap();

    assert_eq!(second.report().key_id, first);
}

#[tokio::test]
async fn a_missing_key_with_existing_data_refuses_to_start() {
    let database = TestDatabase::create().await;
    start(&database, None).await.unwrap();
    std::fs::remove_file(database.data_path("master.key")).unwrap();

    let refused = start(&database, None)
        .await
        .err()
        .expect("refuses to start");

    assert!(
        refused.to_string().contains("master key missing"),
        "{refused}"
    );
    assert!(
        !database.data_path("master.key").exists(),
        "no new key over existing data"
    );
}

#[tokio::test]
async fn a_wrong_key_with_existing_data_refuses_to_start() {
    let database = TestDatabase::create().await;
    let right = MasterKey::generate().encode();
    start(&database, Some(&right)).await.unwrap();

    let wrong = MasterKey::generate().encode();
    let refused = start(&database, Some(&wrong))
        .await
        .err()
        .expect("refuses to start");

    assert!(refused.to_string().contains("is not the key"), "{refused}");
    assert!(!refused.to_string().contains(&wrong));
    assert!(start(&database, Some(&right)).await.is_ok());
}
