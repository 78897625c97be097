//! The ticket queue API, driven by texts from the phone simulator.

use serde_json::{Value, json};
use textline::staff::Role;

use crate::helpers::{TestApp, spawn_app};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn urgent_phrase() -> String {
    let catalog = textline::catalog::Catalog::load_embedded().unwrap();
    let phrases = catalog
        .risk_phrases(textline::catalog::Language::En)
        .unwrap();
    phrases.get(textline::catalog::RiskCategory::ImmediateDanger)[0].clone()
}

#[tokio::test]
async fn the_queue_puts_the_most_urgent_first_and_shows_aliases_not_numbers() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    app.text_from(&token, "+14155550101", "hello").await;
    app.text_from(
        &token,
        "+14155550102",
        &format!("please, {}", urgent_phrase()),
    )
    .await;

    let queue: Value = app
        .get_with_token("/api/v1/tickets", &token)
        .await
        .json()
        .await
        .unwrap();

    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["priority"], "urgent");
    assert!(items[0]["alias"].as_str().unwrap().contains('-'));
    let text = queue.to_string();
    assert!(!text.contains("4155550101") && !text.contains("4155550102"));
}

#[tokio::test]
async fn take_the_next_one_gives_each_caseworker_a_different_ticket() {
    let app = spawn_app().await;
    let first = app.token_for(Role::Caseworker).await;
    let second = app.token_for(Role::Caseworker).await;
    app.text_from(&first, "+14155550101", "hello").await;
    app.text_from(&first, "+14155550102", &urgent_phrase())
        .await;

    let taken_first: Value = post(&app, &first, "/api/v1/tickets/next", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let taken_second: Value = post(&app, &second, "/api/v1/tickets/next", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let none_left = post(&app, &second, "/api/v1/tickets/next", json!({})).await;

    assert_ne!(taken_first["id"], taken_second["id"]);
    let urgent_id = app
        .scalar("SELECT id FROM tickets WHERE priority = 'urgent'")
        .await;
    assert_eq!(taken_first["id"], urgent_id);
    assert_eq!(none_left.status(), 204);
}

#[tokio::test]
async fn a_reply_is_queued_with_its_segments_and_reaches_the_texter() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let texted = app.text_from(&token, "+14155550101", "hello").await;
    let ticket = texted["ticket_id"].as_i64().unwrap();

    let response = post(
        &app,
        &token,
        &format!("/api/v1/tickets/{ticket}/messages"),
        json!({ "body": "We are here. Are you safe now?" }),
    )
    .await;

    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    assert_eq!(queued["segments"], 1);
    assert_eq!(queued["encoding"], "GSM-7");
    let replies = app.simulated_replies(&token, 2).await;
    assert!(
        replies
            .iter()
            .any(|reply| reply["body"] == "We are here. Are you safe now?")
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE status = 'waiting'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.reply_sent'")
            .await,
        1
    );
}

#[tokio::test]
async fn bad_replies_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let ticket = app.text_from(&token, "+14155550101", "hello").await["ticket_id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/tickets/{ticket}/messages");
    let outbox_before = app.scalar("SELECT COUNT(*) FROM outbox").await;

    let empty = post(&app, &token, &path, json!({ "body": "   " })).await;
    let too_long = post(&app, &token, &path, json!({ "body": "ш".repeat(500) })).await;
    let unknown = post(
        &app,
        &token,
        "/api/v1/tickets/999999/messages",
        json!({ "body": "hi" }),
    )
    .await;

    assert_eq!(empty.status(), 422);
    assert_eq!(too_long.status(), 422);
    let message = too_long.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("segments") && message.contains("UCS-2"),
        "{message}"
    );
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM outbox").await,
        outbox_before
    );
}

#[tokio::test]
async fn a_closed_ticket_refuses_replies_with_409() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let ticket = app.text_from(&token, "+14155550101", "hello").await["ticket_id"]
        .as_i64()
        .unwrap();

    let closed = post(
        &app,
        &token,
        &format!("/api/v1/tickets/{ticket}/close"),
        json!({}),
    )
    .await;
    let reply = post(
        &app,
        &token,
        &format!("/api/v1/tickets/{ticket}/messages"),
        json!({ "body": "hi" }),
    )
    .await;

    assert_eq!(closed.status(), 200);
    assert_eq!(reply.status(), 409);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.closed'")
            .await,
        1
    );
}

#[tokio::test]
async fn another_caseworkers_ticket_is_403_but_a_supervisor_may_act() {
    let app = spawn_app().await;
    let owner = app.token_for(Role::Caseworker).await;
    let other = app.token_for(Role::Caseworker).await;
    let supervisor = app.token_for(Role::Supervisor).await;
    let ticket = app.text_from(&owner, "+14155550101", "hello").await["ticket_id"]
        .as_i64()
        .unwrap();
    post(&app, &owner, "/api/v1/tickets/next", json!({})).await;

    let other_view = app
        .get_with_token(&format!("/api/v1/tickets/{ticket}"), &other)
        .await;
    let other_note = post(
        &app,
        &other,
        &format!("/api/v1/tickets/{ticket}/notes"),
        json!({ "body": "x" }),
    )
    .await;
    let supervisor_view = app
        .get_with_token(&format!("/api/v1/tickets/{ticket}"), &supervisor)
        .await;

    assert_eq!(other_view.status(), 403);
    assert_eq!(other_note.status(), 403);
    assert_eq!(supervisor_view.status(), 200);
}

#[tokio::test]
async fn a_conversation_shows_texts_notes_and_keyword_events_and_its_view_is_audited() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let ticket = app
        .text_from(&token, "+14155550101", "<img src=x onerror=alert(1)>")
        .await["ticket_id"]
        .as_i64()
        .unwrap();
    app.text_from(&token, "+14155550101", "HELP").await;
    let note = post(
        &app,
        &token,
        &format!("/api/v1/tickets/{ticket}/notes"),
        json!({ "body": "sounds scared" }),
    )
    .await;

    let conversation: Value = app
        .get_with_token(&format!("/api/v1/tickets/{ticket}"), &token)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(note.status(), 201);
    assert_eq!(
        conversation["messages"][0]["body"],
        "<img src=x onerror=alert(1)>"
    );
    assert_eq!(conversation["notes"][0]["body"], "sounds scared");
    assert!(
        conversation["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["kind"] == "keyword.help")
    );
    assert!(!conversation.to_string().contains("4155550101"));
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.viewed'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.note_added'")
            .await,
        1
    );
}

#[tokio::test]
async fn every_ticket_route_needs_a_token() {
    let app = spawn_app().await;

    for (method, path) in [
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/tickets/1"),
        ("POST", "/api/v1/tickets/1/messages"),
        ("POST", "/api/v1/tickets/1/notes"),
        ("POST", "/api/v1/tickets/1/assign"),
        ("POST", "/api/v1/tickets/next"),
        ("POST", "/api/v1/tickets/1/close"),
    ] {
        let request = match method {
            "GET" => app.client.get(app.url(path)),
            _ => app
                .client
                .post(app.url(path))
                .json(&json!({ "body": "x", "user_id": 1 })),
        };

        assert_eq!(
            request.send().await.unwrap().status(),
            401,
            "{method} {path}"
        );
    }
}
