//! `textline keys rotate`: the operator's side of a master key rotation.
//!
//! The steps and their safety live in `privacy::rotate`; this module chooses where the new
//! key goes (a `.next` file beside the key file, or the operator's secret manager), shows
//! progress, and says what the operator must do afterwards.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use secrecy::ExposeSecret;

use crate::clock::Clock;
use crate::config::Settings;
use crate::privacy::master_key::KeyOrigin;
use crate::privacy::rotate::{self, Progress, Rotation};
use crate::privacy::rotation::FOLLOW_INTERVAL;
use crate::store::{FinishOutcome, Store};

/// The line that carries the new key on standard output; scripts and tests look for it.
pub const NEW_KEY_LABEL: &str = "new master key:";

/// Rotates the master key, or resumes a rotation that stopped half way.
pub async fn run(mut settings: Settings) -> anyhow::Result<()> {
    let (configured, origin) = settings.master_key.take().ok_or_else(|| {
        anyhow!("no master key configured: set TEXTLINE_MASTER_KEY or provide the key file")
    })?;
    std::fs::create_dir_all(&settings.data_dir).context("create the data directory")?;
    let store = Store::connect(&settings.database_url, settings.database_max_connections)
        .await
        .context("open the database")?;
    store.migrate().await.context("apply migrations")?;
    let clock = Clock::system();

    let rotation = rotate::begin(&store, &configured, &clock)
        .await
        .context("start the key rotation")?;
    announce(&rotation);
    let finished = match origin {
        KeyOrigin::Environment if !rotation.is_next_key(&configured) => {
            hand_over_new_key(&rotation);
            false
        }
        KeyOrigin::Environment => complete(&rotation, &store, &clock, None).await?,
        KeyOrigin::File(path) | KeyOrigin::Created(path) => {
            if !rotation.is_next_key(&configured) {
                let written = rotation.write_next_key_file(&path)?;
                eprintln!(
                    "new key written to {}; it replaces the key file at the end",
                    written.display()
                );
            }
            complete(&rotation, &store, &clock, Some(&path)).await?
        }
    };
    store.close().await;
    if finished {
        print_destroy_note(&rotation);
    }
    Ok(())
}

fn announce(rotation: &Rotation) {
    let verb = if rotation.resumed() {
        "resuming"
    } else {
        "starting"
    };
    eprintln!(
        "{verb} the rotation from master key {} to {}",
        rotation.previous_key_id(),
        rotation.next_key_id()
    );
}

/// With the key in the environment, the new key goes to the operator's secret manager; the
/// rotation goes on only when the command runs again with the new key, which proves it was
/// stored. Running services already follow the rotation meanwhile.
fn hand_over_new_key(rotation: &Rotation) {
    println!();
    println!("!! STORE THIS NEW MASTER KEY IN YOUR SECRET MANAGER NOW. It is shown here only.");
    println!(
        "{NEW_KEY_LABEL} {}",
        rotation.next_key_for_operator().expose_secret()
    );
    println!("!! Then set TEXTLINE_MASTER_KEY to it and run `textline keys rotate` again to");
    println!("!! finish. Until then services started with either key keep working.");
    println!();
}

/// Re-wraps everything under the new key, installs the key file, and retires the old key.
async fn complete(
    rotation: &Rotation,
    store: &Store,
    clock: &Clock,
    key_file: Option<&Path>,
) -> anyhow::Result<bool> {
    let settle = 2 * FOLLOW_INTERVAL;
    let mut show = |progress: Progress| {
        eprintln!(
            "re-wrapped {} data keys, {} to go",
            progress.rewrapped, progress.remaining
        );
    };
    loop {
        let rewrapped = rotation
            .rewrap_until_settled(store, clock, settle, &mut show)
            .await?;
        eprintln!("{rewrapped} data keys re-wrapped in this pass");
        if let Some(key_file) = key_file {
            rotation.install_next_key_file(key_file)?;
        }
        match rotation.finish(store, clock).await? {
            FinishOutcome::Finished => return Ok(true),
            FinishOutcome::Remaining(count) => {
                eprintln!("{count} data keys appeared under the old key; another pass")
            }
            FinishOutcome::NotRotating => bail!("the rotation was finished by another run"),
        }
    }
}

fn print_destroy_note(rotation: &Rotation) {
    println!(
        "master key rotated: {} is current, {} is retired",
        rotation.next_key_id(),
        rotation.previous_key_id()
    );
    println!();
    println!("!! DESTROY EVERY COPY OF THE OLD KEY NOW: old key files, secret manager entries,");
    println!("!! key backups. Database backups taken before this rotation open only with it;");
    println!("!! once it is gone, what texters erased before today can no longer be read from");
    println!("!! those backups either. Services still running with only the old key must be");
    println!("!! restarted with the new one.");
}
