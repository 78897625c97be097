//! Bearer secrets: API tokens and first-admin setup codes.
//!
//! Both are 256 bits from the operating system's CSPRNG, shown once, and stored only as
//! their SHA-256 hash, so a copy of the database cannot be used to log in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Prefix of API tokens, so a leaked token is recognisable to secret scanners.
pub const API_TOKEN_PREFIX: &str = "tl_";

/// A freshly generated secret: the value to hand out once, and the hash to store.
pub struct IssuedSecret {
    pub secret: SecretString,
    pub hash: Vec<u8>,
}

/// A new API token (`tl_` and 43 URL-safe characters).
pub fn issue_api_token() -> IssuedSecret {
    issue(API_TOKEN_PREFIX)
}

/// A new setup code for a first-admin link.
pub fn issue_setup_code() -> IssuedSecret {
    issue("")
}

/// The stored form of a presented secret.
pub fn hash_secret(presented: &str) -> Vec<u8> {
    Sha256::digest(presented.as_bytes()).to_vec()
}

fn issue(prefix: &str) -> IssuedSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = SecretString::from(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)));
    let hash = hash_secret(secret.expose_secret());
    IssuedSecret { secret, hash }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_long_and_distinct() {
        let first = issue_api_token();
        let second = issue_api_token();
        assert!(first.secret.expose_secret().starts_with(API_TOKEN_PREFIX));
        assert_eq!(
            first.secret.expose_secret().len(),
            API_TOKEN_PREFIX.len() + 43
        );
        assert_ne!(first.hash, second.hash);
        assert_eq!(first.hash, hash_secret(first.secret.expose_secret()));
    }
}
