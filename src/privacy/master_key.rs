//! Finding the master key at start, and refusing to run with the wrong one.
//!
//! The database records the id and check value of the key its data was written with.
//! A new key is made only for a database that has none recorded; with existing data, a
//! missing or different key stops the service instead of sealing new data under a key
//! the old data does not open with. While a key rotation runs, its new key is accepted
//! too; once it finishes, the old key is refused as retired.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::MasterKey;
use crate::clock::Clock;
use crate::store::{Store, StoreError, StoredMasterKey};

/// Where the master key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    Environment,
    File(PathBuf),
    /// Made at this start and written to this file, which must now be backed up.
    Created(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "master key missing: the database holds data sealed with key {stored_id}; set \
         TEXTLINE_MASTER_KEY or restore {}; refusing to make a new key over existing data",
        key_file.display()
    )]
    Missing {
        stored_id: String,
        key_file: PathBuf,
    },
    #[error(
        "master key {given_id} is not the key this database was written with ({stored_id}); \
         refusing to start"
    )]
    Wrong { given_id: String, stored_id: String },
    #[error(
        "master key {given_id} was retired by a key rotation; start with the current key \
         ({stored_id}) and destroy every copy of the old one"
    )]
    Retired { given_id: String, stored_id: String },
    #[error("cannot write the new key file {}: {source}", path.display())]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the recorded master key")]
    Store(#[from] StoreError),
}

/// Returns the master key to run with: the configured one if it matches the database, or
/// a new one written to `key_file` (mode 0600) when the database has never had one.
pub async fn establish(
    configured: Option<(MasterKey, KeyOrigin)>,
    key_file: &Path,
    store: &Store,
    clock: &Clock,
) -> Result<(MasterKey, KeyOrigin), KeyError> {
    let recorded = store.current_master_key().await?;
    match (configured, recorded) {
        (Some((key, origin)), Some(recorded)) => {
            check_configured_key(&key, recorded, store).await?;
            Ok((key, origin))
        }
        (Some((key, origin)), None) => {
            store
                .record_master_key(&key.id(), &key.check_value(), clock.now())
                .await?;
            Ok((key, origin))
        }
        (None, Some(recorded)) => Err(KeyError::Missing {
            stored_id: recorded.id,
            key_file: key_file.to_owned(),
        }),
        (None, None) => {
            let key = MasterKey::generate();
            write_key_file(key_file, &key).map_err(|source| KeyError::WriteFile {
                path: key_file.to_owned(),
                source,
            })?;
            store
                .record_master_key(&key.id(), &key.check_value(), clock.now())
                .await?;
            Ok((key, KeyOrigin::Created(key_file.to_owned())))
        }
    }
}

/// Accepts the recorded current key and, while a rotation runs, its new key too: the
/// service learns the other one from the database (`privacy::rotation`).
async fn check_configured_key(
    key: &MasterKey,
    recorded: StoredMasterKey,
    store: &Store,
) -> Result<(), KeyError> {
    if key.matches_check_value(&recorded.check_value) {
        return Ok(());
    }
    let rotating = store.rotating_master_key().await?;
    if rotating.is_some_and(|next| key.matches_check_value(&next.check_value)) {
        return Ok(());
    }
    let given_id = key.id();
    if store.is_retired_master_key(&given_id).await? {
        return Err(KeyError::Retired {
            given_id,
            stored_id: recorded.id,
        });
    }
    Err(KeyError::Wrong {
        given_id,
        stored_id: recorded.id,
    })
}

/// Writes the key readable by its owner only. Never overwrites: an existing file means a
/// key that someone may still need.
pub(crate) fn write_key_file(path: &Path, key: &MasterKey) -> std::io::Result<()> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", key.encode())?;
    file.sync_all()
}
