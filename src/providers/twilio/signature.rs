//! `X-Twilio-Signature`: proves that a webhook was sent by Twilio for our account.
//!
//! Twilio signs the full URL it called followed by every form parameter (names sorted,
//! each name's distinct values sorted, `name + value` with no separators) with HMAC-SHA1
//! under the Auth Token, or, when a Webhooks Rule matches the URL, with the Rule's shared
//! key and algorithm. JSON bodies are covered through a `bodySHA256` query parameter.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::providers::{Headers, WebhookError, constant_time_eq, parse_form};

/// The header carrying the signature, whatever the key and algorithm.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// Present when a Webhooks Rule signed the request: `key=...,algorithm=HMAC_SHA256`.
pub const SIGNATURE_SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";

/// The secrets one Twilio channel's webhooks can be signed with.
pub struct TwilioKeys {
    /// The account Auth Token: signs with HMAC-SHA1 when no Webhooks Rule applies.
    pub auth_token: SecretString,
    /// The secret of a Webhooks Rule's SharedKey, when the account uses one.
    pub shared_key: Option<SecretString>,
}

/// The hash Twilio signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    HmacSha1,
    HmacSha256,
}

/// What the webhook carried, as the web layer read it from the content type.
#[derive(Debug, Clone, Copy)]
pub enum SignedPayload<'a> {
    /// A form-encoded body (or the query of a GET), decoded into pairs in received order.
    Form(&'a [(String, String)]),
    /// A JSON body, exactly as received; the URL must carry its `bodySHA256`.
    Json(&'a [u8]),
}

/// Checks the signature of a Twilio webhook.
///
/// `url` is the externally visible URL Twilio called (configured public base URL, path and
/// raw query, never re-encoded). The URL is tried as given, with its port removed and with
/// the scheme's default port added, as Twilio's own libraries do.
///
/// SECURITY: which secret is used follows the unsigned settings header, as Twilio's
/// libraries do. Both choices need a secret we hold, so a forger gains nothing by picking;
/// requests without the header are still checked against the Auth Token even when a shared
/// key is configured, so that a Rule being set up or removed loses no texts.
pub fn verify_signature(
    keys: &TwilioKeys,
    url: &str,
    payload: SignedPayload<'_>,
    headers: &Headers,
) -> Result<(), WebhookError> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or(WebhookError::SignatureMissing)?;
    let (key, algorithm) = select_key(keys, headers.get(SIGNATURE_SETTINGS_HEADER))?;

    let params = match payload {
        SignedPayload::Form(params) => params,
        SignedPayload::Json(body) => {
            check_body_hash(url, body)?;
            &[]
        }
    };

    let (without_port, with_port) = port_variants(url);
    let matches_without = signature_matches(key, algorithm, &without_port, params, signature);
    let matches_with = signature_matches(key, algorithm, &with_port, params, signature);
    if matches_without | matches_with {
        Ok(())
    } else {
        Err(WebhookError::SignatureInvalid)
    }
}

/// The base64 signature Twilio would send for `url` and `params`. Public so that local
/// fakes of Twilio in tests and the simulator can sign what they send.
pub fn compute_signature(
    key: &SecretString,
    algorithm: SignatureAlgorithm,
    url: &str,
    params: &[(String, String)],
) -> String {
    let signed = signed_string(url, params);
    let key = key.expose_secret().as_bytes();
    let digest = match algorithm {
        SignatureAlgorithm::HmacSha1 => hmac_digest::<Hmac<Sha1>>(key, signed.as_bytes()),
        SignatureAlgorithm::HmacSha256 => hmac_digest::<Hmac<Sha256>>(key, signed.as_bytes()),
    };
    BASE64.encode(digest)
}

/// Chooses the secret and hash: the settings header names an algorithm only when a
/// Webhooks Rule signed the request; without it (or without `algorithm=`) Twilio signed
/// with the Auth Token and HMAC-SHA1.
fn select_key<'k>(
    keys: &'k TwilioKeys,
    settings: Option<&str>,
) -> Result<(&'k SecretString, SignatureAlgorithm), WebhookError> {
    let Some(name) = settings.and_then(algorithm_name) else {
        return Ok((&keys.auth_token, SignatureAlgorithm::HmacSha1));
    };
    let algorithm = match name.to_ascii_uppercase().as_str() {
        "HMAC_SHA1" => SignatureAlgorithm::HmacSha1,
        "HMAC_SHA256" => SignatureAlgorithm::HmacSha256,
        _ => return Err(WebhookError::SignatureInvalid),
    };
    let key = keys
        .shared_key
        .as_ref()
        .ok_or(WebhookError::SignatureInvalid)?;
    Ok((key, algorithm))
}

fn algorithm_name(settings: &str) -> Option<&str> {
    settings
        .split(',')
        .filter_map(|item| item.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("algorithm"))
        .map(|(_, value)| value.trim())
}

/// For JSON bodies Twilio signs only the URL, whose `bodySHA256` query parameter must be
/// the lowercase hex SHA-256 of the raw body.
fn check_body_hash(url: &str, body: &[u8]) -> Result<(), WebhookError> {
    let query = url.split('#').next().and_then(|url| url.split_once('?'));
    let claimed = query
        .map(|(_, query)| parse_form(query.as_bytes()))
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == "bodySHA256"))
        .map(|(_, value)| value)
        .ok_or(WebhookError::SignatureInvalid)?;
    let actual = hex::encode(Sha256::digest(body));
    if constant_time_eq(actual.as_bytes(), claimed.as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::SignatureInvalid)
    }
}

/// The URL without an explicit port, and with one (the scheme's default when none was
/// given: 443 for https, 80 otherwise). One of the two is the URL as given.
fn port_variants(url: &str) -> (Cow<'_, str>, Cow<'_, str>) {
    let Some(authority) = authority_range(url) else {
        return (url.into(), url.into());
    };
    let host_start = url[authority.clone()]
        .rfind('@')
        .map_or(authority.start, |at| authority.start + at + 1);
    let host_and_port = &url[host_start..authority.end];
    let after_brackets = host_and_port.rfind(']').unwrap_or(0);
    let port_colon = host_and_port[after_brackets..]
        .rfind(':')
        .map(|colon| host_start + after_brackets + colon);

    match port_colon {
        Some(colon) => {
            let without = format!("{}{}", &url[..colon], &url[authority.end..]);
            (without.into(), url.into())
        }
        None => {
            let scheme = &url[..url.find("://").unwrap_or(0)];
            let port = if scheme.eq_ignore_ascii_case("https") {
                "443"
            } else {
                "80"
            };
            let with = format!("{}:{port}{}", &url[..authority.end], &url[authority.end..]);
            (url.into(), with.into())
        }
    }
}

/// Byte range of `user@host:port` in an absolute URL.
fn authority_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |offset| start + offset);
    Some(start..end)
}

fn signature_matches(
    key: &SecretString,
    algorithm: SignatureAlgorithm,
    url: &str,
    params: &[(String, String)],
    received: &str,
) -> bool {
    let expected = compute_signature(key, algorithm, url, params);
    constant_time_eq(expected.as_bytes(), received.as_bytes())
}

/// The URL, then for each distinct name in byte order each of its distinct values in byte
/// order, as `name + value`. Rust's `str` order is code-point order, as Twilio's is.
fn signed_string(url: &str, params: &[(String, String)]) -> String {
    let mut grouped: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        grouped.entry(name).or_default().insert(value);
    }
    let mut signed = String::from(url);
    for (name, values) in grouped {
        for value in values {
            signed.push_str(name);
            signed.push_str(value);
        }
    }
    signed
}

fn hmac_digest<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
