//! Signed Vonage Messages API webhooks: an HS256 JWT in `Authorization: Bearer`, signed with
//! the account's signature secret, whose `payload_hash` claim binds the body.
//!
//! A JWT library would bring key types and algorithms we must refuse anyway; the check
//! needs one algorithm, so it is written out here against the JWT rules (RFC 7519).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::providers::{WebhookError, check_fresh, constant_time_eq};

/// Leeway for clock drift on `exp` and `iat`, in seconds.
pub const CLOCK_LEEWAY_SECS: i64 = 300;

/// Checks a Messages API webhook's bearer token against the signature secret and, when the
/// token carries `payload_hash`, that it is the SHA-256 of `body`. `now` is unix seconds.
pub fn verify_messages_jwt(
    secret: &SecretString,
    authorization: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let token = bearer_token(authorization)?;
    let (signed, signature) = token
        .rsplit_once('.')
        .ok_or(WebhookError::SignatureInvalid)?;
    let (header, claims) = signed
        .split_once('.')
        .ok_or(WebhookError::SignatureInvalid)?;

    check_header(header)?;
    check_mac(secret, signed, signature)?;

    let claims: Claims = decode_json(claims)?;
    check_payload_hash(claims.payload_hash.as_deref(), body)?;
    check_times(&claims, now)
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
}

#[derive(Deserialize)]
struct Claims {
    payload_hash: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    nbf: Option<i64>,
}

fn bearer_token(authorization: Option<&str>) -> Result<&str, WebhookError> {
    let value = authorization
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(WebhookError::SignatureMissing)?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(WebhookError::SignatureInvalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(WebhookError::SignatureInvalid);
    }
    Ok(token.trim())
}

/// Only HS256 is accepted, whatever the token claims: `none` or an asymmetric algorithm
/// must never be honoured on a shared-secret check.
fn check_header(header: &str) -> Result<(), WebhookError> {
    let header: JoseHeader = decode_json(header)?;
    if header.alg == "HS256" {
        Ok(())
    } else {
        Err(WebhookError::SignatureInvalid)
    }
}

fn check_mac(secret: &SecretString, signed: &str, signature: &str) -> Result<(), WebhookError> {
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| WebhookError::SignatureInvalid)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(signed.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| WebhookError::SignatureInvalid)
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, WebhookError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| WebhookError::SignatureInvalid)?;
    serde_json::from_slice(&bytes).map_err(|_| WebhookError::SignatureInvalid)
}

fn check_payload_hash(claimed: Option<&str>, body: &[u8]) -> Result<(), WebhookError> {
    let Some(claimed) = claimed else {
        return Ok(());
    };
    let actual = hex::encode(Sha256::digest(body));
    let claimed = claimed.to_ascii_lowercase();
    if constant_time_eq(actual.as_bytes(), claimed.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::SignatureInvalid)
    }
}

fn check_times(claims: &Claims, now: i64) -> Result<(), WebhookError> {
    if let Some(exp) = claims.exp {
        check_fresh(exp, now, CLOCK_LEEWAY_SECS, i64::MAX)?;
    }
    for not_before in [claims.iat, claims.nbf].into_iter().flatten() {
        check_fresh(not_before, now, i64::MAX, CLOCK_LEEWAY_SECS)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-vonage-signature-secret";
    const BODY: &[u8] = br#"{"channel":"sms","message_uuid":"aaaaaaaa-bbbb","text":"help"}"#;
    const NOW: i64 = 1_700_000_000;

    fn encode(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token_with(alg: &str, claims: serde_json::Value, secret: &str) -> String {
        let signed = format!(
            "{}.{}",
            encode(serde_json::json!({"alg": alg, "typ": "JWT"})),
            encode(claims)
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(signed.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("Bearer {signed}.{signature}")
    }

    fn good_claims() -> serde_json::Value {
        serde_json::json!({
            "api_key": "abcd1234",
            "iat": NOW - 10,
            "exp": NOW + 890,
            "payload_hash": hex::encode(Sha256::digest(BODY)),
        })
    }

    fn check(authorization: Option<&str>, body: &[u8], now: i64) -> Result<(), WebhookError> {
        verify_messages_jwt(&SecretString::from(SECRET), authorization, body, now)
    }

    #[test]
    fn token_signed_with_the_signature_secret_is_accepted() {
        let token = token_with("HS256", good_claims(), SECRET);
        assert_eq!(check(Some(&token), BODY, NOW), Ok(()));
    }

    #[test]
    fn token_without_payload_hash_is_accepted_on_its_signature() {
        let token = token_with("HS256", serde_json::json!({"iat": NOW}), SECRET);
        assert_eq!(check(Some(&token), b"anything", NOW), Ok(()));
    }

    #[test]
    fn tampered_body_is_refused() {
        let token = token_with("HS256", good_claims(), SECRET);
        let outcome = check(Some(&token), br#"{"text":"forged"}"#, NOW);
        assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let token = token_with("HS256", good_claims(), "another secret");
        assert_eq!(
            check(Some(&token), BODY, NOW),
            Err(WebhookError::SignatureInvalid)
        );
    }

    #[test]
    fn algorithm_none_and_others_are_refused() {
        for alg in ["none", "HS512", "RS256", "hs256"] {
            let token = token_with(alg, good_claims(), SECRET);
            assert_eq!(
                check(Some(&token), BODY, NOW),
                Err(WebhookError::SignatureInvalid),
                "{alg}"
            );
        }
        let unsigned = format!(
            "Bearer {}.{}.",
            encode(serde_json::json!({"alg": "none"})),
            encode(good_claims())
        );
        assert_eq!(
            check(Some(&unsigned), BODY, NOW),
            Err(WebhookError::SignatureInvalid)
        );
    }

    #[test]
    fn missing_or_malformed_authorization_is_refused() {
        assert_eq!(check(None, BODY, NOW), Err(WebhookError::SignatureMissing));
        assert_eq!(
            check(Some(" "), BODY, NOW),
            Err(WebhookError::SignatureMissing)
        );
        for value in ["Basic abc", "Bearer", "Bearer a.b", "Bearer !!.??.**"] {
            assert_eq!(
                check(Some(value), BODY, NOW),
                Err(WebhookError::SignatureInvalid),
                "{value}"
            );
        }
    }

    #[test]
    fn expired_or_future_tokens_are_stale() {
        let token = token_with("HS256", good_claims(), SECRET);
        let expiry = NOW + 890;
        assert_eq!(
            check(Some(&token), BODY, expiry + CLOCK_LEEWAY_SECS),
            Ok(())
        );
        assert_eq!(
            check(Some(&token), BODY, expiry + CLOCK_LEEWAY_SECS + 1),
            Err(WebhookError::Stale)
        );
        let issued = NOW - 10;
        assert_eq!(
            check(Some(&token), BODY, issued - CLOCK_LEEWAY_SECS - 1),
            Err(WebhookError::Stale)
        );
    }
}
