//! Following a master key rotation from a running service.
//!
//! `textline keys rotate` records the new key in the database, sealed under the current key
//! (and the current key sealed under the new one). Every few seconds each service compares
//! the database with its vault: while a rotation runs it wraps new data keys under the new
//! key and finds contacts under both blind indexes; once the rotation is over it forgets the
//! old key. A service started with either key of an unfinished rotation learns the other.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::MasterKey;
use super::seal::{SealError, open_master_key};
use super::vault::Vault;
use crate::store::{RotatingMasterKey, Store, StoreError, StoredMasterKey};

/// How often a service looks for a rotation. The rotation command waits for two of these
/// after recording the new key, so that every service has switched before it finishes.
pub const FOLLOW_INTERVAL: Duration = Duration::from_secs(2);

/// Why a service cannot follow the recorded keys.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("cannot read the master key records")]
    Store(#[from] StoreError),
    #[error(
        "master key {current_id} is now current but this service does not hold it; \
         restart it with the current key"
    )]
    CurrentKeyUnknown { current_id: String },
    #[error("neither key of the rotation from {previous_id} to {next_id} is held here")]
    RotationKeysUnknown {
        previous_id: String,
        next_id: String,
    },
    #[error("the sealed copy of master key {key_id} does not open")]
    SealedKey {
        key_id: String,
        #[source]
        source: SealError,
    },
}

/// What one check changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    Unchanged,
    /// The vault now wraps under the new key and still opens under the old one.
    Started {
        previous_id: String,
        next_id: String,
    },
    /// The vault holds the current key only.
    Finished {
        current_id: String,
    },
}

/// The task that follows rotations until the service stops.
pub struct RotationFollower {
    vault: Arc<Vault>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// Brings `vault` in line with the keys recorded in the database.
pub async fn follow_rotation(store: &Store, vault: &Vault) -> Result<Followed, RotationError> {
    let Some(current) = store.current_master_key().await? else {
        return Ok(Followed::Unchanged);
    };
    match store.rotating_master_key().await? {
        Some(next) => start_following(vault, &current, &next),
        None => end_following(vault, &current),
    }
}

/// Checks for a rotation every [`FOLLOW_INTERVAL`] until stopped.
pub fn spawn_follower(store: Store, vault: Arc<Vault>) -> RotationFollower {
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(follow_until_stopped(store, vault.clone(), stopped));
    RotationFollower { vault, stop, task }
}

impl RotationFollower {
    /// The vault this follower keeps in line with the database.
    pub fn vault(&self) -> Arc<Vault> {
        self.vault.clone()
    }

    /// Stops the checks and waits for the one running, if any, to end.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Both keys of a recorded rotation, opened from whichever of them `held` contains.
/// Returns `(previous, next)`.
pub(crate) fn open_rotation_keys(
    held: &[MasterKey],
    current: &StoredMasterKey,
    next: &RotatingMasterKey,
) -> Result<(MasterKey, MasterKey), RotationError> {
    let find = |id: &str, check_value: &[u8]| {
        held.iter()
            .find(|key| key.id() == id && key.matches_check_value(check_value))
            .map(MasterKey::duplicate)
    };
    let held_previous = find(&current.id, &current.check_value);
    let held_next = find(&next.id, &next.check_value);

    let previous = match (held_previous, &held_next) {
        (Some(previous), _) => previous,
        (None, Some(carrier)) => open_sealed(carrier, &current.id, &next.previous_sealed)?,
        (None, None) => {
            return Err(RotationError::RotationKeysUnknown {
                previous_id: current.id.clone(),
                next_id: next.id.clone(),
            });
        }
    };
    let next_key = match held_next {
        Some(next_key) => next_key,
        None => open_sealed(&previous, &next.id, &next.sealed_by_previous)?,
    };
    Ok((previous, next_key))
}

fn start_following(
    vault: &Vault,
    current: &StoredMasterKey,
    next: &RotatingMasterKey,
) -> Result<Followed, RotationError> {
    let already = vault.current_key_id() == next.id
        && vault.previous_key_id().as_deref() == Some(current.id.as_str());
    if already {
        return Ok(Followed::Unchanged);
    }
    let held: Vec<MasterKey> = [vault.master_key(&current.id), vault.master_key(&next.id)]
        .into_iter()
        .flatten()
        .collect();
    let (previous, next_key) = open_rotation_keys(&held, current, next)?;
    vault.start_rotation(next_key, previous);
    Ok(Followed::Started {
        previous_id: current.id.clone(),
        next_id: next.id.clone(),
    })
}

fn end_following(vault: &Vault, current: &StoredMasterKey) -> Result<Followed, RotationError> {
    if vault.current_key_id() == current.id && vault.previous_key_id().is_none() {
        return Ok(Followed::Unchanged);
    }
    let key = vault
        .master_key(&current.id)
        .ok_or_else(|| RotationError::CurrentKeyUnknown {
            current_id: current.id.clone(),
        })?;
    vault.end_rotation(key);
    Ok(Followed::Finished {
        current_id: current.id.clone(),
    })
}

fn open_sealed(
    carrier: &MasterKey,
    key_id: &str,
    sealed: &[u8],
) -> Result<MasterKey, RotationError> {
    open_master_key(carrier, key_id, sealed).map_err(|source| RotationError::SealedKey {
        key_id: key_id.to_owned(),
        source,
    })
}

async fn follow_until_stopped(store: Store, vault: Arc<Vault>, mut stopped: oneshot::Receiver<()>) {
    let mut ticks = tokio::time::interval(FOLLOW_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = ticks.tick() => {}
        }
        let outcome = follow_rotation(&store, &vault).await;
        failing = report(outcome, failing);
    }
}

/// Logs what changed; a failure is logged as an error once, then at debug until it clears.
fn report(outcome: Result<Followed, RotationError>, failing: bool) -> bool {
    match outcome {
        Ok(Followed::Unchanged) => {}
        Ok(Followed::Started {
            previous_id,
            next_id,
        }) => tracing::info!(
            key.previous = %previous_id,
            key.next = %next_id,
            "master key rotation started: wrapping new data keys under the new key"
        ),
        Ok(Followed::Finished { current_id }) => tracing::info!(
            key.current = %current_id,
            "master key rotation finished: the previous key is forgotten"
        ),
        Err(error) => {
            if failing {
                tracing::debug!(error = %error, "still cannot follow the master key rotation");
            } else {
                tracing::error!(error = %error, "cannot follow the master key rotation");
            }
            return true;
        }
    }
    false
}
