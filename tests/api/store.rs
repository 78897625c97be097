//! The store suite: the same behaviour on whichever backend the run uses.

use textline::clock::Timestamp;
use textline::store::StoreError;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_second_account_with_the_same_email_is_a_conflict() {
    let app = spawn_app().await;
    let now = Timestamp(1);
    app.store
        .insert_user("a@example.org", "caseworker", "hash", now)
        .await
        .unwrap();

    let again = app
        .store
        .insert_user("a@example.org", "admin", "hash", now)
        .await;

    assert!(matches!(again, Err(StoreError::Conflict)));
}

#[tokio::test]
async fn a_replaced_setup_link_no_longer_works() {
    let app = spawn_app().await;
    let now = Timestamp(1_000);
    let later = Timestamp(10_000_000);
    app.store
        .replace_setup_link(b"first", now, later)
        .await
        .unwrap();
    app.store
        .replace_setup_link(b"second", now, later)
        .await
        .unwrap();

    let first = app
        .store
        .create_first_admin(b"first", "a@example.org", "hash", now)
        .await;
    let second = app
        .store
        .create_first_admin(b"second", "a@example.org", "hash", now)
        .await;

    assert_eq!(
        first.unwrap(),
        textline::store::FirstAdminOutcome::LinkNotValid
    );
    assert!(matches!(
        second.unwrap(),
        textline::store::FirstAdminOutcome::Created { .. }
    ));
}

#[tokio::test]
async fn tokens_are_found_by_hash_only_while_the_account_exists() {
    let app = spawn_app().await;
    let user = app
        .store
        .insert_user("b@example.org", "supervisor", "hash", Timestamp(1))
        .await;
    app.store
        .insert_api_token(user.unwrap(), b"token-hash", Timestamp(2))
        .await
        .unwrap();

    let found = app
        .store
        .find_caller_by_token(b"token-hash")
        .await
        .unwrap()
        .unwrap();
    let missing = app.store.find_caller_by_token(b"other-hash").await.unwrap();

    assert_eq!(found.role, "supervisor");
    assert!(missing.is_none());
}

#[tokio::test]
async fn the_recorded_master_key_is_the_one_the_service_started_with() {
    let app = spawn_app().await;
    let key = textline::privacy::MasterKey::parse(&app.master_key).unwrap();

    let recorded = app.store.current_master_key().await.unwrap().unwrap();

    assert_eq!(recorded.id, key.id());
    assert!(key.matches_check_value(&recorded.check_value));
}
