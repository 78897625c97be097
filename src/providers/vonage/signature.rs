//! The Vonage SMS API `sig` parameter: proves that a signed inbound text or delivery
//! receipt was sent by Vonage for our account.
//!
//! Every parameter but `sig`, sorted by name, with `&` and `=` in values replaced by `_`,
//! joined as `&name=value...` (leading `&`), then hashed with the account's signature
//! secret by the method chosen in the Vonage dashboard. The hex result is compared without
//! regard to case, since Vonage's own libraries disagree on it.

use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::providers::{WebhookError, check_fresh, constant_time_eq, form_value, malformed};

/// Oldest signed webhook accepted, in seconds. Vonage resends a webhook it got no 2xx for
/// during 24 hours; duplicates within that window are dropped by message id downstream, so
/// a tighter window would only lose retried texts.
pub const MAX_AGE_SECS: i64 = 24 * 60 * 60 + 300;
/// How far ahead of our clock a timestamp may be, for clock drift.
pub const MAX_AHEAD_SECS: i64 = 300;

/// The signature methods offered in the Vonage dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureMethod {
    /// "MD5 hash": `md5(string + secret)`, the dashboard default.
    #[default]
    Md5Hash,
    Md5Hmac,
    Sha1Hmac,
    Sha256Hmac,
    Sha512Hmac,
}

/// Why a signature method name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a Vonage signature method (expected md5hash, md5, sha1, sha256 or sha512)")]
pub struct UnknownSignatureMethod;

impl FromStr for SignatureMethod {
    type Err = UnknownSignatureMethod;

    /// Reads the names `VONAGE_SIGNATURE_METHOD` takes.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "md5hash" => Ok(Self::Md5Hash),
            "md5" => Ok(Self::Md5Hmac),
            "sha1" => Ok(Self::Sha1Hmac),
            "sha256" => Ok(Self::Sha256Hmac),
            "sha512" => Ok(Self::Sha512Hmac),
            _ => Err(UnknownSignatureMethod),
        }
    }
}

/// Checks the `sig` of a signed SMS API webhook (form, query or flattened JSON) and that
/// its signed `timestamp` is recent (see `MAX_AGE_SECS`). `now` is unix seconds.
pub fn verify_signature(
    method: SignatureMethod,
    secret: &SecretString,
    params: &[(String, String)],
    now: i64,
) -> Result<(), WebhookError> {
    let received = form_value(params, "sig")
        .filter(|sig| !sig.is_empty())
        .ok_or(WebhookError::SignatureMissing)?;
    let timestamp =
        form_value(params, "timestamp").ok_or(WebhookError::MissingField("timestamp"))?;

    let expected = compute_signature(method, secret, params);
    let received = received.trim().to_ascii_lowercase();
    if !constant_time_eq(expected.as_bytes(), received.as_bytes()) {
        return Err(WebhookError::SignatureInvalid);
    }

    let timestamp = timestamp
        .trim()
        .parse::<i64>()
        .map_err(|_| malformed("timestamp is not unix seconds"))?;
    check_fresh(timestamp, now, MAX_AGE_SECS, MAX_AHEAD_SECS)
}

/// The lowercase hex `sig` for `params` (any `sig` among them is left out). Public so that
/// local fakes of Vonage in tests can sign what they send.
pub fn compute_signature(
    method: SignatureMethod,
    secret: &SecretString,
    params: &[(String, String)],
) -> String {
    let signed = signed_string(params);
    let secret = secret.expose_secret().as_bytes();
    let digest = match method {
        SignatureMethod::Md5Hash => {
            let mut hasher = Md5::new();
            hasher.update(signed.as_bytes());
            hasher.update(secret);
            hasher.finalize().to_vec()
        }
        SignatureMethod::Md5Hmac => hmac_digest::<Hmac<Md5>>(secret, &signed),
        SignatureMethod::Sha1Hmac => hmac_digest::<Hmac<Sha1>>(secret, &signed),
        SignatureMethod::Sha256Hmac => hmac_digest::<Hmac<Sha256>>(secret, &signed),
        SignatureMethod::Sha512Hmac => hmac_digest::<Hmac<Sha512>>(secret, &signed),
    };
    hex::encode(digest)
}

/// `&name=value` for every parameter but `sig`, sorted by name (then value, so that a
/// repeated name has one canonical order).
fn signed_string(params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(name, _)| name != "sig").collect();
    sorted.sort();
    sorted
        .into_iter()
        .map(|(name, value)| format!("&{name}={}", value.replace(['&', '='], "_")))
        .collect()
}

fn hmac_digest<M: Mac + KeyInit>(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "signature_secret";

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn sign(method: SignatureMethod, items: &[(&str, &str)]) -> String {
        compute_signature(method, &SecretString::from(SECRET), &pairs(items))
    }

    const DEFAULT: [(&str, &str); 3] = [
        ("param1", "value1"),
        ("param2", "value2"),
        ("timestamp", "1234567890"),
    ];

    #[test]
    fn reference_hmac_sha256_vector_matches() {
        let expected = "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287";
        assert_eq!(sign(SignatureMethod::Sha256Hmac, &DEFAULT), expected);
    }

    #[test]
    fn reference_hmac_md5_vector_matches() {
        assert_eq!(
            sign(SignatureMethod::Md5Hmac, &DEFAULT),
            "724c2bf6ca423c36e20631b11d1c5753"
        );
    }

    #[test]
    fn reference_vector_with_ampersand_and_equals_in_values_matches() {
        let params = [
            ("param1", "value&1"),
            ("param2", "value=2"),
            ("timestamp", "1234567890"),
        ];
        assert_eq!(
            sign(SignatureMethod::Md5Hmac, &params),
            "2bbf0abafb2c55e5af6231513896a2ac"
        );
    }

    #[test]
    fn reference_vector_with_timestamp_12345_matches() {
        let params = [
            ("param1", "value1"),
            ("param2", "value2"),
            ("timestamp", "12345"),
        ];
        assert_eq!(
            sign(SignatureMethod::Md5Hmac, &params),
            "bc7e95bb4e341090b3a202a2885903a5"
        );
    }

    #[test]
    fn reference_check_signature_vector_is_accepted() {
        let params = pairs(&[
            ("param", "value"),
            ("timestamp", "1234567890"),
            ("sig", "655a4d0b7f064dff438defc52b012cf5"),
        ]);
        let secret = SecretString::from(SECRET);
        let outcome = verify_signature(SignatureMethod::Md5Hmac, &secret, &params, 1_234_567_890);
        assert_eq!(outcome, Ok(()));
    }

    #[test]
    fn reference_legacy_md5hash_vector_matches() {
        assert_eq!(
            signed_string(&pairs(&DEFAULT)),
            "&param1=value1&param2=value2&timestamp=1234567890"
        );
        assert_eq!(
            sign(SignatureMethod::Md5Hash, &DEFAULT),
            "d72f75ac8cda9bbce891c4fa62bee6cd"
        );
    }

    #[test]
    fn sha1_and_sha512_hmacs_are_hex_over_the_same_string() {
        assert_eq!(sign(SignatureMethod::Sha1Hmac, &DEFAULT).len(), 40);
        assert_eq!(sign(SignatureMethod::Sha512Hmac, &DEFAULT).len(), 128);
    }

    fn check(
        method: SignatureMethod,
        params: &[(String, String)],
        now: i64,
    ) -> Result<(), WebhookError> {
        verify_signature(method, &SecretString::from(SECRET), params, now)
    }

    fn signed_params(method: SignatureMethod, timestamp: &str) -> Vec<(String, String)> {
        let mut params = pairs(&[
            ("msisdn", "447700900001"),
            ("text", "help me"),
            ("timestamp", timestamp),
        ]);
        let sig = compute_signature(method, &SecretString::from(SECRET), &params);
        params.push(("sig".into(), sig));
        params
    }

    #[test]
    fn every_method_accepts_its_own_signature_in_either_case() {
        for method in [
            SignatureMethod::Md5Hash,
            SignatureMethod::Md5Hmac,
            SignatureMethod::Sha1Hmac,
            SignatureMethod::Sha256Hmac,
            SignatureMethod::Sha512Hmac,
        ] {
            let mut params = signed_params(method, "1700000000");
            assert_eq!(check(method, &params, 1_700_000_000), Ok(()), "{method:?}");
            let upper = params[3].1.to_ascii_uppercase();
            params[3].1 = upper;
            assert_eq!(check(method, &params, 1_700_000_000), Ok(()), "{method:?}");
        }
    }

    #[test]
    fn signature_under_another_method_is_refused() {
        let params = signed_params(SignatureMethod::Md5Hmac, "1700000000");
        let outcome = check(SignatureMethod::Md5Hash, &params, 1_700_000_000);
        assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
    }

    #[test]
    fn signature_under_another_secret_is_refused() {
        let params = signed_params(SignatureMethod::Sha256Hmac, "1700000000");
        let wrong = SecretString::from("another_secret");
        let outcome = verify_signature(SignatureMethod::Sha256Hmac, &wrong, &params, 1_700_000_000);
        assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
    }

    #[test]
    fn changed_parameter_is_refused() {
        let mut params = signed_params(SignatureMethod::Md5Hash, "1700000000");
        params[1].1 = "help me now".into();
        let outcome = check(SignatureMethod::Md5Hash, &params, 1_700_000_000);
        assert_eq!(outcome, Err(WebhookError::SignatureInvalid));
    }

    #[test]
    fn missing_sig_or_timestamp_is_reported() {
        let mut params = signed_params(SignatureMethod::Md5Hash, "1700000000");
        params.pop();
        assert_eq!(
            check(SignatureMethod::Md5Hash, &params, 1_700_000_000),
            Err(WebhookError::SignatureMissing)
        );
        let params: Vec<_> = signed_params(SignatureMethod::Md5Hash, "1700000000")
            .into_iter()
            .filter(|(name, _)| name != "timestamp")
            .collect();
        assert_eq!(
            check(SignatureMethod::Md5Hash, &params, 1_700_000_000),
            Err(WebhookError::MissingField("timestamp"))
        );
    }

    #[test]
    fn timestamps_outside_the_retry_window_are_stale() {
        let params = signed_params(SignatureMethod::Md5Hash, "1700000000");
        let method = SignatureMethod::Md5Hash;
        assert_eq!(check(method, &params, 1_700_000_000 + MAX_AGE_SECS), Ok(()));
        assert_eq!(
            check(method, &params, 1_700_000_001 + MAX_AGE_SECS),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            check(method, &params, 1_700_000_000 - MAX_AHEAD_SECS - 1),
            Err(WebhookError::Stale)
        );
    }

    #[test]
    fn method_names_from_configuration_are_read() {
        assert_eq!("md5hash".parse(), Ok(SignatureMethod::Md5Hash));
        assert_eq!("MD5".parse(), Ok(SignatureMethod::Md5Hmac));
        assert_eq!("sha1".parse(), Ok(SignatureMethod::Sha1Hmac));
        assert_eq!("sha256".parse(), Ok(SignatureMethod::Sha256Hmac));
        assert_eq!("sha512".parse(), Ok(SignatureMethod::Sha512Hmac));
        assert_eq!(
            "crc32".parse::<SignatureMethod>(),
            Err(UnknownSignatureMethod)
        );
        assert_eq!(SignatureMethod::default(), SignatureMethod::Md5Hash);
    }
}
