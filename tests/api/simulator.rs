//! The whole loop on the simulator channel: a pretend texter's text becomes a ticket and
//! the automatic reply reaches the simulated phone.

use textline::staff::Role;

use crate::helpers::spawn_app;

const TEXTER: &str = "+14155550123";

#[tokio::test]
async fn a_first_text_opens_a_ticket_and_the_greeting_reaches_the_phone() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;

    let accepted = app
        .text_from(&token, TEXTER, "hello, is someone there?")
        .await;

    assert_eq!(accepted["outcome"], "stored");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE status = 'new'")
            .await,
        1
    );
    let replies = app.simulated_replies(&token, 1).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["to"], TEXTER);
    assert!(
        replies[0]["body"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("stop")
    );
    assert_eq!(
        app.eventually(
            "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND purpose = 'first_contact'",
            1
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_second_text_threads_into_the_same_ticket_without_a_second_greeting() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;

    let first = app.text_from(&token, TEXTER, "hello").await;
    let second = app
        .text_from(&token, "+1 (415) 555-0123", "are you there")
        .await;

    assert_eq!(first["ticket_id"], second["ticket_id"]);
    assert_eq!(first["alias"], second["alias"]);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM tickets").await, 1);
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'")
            .await,
        2
    );
    assert_eq!(app.scalar("SELECT unanswered_count FROM tickets").await, 2);
    assert_eq!(app.simulated_replies(&token, 2).await.len(), 1);
}

#[tokio::test]
async fn stop_in_each_language_opts_out_and_confirms_once() {
    for (number, word) in [
        ("+14155550101", "STOP"),
        ("+14155550102", "arrêt"),
        ("+14155550103", "Parar!"),
    ] {
        let app = spawn_app().await;
        let token = app.token_for(Role::Caseworker).await;
        app.text_from(&token, number, "hello").await;
        assert_eq!(
            app.simulated_replies(&token, 1).await.len(),
            1,
            "the greeting went out"
        );

        app.text_from(&token, number, word).await;

        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM contacts WHERE opted_out_at IS NOT NULL")
                .await,
            1,
            "{word}"
        );
        assert_eq!(
            app.scalar("SELECT COUNT(*) FROM ticket_events WHERE kind = 'keyword.stop'")
                .await,
            1
        );
        assert_eq!(
            app.simulated_replies(&token, 2).await.len(),
            2,
            "greeting and one confirmation"
        );
    }
}

#[tokio::test]
async fn erase_destroys_the_texters_data_and_sends_one_last_text() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    app.text_from(&token, TEXTER, "they took my passport").await;
    assert_eq!(
        app.simulated_replies(&token, 1).await.len(),
        1,
        "the greeting went out"
    );

    let erased = app.text_from(&token, TEXTER, "ERASE").await;

    assert_eq!(erased["outcome"], "erased");
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contacts WHERE wrapped_data_key IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contacts WHERE sealed_number IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM messages WHERE sealed_body IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE status <> 'closed'")
            .await,
        0
    );
    let replies = app.simulated_replies(&token, 2).await;
    assert_eq!(replies.len(), 2);
    assert_eq!(
        app.eventually(
            "SELECT COUNT(*) FROM outbox WHERE own_wrapped_key IS NOT NULL",
            0
        )
        .await,
        0
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM contacts WHERE opted_out_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn urgent_words_rank_a_ticket_urgent() {
    let app = spawn_app().await;
    let token = app.token_for(Role::Caseworker).await;
    let catalog = textline::catalog::Catalog::load_embedded().unwrap();
    let phrase = catalog
        .risk_phrases(textline::catalog::Language::En)
        .unwrap()
        .get(textline::catalog::RiskCategory::ImmediateDanger)[0]
        .clone();

    app.text_from(&token, "+14155550111", "hi").await;
    app.text_from(&token, "+14155550112", &format!("please {phrase}"))
        .await;

    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE priority = 'urgent'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("SELECT COUNT(*) FROM tickets WHERE priority = 'normal'")
            .await,
        1
    );
}
