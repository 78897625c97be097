use std::time::Duration;

use textline::privacy::MasterKey;
use textline::staff::Role;

use crate::helpers::{TestApp, TestDatabase, spawn_app, spawn_app_on};

fn setup_code(app: &TestApp) -> String {
    let link = app
        .setup_link
        .as_deref()
        .expect("a new deployment prints a setup link");
    let (base, code) = link
        .split_once("#code=")
        .expect("the code travels in the fragment");
    assert!(base.ends_with("/setup"));
    code.to_owned()
}

async fn post_setup(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url("/setup"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

fn admin_form<'a>(code: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("code", code),
        ("email", email),
        ("password", "a long admin passphrase"),
        ("password_again", "a long admin passphrase"),
    ]
}

#[tokio::test]
async fn the_setup_page_is_a_form_with_labels_and_no_inline_script() {
    let app = spawn_app().await;

    let response = app.get("/setup").await;

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains(r#"<label for="email">"#));
    assert!(html.contains(r#"<script src="/static/setup.js"></script>"#));
    assert!(!html.contains("<script>"));
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let code = setup_code(&app);

    let first = post_setup(&app, &admin_form(&code, "Lead@Example.org")).await;
    let second = post_setup(&app, &admin_form(&code, "other@example.org")).await;

    assert_eq!(first.status(), 201);
    assert_eq!(second.status(), 403);
    assert_eq!(app.store.count_users().await.unwrap(), 1);
    let admin = app
        .store
        .find_user_by_email("lead@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, Role::Admin.as_str());
}

#[tokio::test]
async fn an_expired_setup_link_is_refused() {
    let app = spawn_app().await;
    let code = setup_code(&app);
    app.clock.advance(Duration::from_secs(61 * 60));

    let response = post_setup(&app, &admin_form(&code, "lead@example.org")).await;

    assert_eq!(response.status(), 403);
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn a_wrong_setup_code_is_refused() {
    let app = spawn_app().await;

    let response = post_setup(&app, &admin_form("not-the-code", "lead@example.org")).await;

    assert_eq!(response.status(), 403);
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn no_setup_link_is_printed_once_an_account_exists() {
    let key = MasterKey::generate().encode();
    let first = spawn_app_on(TestDatabase::create().await, key.clone(), &[]).await;
    first.token_for(Role::Caseworker).await;
    let database = first.database;

    let again = spawn_app_on(database, key, &[]).await;

    assert!(again.setup_link.is_none());
}

#[tokio::test]
async fn a_hostile_email_is_shown_back_escaped() {
    let app = spawn_app().await;
    let code = setup_code(&app);
    let hostile = r#""><img src=x onerror=alert(1)>"#;

    let response = post_setup(&app, &admin_form(&code, hostile)).await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<img src=x"));
    assert!(
        html.contains("&#34;&#62;&#60;img") || html.contains("&quot;&gt;&lt;img"),
        "{html}"
    );
}

#[tokio::test]
async fn different_passwords_and_short_passwords_are_refused() {
    let app = spawn_app().await;
    let code = setup_code(&app);
    let mut differing = admin_form(&code, "lead@example.org");
    differing[3] = ("password_again", "another long passphrase");
    let short = [
        ("code", code.as_str()),
        ("email", "lead@example.org"),
        ("password", "short"),
        ("password_again", "short"),
    ];

    assert_eq!(post_setup(&app, &differing).await.status(), 422);
    assert_eq!(post_setup(&app, &short).await.status(), 422);
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}
