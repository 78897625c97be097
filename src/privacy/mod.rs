//! Privacy core: the only module that holds keys or sees personal data in clear.
//!
//! See `ARCHITECTURE.md` for the invariants this module keeps.

pub mod alias;
pub mod blind_index;
pub mod keys;
pub mod master_key;
pub mod phone;
pub mod redact;
pub mod rotate;
pub mod rotation;
pub mod seal;
pub mod vault;

pub use keys::{KeyPurpose, MasterKey, MasterKeyError};
pub use redact::{EmailAddress, InvalidEmail, MessageBody};
