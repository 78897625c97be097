//! Measures a master key rotation over many contacts, on a fresh SQLite database (or on
//! PostgreSQL when `TEXTLINE_DATABASE_URL` names one).
//!
//! `cargo run --example rotate_bench [CONTACTS]` (100,000 by default). Prints the time to
//! insert the contacts, which is the same machine's ceiling for writing them, beside the
//! time to rotate them.

use std::time::{Duration, Instant};

use textline::clock::Clock;
use textline::config::DatabaseUrl;
use textline::privacy::MasterKey;
use textline::privacy::phone::PhoneNumber;
use textline::privacy::rotate;
use textline::privacy::vault::Vault;
use textline::store::{FinishOutcome, Store};

const INSERT_BATCH: usize = 1_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 100_000,
    };
    let directory = tempfile::tempdir()?;
    let url = std::env::var("TEXTLINE_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", directory.path().join("bench.db").display()));
    let store = Store::connect(&DatabaseUrl::parse(&url)?, 4).await?;
    store.migrate().await?;
    let clock = Clock::system();
    let old = MasterKey::generate();
    store
        .record_master_key(&old.id(), &old.check_value(), clock.now())
        .await?;

    let inserting = Instant::now();
    insert_contacts(
        &store,
        &Vault::new(MasterKey::parse(&old.encode())?),
        count,
        &clock,
    )
    .await?;
    let inserted = inserting.elapsed();

    let rotating = Instant::now();
    let rotation = rotate::begin(&store, &old, &clock).await?;
    let mut ignore = |_| {};
    let rewrapped = rotation
        .rewrap_until_settled(&store, &clock, Duration::ZERO, &mut ignore)
        .await?;
    let outcome = rotation.finish(&store, &clock).await?;
    let rotated = rotating.elapsed();

    anyhow::ensure!(
        outcome == FinishOutcome::Finished,
        "rotation did not finish"
    );
    println!("backend:  {}", store.backend_name());
    println!(
        "inserted: {count} contacts in {:.1} s",
        inserted.as_secs_f64()
    );
    println!(
        "rotated:  {rewrapped} data keys in {:.1} s",
        rotated.as_secs_f64()
    );
    Ok(())
}

async fn insert_contacts(
    store: &Store,
    vault: &Vault,
    count: usize,
    clock: &Clock,
) -> anyhow::Result<()> {
    for start in (0..count).step_by(INSERT_BATCH) {
        let mut tx = store.begin().await?;
        for n in start..(start + INSERT_BATCH).min(count) {
            let number = PhoneNumber::from_provider(&format!("+1415{n:07}"))?;
            let alias = format!("B{:03}-{:02}", n / 100, n % 100);
            let sealed = vault.seal_new_contact(&number);
            tx.insert_contact(&alias, &sealed, "en", clock.now())
                .await?
                .ok_or_else(|| anyhow::anyhow!("contact {n} already exists"))?;
        }
        tx.commit().await?;
    }
    Ok(())
}
