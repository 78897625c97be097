//! Rotating the master key while the service runs: the steps behind `textline keys rotate`.
//!
//! [`begin`] records a new key beside the current one (or picks up a rotation that stopped
//! half way); [`Rotation::rewrap_until_settled`] re-wraps every data key under the new key
//! and recomputes each contact's blind index; [`Rotation::finish`] retires the old key in the
//! same transaction that proves nothing is wrapped under it any more. Every step can be
//! interrupted and run again: until the last one, either key opens everything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::MasterKey;
use super::master_key::write_key_file;
use super::rotation::{RotationError, open_rotation_keys};
use super::seal::{SealError, seal_master_key};
use super::vault::Vault;
use crate::audit::{Action, Actor, AuditEntry};
use crate::clock::{Clock, Timestamp};
use crate::store::{FinishOutcome, RotatingMasterKey, Store, StoreError};

/// How many data keys one transaction re-wraps.
pub const BATCH_SIZE: i64 = 500;

/// A rotation from one master key to the next, with both keys loaded.
pub struct Rotation {
    vault: Vault,
    previous_id: String,
    next_id: String,
    started_at: Timestamp,
    resumed: bool,
}

/// How far re-wrapping has come, for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub rewrapped: u64,
    pub remaining: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("no master key is recorded yet: start the service once before rotating")]
    NoKeyRecorded,
    #[error("master key {given_id} is not this database's current key ({current_id})")]
    WrongKey {
        given_id: String,
        current_id: String,
    },
    #[error(
        "master key {given_id} belongs to neither side of the running rotation from \
         {previous_id} to {next_id}"
    )]
    NotInRotation {
        given_id: String,
        previous_id: String,
        next_id: String,
    },
    #[error("another rotation started at the same time; run the command again to resume it")]
    AlreadyStarted,
    #[error("the rotation to {next_id} was finished or abandoned by another run")]
    NotRotating { next_id: String },
    #[error("the data key of {record} {id} does not open; re-wrapping stopped")]
    Damaged {
        record: &'static str,
        id: i64,
        #[source]
        source: SealError,
    },
    #[error("{} holds another key than this rotation's new key; move it away", path.display())]
    ForeignKeyFile { path: PathBuf },
    #[error("cannot write or install the new key file {}", path.display())]
    KeyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] RotationError),
    #[error("cannot read or write the key rotation records")]
    Store(#[from] StoreError),
}

/// Starts a rotation away from `configured`, which must be the current key; or resumes the
/// running one, when `configured` is either of its keys.
pub async fn begin(
    store: &Store,
    configured: &MasterKey,
    clock: &Clock,
) -> Result<Rotation, RotateError> {
    let current = store
        .current_master_key()
        .await?
        .ok_or(RotateError::NoKeyRecorded)?;
    if let Some(next) = store.rotating_master_key().await? {
        let held = [configured.duplicate()];
        let (previous, next_key) =
            open_rotation_keys(&held, &current, &next).map_err(|_| RotateError::NotInRotation {
                given_id: configured.id(),
                previous_id: current.id.clone(),
                next_id: next.id.clone(),
            })?;
        return Ok(Rotation::new(
            previous,
            next_key,
            Timestamp(next.created_at),
            true,
        ));
    }
    if !configured.matches_check_value(&current.check_value) {
        return Err(RotateError::WrongKey {
            given_id: configured.id(),
            current_id: current.id,
        });
    }

    let next = MasterKey::generate();
    let now = clock.now();
    let record = RotatingMasterKey {
        id: next.id(),
        check_value: next.check_value(),
        created_at: now.millis(),
        sealed_by_previous: seal_master_key(configured, &next),
        previous_sealed: seal_master_key(&next, configured),
    };
    match store.record_rotating_master_key(&record).await {
        Ok(()) => Ok(Rotation::new(configured.duplicate(), next, now, false)),
        Err(StoreError::Conflict) => Err(RotateError::AlreadyStarted),
        Err(error) => Err(error.into()),
    }
}

impl Rotation {
    pub fn previous_key_id(&self) -> &str {
        &self.previous_id
    }

    pub fn next_key_id(&self) -> &str {
        &self.next_id
    }

    /// Whether this run picked up a rotation an earlier run started.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Whether `key` is this rotation's new key.
    pub fn is_next_key(&self, key: &MasterKey) -> bool {
        key.id() == self.next_id
    }

    /// The new key, encoded, to hand to the operator once.
    pub fn next_key_for_operator(&self) -> SecretString {
        SecretString::from(self.next_key().encode())
    }

    /// Writes the new key beside the key file, as `<key file>.next` (mode 0600). A file
    /// already there from an interrupted run is kept if it holds the same key.
    pub fn write_next_key_file(&self, key_file: &Path) -> Result<PathBuf, RotateError> {
        let path = next_key_path(key_file);
        if let Some(existing) = read_key(&path)? {
            if existing.id() != self.next_id {
                return Err(RotateError::ForeignKeyFile { path });
            }
            return Ok(path);
        }
        write_key_file(&path, &self.next_key()).map_err(|source| RotateError::KeyFile {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Renames `<key file>.next` over the key file (atomically), then makes the rename
    /// durable. Nothing to do when an interrupted run already renamed it.
    pub fn install_next_key_file(&self, key_file: &Path) -> Result<(), RotateError> {
        let next_path = next_key_path(key_file);
        let file_error = |source| RotateError::KeyFile {
            path: key_file.to_owned(),
            source,
        };
        if !next_path.exists() {
            return match read_key(key_file)? {
                Some(installed) if installed.id() == self.next_id => Ok(()),
                _ => Err(file_error(std::io::ErrorKind::NotFound.into())),
            };
        }
        std::fs::rename(&next_path, key_file).map_err(file_error)?;
        sync_parent_directory(key_file).map_err(file_error)
    }

    /// Re-wraps every data key still under the old key, pass after pass, until a pass finds
    /// none and `settle` has passed since the rotation started (so that data keys a service
    /// wrapped under the old key just before it noticed the rotation are caught).
    pub async fn rewrap_until_settled(
        &self,
        store: &Store,
        clock: &Clock,
        settle: Duration,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<u64, RotateError> {
        let settled_at = self.started_at.plus(settle);
        let mut rewrapped = 0;
        loop {
            rewrapped += self.rewrap_pass(store, rewrapped, progress).await?;
            let now = clock.now();
            if now >= settled_at {
                return Ok(rewrapped);
            }
            let wait = u64::try_from(settled_at.millis() - now.millis()).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait).min(Duration::from_secs(1))).await;
        }
    }

    /// Retires the old key and makes the new one current, if no data key is left under the
    /// old one; records the rotation in the audit log in the same transaction.
    pub async fn finish(&self, store: &Store, clock: &Clock) -> Result<FinishOutcome, RotateError> {
        let entry = AuditEntry {
            actor: Actor::Operator,
            action: Action::KeysRotated,
            subject: format!("key:{}", self.next_id),
            reason: None,
        };
        let outcome = store
            .finish_rotation(&self.previous_id, &self.next_id, &entry, clock.now())
            .await?;
        if outcome == FinishOutcome::NotRotating {
            return Err(RotateError::NotRotating {
                next_id: self.next_id.clone(),
            });
        }
        Ok(outcome)
    }

    fn new(previous: MasterKey, next: MasterKey, started_at: Timestamp, resumed: bool) -> Self {
        Self {
            previous_id: previous.id(),
            next_id: next.id(),
            vault: Vault::rotating(next, previous),
            started_at,
            resumed,
        }
    }

    fn next_key(&self) -> MasterKey {
        self.vault
            .master_key(&self.next_id)
            .expect("a rotation's vault holds its new key")
    }

    /// One pass over contacts, then outbox texts; returns how many keys it re-wrapped.
    async fn rewrap_pass(
        &self,
        store: &Store,
        done_before: u64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<u64, RotateError> {
        let mut rewrapped = 0;
        loop {
            let batch = self.rewrap_contacts(store).await? + self.rewrap_outbox_keys(store).await?;
            if batch == 0 {
                return Ok(rewrapped);
            }
            rewrapped += batch;
            let remaining = store.count_keys_to_rewrap(&self.next_id).await?;
            progress(Progress {
                rewrapped: done_before + rewrapped,
                remaining,
            });
        }
    }

    /// Re-wraps one batch of contacts' data keys; the keys are opened before the write
    /// transaction begins, so it stays short.
    // TODO(#3): erased contacts keep the blind index of the key they were erased under, and
    // without their number it cannot be recomputed; after the rotation their suppression
    // record no longer matches the number, so a later campaign import could text it again.
    async fn rewrap_contacts(&self, store: &Store) -> Result<u64, RotateError> {
        let contacts = store.contacts_to_rewrap(&self.next_id, BATCH_SIZE).await?;
        let mut rewrapped = Vec::with_capacity(contacts.len());
        for contact in &contacts {
            let wrapped = contact.wrapped_key().ok_or(RotateError::Damaged {
                record: "contact",
                id: contact.id,
                source: SealError::Malformed,
            })?;
            let sealed_number = contact.sealed_number();
            let (new_key, index) = self
                .vault
                .rewrap(&wrapped, sealed_number.as_ref())
                .map_err(|source| RotateError::Damaged {
                    record: "contact",
                    id: contact.id,
                    source,
                })?;
            rewrapped.push((contact.id, wrapped.key_id, new_key, index));
        }

        let mut tx = store.begin().await?;
        for (id, previous_key_id, new_key, index) in &rewrapped {
            tx.store_rewrapped_contact(*id, previous_key_id, new_key, index.as_ref())
                .await?;
        }
        tx.commit().await?;
        Ok(rewrapped.len() as u64)
    }

    /// Re-wraps one batch of outbox texts' own data keys (last texts to erased contacts).
    async fn rewrap_outbox_keys(&self, store: &Store) -> Result<u64, RotateError> {
        let keys = store
            .outbox_keys_to_rewrap(&self.next_id, BATCH_SIZE)
            .await?;
        let mut rewrapped = Vec::with_capacity(keys.len());
        for key in &keys {
            let (new_key, _) =
                self.vault
                    .rewrap(&key.wrapped, None)
                    .map_err(|source| RotateError::Damaged {
                        record: "outbox text",
                        id: key.outbox_id,
                        source,
                    })?;
            rewrapped.push((key.outbox_id, &key.wrapped.key_id, new_key));
        }

        let mut tx = store.begin().await?;
        for (id, previous_key_id, new_key) in &rewrapped {
            tx.store_rewrapped_outbox_key(*id, previous_key_id, new_key)
                .await?;
        }
        tx.commit().await?;
        Ok(rewrapped.len() as u64)
    }
}

/// Where a rotation puts the new key until it is installed: `<key file>.next`.
pub fn next_key_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

fn read_key(path: &Path) -> Result<Option<MasterKey>, RotateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RotateError::KeyFile {
                path: path.to_owned(),
                source,
            });
        }
    };
    MasterKey::parse(&text)
        .map(Some)
        .map_err(|_| RotateError::ForeignKeyFile {
            path: path.to_owned(),
        })
}

fn sync_parent_directory(path: &Path) -> std::io::Result<()> {
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(parent)?.sync_all()
}
