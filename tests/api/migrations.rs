//! Both backends carry the same migrations and end up with the same schema.

use std::collections::BTreeSet;

use sqlx::Connection;

use crate::helpers::{TestDatabase, postgres_base_url, spawn_app_on};

#[test]
fn both_backends_have_the_same_migration_files() {
    let names = |backend: &str| -> BTreeSet<String> {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };

    assert_eq!(names("sqlite"), names("postgres"));
    assert!(!names("sqlite").is_empty());
}

#[tokio::test]
async fn both_backends_end_up_with_the_same_tables_and_columns() {
    if postgres_base_url().is_none() {
        return;
    }
    let key = textline::privacy::MasterKey::generate().encode();
    let postgres = spawn_app_on(TestDatabase::create().await, key.clone(), &[]).await;
    let sqlite_dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("parity.db").display());
    let sqlite_store = textline::store::Store::connect(
        &textline::config::DatabaseUrl::parse(&sqlite_url).unwrap(),
        1,
    )
    .await
    .unwrap();
    sqlite_store.migrate().await.unwrap();

    let mut sqlite = sqlx::SqliteConnection::connect(&sqlite_url).await.unwrap();
    let sqlite_columns: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut sqlite)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let mut pg = sqlx::PgConnection::connect(&postgres.database.url)
        .await
        .unwrap();
    let postgres_columns: BTreeSet<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut pg)
    .await
    .unwrap()
    .into_iter()
    .collect();

    assert_eq!(sqlite_columns, postgres_columns);
}
