//! Master key rotation while the service runs: every texter stays readable and findable, a
//! running service follows, the old key stops working, and an interrupted rotation resumes.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use textline::clock::Clock;
use textline::key_rotation::NEW_KEY_LABEL;
use textline::privacy::MasterKey;
use textline::privacy::phone::PhoneNumber;
use textline::privacy::rotate::{self, Rotation};
use textline::privacy::vault::Vault;
use textline::startup::{Application, StartupError};
use textline::store::{FinishOutcome, Store};

use crate::helpers::{TestDatabase, binary, load_settings, spawn_app};

const CONTACTS: usize = 12;

#[tokio::test]
async fn after_rotation_every_contact_opens_under_the_new_key_and_is_found_by_its_new_index() {
    let app = spawn_app().await;
    let old = MasterKey::parse(&app.master_key).unwrap();
    let contacts = create_contacts(&app.store, &Vault::new(old.duplicate_for_test())).await;

    let rotation = rotate::begin(&app.store, &old, &app.clock).await.unwrap();
    let new_key = finish_now(&rotation, &app.store, &app.clock).await;

    assert_all_open_under(&app.store, &new_key, &contacts).await;
    let audit = app.store.audit_entries(0, 100).await.unwrap();
    let entry = audit.last().expect("the rotation is audited");
    assert_eq!(entry.action, "keys.rotated");
    assert_eq!(entry.subject, format!("key:{}", new_key.id()));
    assert_eq!(entry.actor, "operator");
}

#[tokio::test]
async fn a_running_service_started_with_the_old_key_follows_the_rotation() {
    let database = TestDatabase::create().await;
    let old = MasterKey::generate();
    let application = start(&database, Some(&old.encode())).await.unwrap();
    let store = application.store();
    let vault = application.vault();
    tokio::spawn(application.run_until_stopped());
    let clock = Clock::system();

    let rotation = rotate::begin(&store, &old, &clock).await.unwrap();
    let next_id = rotation.next_key_id().to_owned();
    wait_until(|| vault.current_key_id() == next_id).await;

    let sealed = vault.seal_new_contact(&number(1));
    assert_eq!(sealed.wrapped_key.key_id, next_id);
    assert_eq!(vault.previous_key_id(), Some(old.id()));
    assert_eq!(vault.blind_indexes(&number(1)).len(), 2);

    finish_now(&rotation, &store, &clock).await;
    wait_until(|| vault.previous_key_id().is_none()).await;
    assert_eq!(vault.current_key_id(), next_id);
}

#[tokio::test]
async fn the_old_key_alone_no_longer_starts_the_service_after_rotation() {
    let database = TestDatabase::create().await;
    let old = MasterKey::generate();
    let store = start(&database, Some(&old.encode())).await.unwrap().store();
    let rotation = rotate::begin(&store, &old, &Clock::system()).await.unwrap();
    let new_key = finish_now(&rotation, &store, &Clock::system()).await;

    let refused = start(&database, Some(&old.encode())).await.err();
    let started = start(&database, Some(&new_key.encode())).await;

    let refused = refused.expect("the old key is refused").to_string();
    assert!(refused.contains("retired"), "{refused}");
    assert!(!refused.contains(&old.encode()));
    assert!(started.is_ok());
}

#[tokio::test]
async fn a_data_key_wrapped_under_a_retired_key_is_refused_by_the_database() {
    let app = spawn_app().await;
    let old = MasterKey::parse(&app.master_key).unwrap();
    let rotation = rotate::begin(&app.store, &old, &app.clock).await.unwrap();
    finish_now(&rotation, &app.store, &app.clock).await;

    let stale = Vault::new(old).seal_new_contact(&number(7));
    let mut tx = app.store.begin().await.unwrap();
    let inserted = tx
        .insert_contact("LATE-01", &stale, "en", app.clock.now())
        .await;
    // Ends the transaction (a rollback, after the error) before the database is dropped.
    let _ = tx.commit().await;

    assert!(inserted.is_err(), "nobody could read this contact later");
}

#[tokio::test]
async fn an_interrupted_rotation_resumes_with_either_key_and_loses_nothing() {
    let database = TestDatabase::create().await;
    let old = MasterKey::generate();
    let store = start(&database, Some(&old.encode())).await.unwrap().store();
    let clock = Clock::system();
    let contacts = create_contacts(&store, &Vault::new(old.duplicate_for_test())).await;
    let interrupted = rotate::begin(&store, &old, &clock).await.unwrap();
    let new_key = MasterKey::parse(&expose(&interrupted)).unwrap();
    rewrap_some(&store, &old, &new_key, &contacts[..CONTACTS / 2]).await;
    drop(interrupted);

    let during = start(&database, Some(&new_key.encode())).await.unwrap();
    for contact in &contacts {
        let record = store
            .find_contact_by_alias(&contact.0)
            .await
            .unwrap()
            .unwrap();
        let wrapped = record.wrapped_key().unwrap();
        assert!(
            during.vault().contact_key(&wrapped).is_ok(),
            "readable mid-rotation"
        );
    }
    let resumed = rotate::begin(&store, &new_key, &clock).await.unwrap();
    assert!(resumed.resumed());
    assert_eq!(resumed.next_key_id(), new_key.id());
    finish_now(&resumed, &store, &clock).await;

    assert_all_open_under(&store, &new_key, &contacts).await;
}

#[tokio::test]
async fn keys_rotate_with_a_key_file_replaces_the_file_and_rewraps_every_contact() {
    let database = TestDatabase::create().await;
    let store = start(&database, None).await.unwrap().store();
    let key_file = database.data_path("master.key");
    let old = MasterKey::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    let contacts = create_contacts(&store, &Vault::new(old.duplicate_for_test())).await;

    let output = textline_keys_rotate(&database, None).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let new_key = MasterKey::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_ne!(new_key.id(), old.id());
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!database.data_path("master.key.next").exists());
    assert!(stdout(&output).contains("DESTROY EVERY COPY OF THE OLD KEY"));
    assert_all_open_under(&store, &new_key, &contacts).await;
}

#[tokio::test]
async fn keys_rotate_with_the_key_in_the_environment_finishes_only_when_given_the_new_key() {
    let app = spawn_app().await;
    let old = MasterKey::parse(&app.master_key).unwrap();
    let contacts = create_contacts(&app.store, &Vault::new(old.duplicate_for_test())).await;

    let first = textline_keys_rotate(&app.database, Some(&app.master_key)).await;
    let again = textline_keys_rotate(&app.database, Some(&app.master_key)).await;
    let new_encoded = printed_key(&first);
    let last = textline_keys_rotate(&app.database, Some(&new_encoded)).await;

    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        printed_key(&again),
        new_encoded,
        "the same rotation goes on"
    );
    assert!(last.status.success(), "{}", stderr(&last));
    assert!(app.store.rotating_master_key().await.unwrap().is_none());
    let new_key = MasterKey::parse(&new_encoded).unwrap();
    assert_eq!(
        app.store.current_master_key().await.unwrap().unwrap().id,
        new_key.id()
    );
    assert_all_open_under(&app.store, &new_key, &contacts).await;
}

#[tokio::test]
async fn keys_rotate_help_says_where_the_new_key_goes() {
    let output = tokio::process::Command::new(binary())
        .args(["keys", "rotate", "--help"])
        .output()
        .await
        .unwrap();

    assert!(output.status.success());
    let help = stdout(&output);
    assert!(help.contains(".next"), "{help}");
    assert!(help.contains("secret manager"), "{help}");
}

/// A contact created for a test: its alias and the number sealed in it.
type Created = (String, PhoneNumber);

trait DuplicateForTest {
    fn duplicate_for_test(&self) -> MasterKey;
}

impl DuplicateForTest for MasterKey {
    fn duplicate_for_test(&self) -> MasterKey {
        MasterKey::parse(&self.encode()).unwrap()
    }
}

fn number(n: usize) -> PhoneNumber {
    PhoneNumber::from_provider(&format!("+1415555{n:04}")).unwrap()
}

async fn start(database: &TestDatabase, key: Option<&str>) -> Result<Application, StartupError> {
    let mut environment = database.environment();
    if let Some(key) = key {
        environment.push(("TEXTLINE_MASTER_KEY".into(), key.into()));
    }
    let settings = load_settings(&database.data_path("textline.toml"), environment);
    Application::build(settings, Clock::system()).await
}

async fn create_contacts(store: &Store, vault: &Vault) -> Vec<Created> {
    let mut tx = store.begin().await.unwrap();
    let mut created = Vec::new();
    for n in 0..CONTACTS {
        let alias = format!("ROT{}-{:02}", n / 100, n % 100);
        let sealed = vault.seal_new_contact(&number(n));
        let id = tx.insert_contact(&alias, &sealed, "en", Clock::system().now());
        id.await.unwrap().expect("alias and number are new");
        created.push((alias, number(n)));
    }
    tx.commit().await.unwrap();
    created
}

/// Runs a rotation's remaining steps at once, as no other service needs time to follow.
async fn finish_now(rotation: &Rotation, store: &Store, clock: &Clock) -> MasterKey {
    let mut ignore = |_| {};
    rotation
        .rewrap_until_settled(store, clock, Duration::ZERO, &mut ignore)
        .await
        .unwrap();
    assert_eq!(
        rotation.finish(store, clock).await.unwrap(),
        FinishOutcome::Finished
    );
    MasterKey::parse(&expose(rotation)).unwrap()
}

fn expose(rotation: &Rotation) -> String {
    use secrecy::ExposeSecret;
    rotation.next_key_for_operator().expose_secret().to_owned()
}

/// Re-wraps some contacts by hand, as a run killed half way would have left them.
async fn rewrap_some(store: &Store, old: &MasterKey, new_key: &MasterKey, contacts: &[Created]) {
    let vault = Vault::rotating(new_key.duplicate_for_test(), old.duplicate_for_test());
    for (alias, _) in contacts {
        let record = store.find_contact_by_alias(alias).await.unwrap().unwrap();
        let wrapped = record.wrapped_key().unwrap();
        let sealed_number = record.sealed_number();
        let (rewrapped, index) = vault.rewrap(&wrapped, sealed_number.as_ref()).unwrap();
        let stored = store
            .store_rewrapped_contact(record.id, &old.id(), &rewrapped, index.as_ref())
            .await;
        assert!(stored.unwrap());
    }
}

/// Every contact's key is wrapped under `key`, opens its number, and is found by the
/// number's blind index under `key` alone.
async fn assert_all_open_under(store: &Store, key: &MasterKey, contacts: &[Created]) {
    let vault = Vault::new(key.duplicate_for_test());
    for (alias, number) in contacts {
        let record = store.find_contact_by_alias(alias).await.unwrap().unwrap();
        let wrapped = record.wrapped_key().unwrap();
        assert_eq!(wrapped.key_id, key.id());
        let opened = vault.contact_key(&wrapped).unwrap();
        let sealed_number = record.sealed_number().unwrap();
        assert_eq!(opened.open_number(&sealed_number).unwrap(), *number);

        let mut tx = store.begin().await.unwrap();
        let found = tx
            .find_contact_by_indexes(&vault.blind_indexes(number))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(found.map(|found| found.id), Some(record.id));
    }
}

async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "the service did not follow in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn textline_keys_rotate(database: &TestDatabase, key: Option<&str>) -> std::process::Output {
    let mut command = tokio::process::Command::new(binary());
    command
        .current_dir(database.data_dir.path())
        .env_clear()
        .envs(database.environment())
        .args(["keys", "rotate"]);
    if let Some(key) = key {
        command.env("TEXTLINE_MASTER_KEY", key);
    }
    command.output().await.unwrap()
}

fn printed_key(output: &std::process::Output) -> String {
    let text = stdout(output);
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix(NEW_KEY_LABEL))
        .unwrap_or_else(|| panic!("no new key printed: {text}"));
    line.trim().to_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
