//! The audit chain detects edited and deleted entries, and survives expiry.

use textline::audit::{self, Action, Actor, AuditEntry, ChainBreak, VerifyError};
use textline::clock::Timestamp;

use crate::helpers::{TestApp, spawn_app};

fn entry(subject: &str) -> AuditEntry {
    AuditEntry {
        actor: Actor::Staff(1),
        action: Action::ConversationViewed,
        subject: subject.to_owned(),
        reason: None,
    }
}

async fn append_five(app: &TestApp) {
    for n in 1..=5 {
        app.store
            .append_audit(&entry(&format!("ticket:{n}")), Timestamp(n * 1_000))
            .await
            .unwrap();
    }
}

fn broken(result: Result<audit::ChainReport, VerifyError>) -> ChainBreak {
    match result {
        Err(VerifyError::Broken(chain_break)) => chain_break,
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[tokio::test]
async fn an_untouched_chain_verifies() {
    let app = spawn_app().await;
    append_five(&app).await;

    let report = audit::verify(&app.store).await.unwrap();

    assert_eq!((report.entries, report.first_id, report.last_id), (5, 1, 5));
}

#[tokio::test]
async fn an_edited_entry_is_detected() {
    let app = spawn_app().await;
    append_five(&app).await;
    app.execute("UPDATE audit_log SET subject = 'ticket:99' WHERE id = 3")
        .await;

    assert_eq!(
        broken(audit::verify(&app.store).await),
        ChainBreak::Edited { id: 3 }
    );
}

#[tokio::test]
async fn a_deleted_entry_is_detected() {
    let app = spawn_app().await;
    append_five(&app).await;
    app.execute("DELETE FROM audit_log WHERE id = 2").await;

    assert_eq!(
        broken(audit::verify(&app.store).await),
        ChainBreak::Missing { after: 1, found: 3 }
    );
}

#[tokio::test]
async fn a_deleted_newest_entry_is_detected() {
    let app = spawn_app().await;
    append_five(&app).await;
    app.execute("DELETE FROM audit_log WHERE id = 5").await;

    assert_eq!(
        broken(audit::verify(&app.store).await),
        ChainBreak::Truncated {
            found: 4,
            expected: 5
        }
    );
}

#[tokio::test]
async fn expiry_removes_only_the_oldest_entries_and_the_rest_still_verifies() {
    let app = spawn_app().await;
    append_five(&app).await;

    let expired = app.store.expire_audit(Timestamp(3_500)).await.unwrap();

    assert_eq!(expired, 3);
    let report = audit::verify(&app.store).await.unwrap();
    assert_eq!((report.entries, report.first_id, report.last_id), (2, 4, 5));
}

#[tokio::test]
async fn concurrent_appends_keep_one_unbroken_chain() {
    let app = spawn_app().await;

    let appends = (0..20).map(|n| {
        let store = app.store.clone();
        async move {
            store
                .append_audit(&entry(&format!("ticket:{n}")), Timestamp(n))
                .await
        }
    });
    for result in futures_util::future::join_all(appends).await {
        result.unwrap();
    }

    assert_eq!(audit::verify(&app.store).await.unwrap().entries, 20);
}
