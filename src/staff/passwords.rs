//! Password hashing with Argon2id, always off the async executor.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

/// Shortest password accepted. Long passphrases beat complexity rules.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Longest password accepted, so hashing cost stays bounded.
pub const MAX_PASSWORD_CHARS: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password must have at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("password hashing failed")]
    Hashing,
}

/// Checks the password policy before any hashing work.
pub fn check_password_policy(password: &SecretString) -> Result<(), PasswordError> {
    let chars = password.expose_secret().chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a password into a PHC string on a blocking thread.
pub async fn hash_password(password: SecretString) -> Result<String, PasswordError> {
    check_password_policy(&password)?;
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|_| PasswordError::Hashing)
    })
    .await
    .map_err(|_| PasswordError::Hashing)?
}

/// Whether `password` matches `stored_hash`, checked on a blocking thread. A malformed
/// stored hash is a mismatch, never a panic.
pub async fn verify_password(password: SecretString, stored_hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hashed_password_verifies_and_another_does_not() {
        let hash = hash_password(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(SecretString::from("correct horse battery"), hash.clone()).await);
        assert!(!verify_password(SecretString::from("wrong horse battery"), hash).await);
    }

    #[tokio::test]
    async fn short_passwords_are_refused_before_hashing() {
        let refused = hash_password(SecretString::from("short")).await;
        assert_eq!(refused, Err(PasswordError::TooShort));
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_never_matches() {
        assert!(!verify_password(SecretString::from("anything at all"), "garbage".into()).await);
    }
}
