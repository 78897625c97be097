//! One small HTTP client per SMS provider, each turning its provider's answer into one
//! [`SendOutcome`].
//!
//! What they share lives here: the HTTP client with its timeout and no redirects, the base
//! URL check, `Retry-After`, and how transport failures and bare HTTP statuses are read.
//! Reasons are built from the provider's name, the HTTP status, the error code and a fixed
//! description; nothing the provider wrote is ever copied into one, since providers' error
//! messages can quote the number.

pub mod telnyx;
pub mod twilio;
pub mod vonage;

use std::fmt::Display;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::{Host, Url};

use crate::outbox::send::SendOutcome;
use crate::privacy::phone::{NumberKind, PhoneNumber};

/// How long a send may take, connecting included, unless a channel says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a provider client could not be built. Never carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the base url is not an https url (plain http is allowed for loopback only)")]
    InvalidBaseUrl,
    #[error("the account id may hold only letters and digits")]
    InvalidAccountId,
    #[error("build the http client")]
    Build(#[source] reqwest::Error),
}

/// What a provider's error code means for the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Retry,
    Permanent,
    OptedOut,
    Misconfigured,
}

/// The status, `Retry-After` and body of a provider's answer.
struct Reply {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// An HTTP client whose whole request, connecting included, ends after `timeout`. Redirects
/// are refused: providers do not redirect sends, and following one could carry credentials
/// to another host or replay a POST as a GET.
fn build_http_client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(ClientError::Build)
}

/// The base URL without a trailing slash.
// SECURITY: plain http would send credentials in clear, so it is accepted only for loopback
// hosts, where the test fakes listen.
fn check_base_url(base_url: &str) -> Result<String, ClientError> {
    let url = Url::parse(base_url).map_err(|_| ClientError::InvalidBaseUrl)?;
    let loopback = match url.host() {
        Some(Host::Domain(name)) => name == "localhost",
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    };
    let allowed = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !allowed || url.query().is_some() || url.fragment().is_some() {
        return Err(ClientError::InvalidBaseUrl);
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

/// Refuses a destination no provider can text: an alphanumeric sender id.
fn check_destination(provider: &str, to: &PhoneNumber) -> Result<(), SendOutcome> {
    if to.kind() == NumberKind::Alphanumeric {
        return Err(SendOutcome::Permanent {
            reason: format!("{provider}: the destination is a sender id, not a number"),
            opted_out: false,
        });
    }
    Ok(())
}

/// Sends the request and reads the answer; a failure to get an answer becomes a retry.
/// A body that cannot be read is taken as empty, and each provider decides what that means.
async fn execute(provider: &str, request: reqwest::RequestBuilder) -> Result<Reply, SendOutcome> {
    let response = request
        .send()
        .await
        .map_err(|error| transport_failure(provider, &error))?;

    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let body = response.bytes().await.map(Vec::from).unwrap_or_default();
    Ok(Reply {
        status,
        retry_after,
        body,
    })
}

/// A send that got no answer, or one that could not even be built. One with no answer may
/// still have reached the provider (a timeout after the request was written), so a retry can
/// duplicate the text; the outbox caps attempts.
fn transport_failure(provider: &str, error: &reqwest::Error) -> SendOutcome {
    if error.is_builder() {
        let reason = format!("{provider}: the request could not be built from the channel");
        return SendOutcome::Misconfigured { reason };
    }
    let description = if error.is_timeout() {
        "no answer within the timeout"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the request failed in transit"
    };
    SendOutcome::Retry {
        after: None,
        reason: format!("{provider}: {description}"),
    }
}

/// The provider's `Retry-After`, in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// Reads `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`. A date in the
/// past means "now".
fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `"twilio 400 code 21211: invalid To number"`, or without a code `"twilio 503: ..."`.
fn reason(provider: &str, status: u16, code: Option<impl Display>, description: &str) -> String {
    match code {
        Some(code) => format!("{provider} {status} code {code}: {description}"),
        None => format!("{provider} {status}: {description}"),
    }
}

/// The outcome for an error status whose code (if any) the provider's table did not know.
fn outcome_for_status(
    provider: &str,
    status: u16,
    code: Option<impl Display>,
    retry_after: Option<Duration>,
) -> SendOutcome {
    let retry = |description| SendOutcome::Retry {
        after: retry_after,
        reason: reason(provider, status, code.as_ref(), description),
    };
    let misconfigured = |description| SendOutcome::Misconfigured {
        reason: reason(provider, status, code.as_ref(), description),
    };
    match status {
        429 => retry("too many requests"),
        500..=599 => retry("provider error"),
        401 | 403 => misconfigured("credentials refused"),
        404 => misconfigured("not found: check the account and the base url"),
        300..=399 => misconfigured("unexpected redirect: check the base url"),
        _ => SendOutcome::Permanent {
            reason: reason(provider, status, code.as_ref(), "request refused"),
            opted_out: false,
        },
    }
}

/// The outcome for a code found in a provider's table.
fn outcome_for_code(
    verdict: Verdict,
    reason: String,
    retry_after: Option<Duration>,
) -> SendOutcome {
    match verdict {
        Verdict::Retry => SendOutcome::Retry {
            after: retry_after,
            reason,
        },
        Verdict::Permanent => SendOutcome::Permanent {
            reason,
            opted_out: false,
        },
        Verdict::OptedOut => SendOutcome::Permanent {
            reason,
            opted_out: true,
        },
        Verdict::Misconfigured => SendOutcome::Misconfigured { reason },
    }
}

/// A 2xx answer whose message id could not be read. The provider most likely took the
/// text, so it is not retried: a second copy could reach a watched phone.
fn accepted_without_id(provider: &str, status: u16) -> SendOutcome {
    SendOutcome::Permanent {
        reason: reason(
            provider,
            status,
            None::<u32>,
            "accepted without a readable message id",
        ),
        opted_out: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_is_read_as_a_duration() {
        let now = SystemTime::now();

        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_an_http_date_is_read_relative_to_now() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").expect("valid date");

        let later = parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", now);
        let earlier = parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now);

        assert_eq!(later, Some(Duration::from_secs(90)));
        assert_eq!(earlier, Some(Duration::ZERO));
    }

    #[test]
    fn unreadable_retry_after_is_ignored() {
        assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
        assert_eq!(parse_retry_after("-5", SystemTime::now()), None);
    }

    #[test]
    fn base_url_must_be_https_except_on_loopback() {
        assert_eq!(
            check_base_url("https://api.twilio.com/").unwrap(),
            "https://api.twilio.com"
        );
        assert!(check_base_url("http://127.0.0.1:4000").is_ok());
        assert!(check_base_url("http://localhost:4000").is_ok());
        assert!(check_base_url("http://api.twilio.com").is_err());
        assert!(check_base_url("ftp://api.twilio.com").is_err());
        assert!(check_base_url("api.twilio.com").is_err());
    }

    #[test]
    fn bare_statuses_map_to_retry_misconfigured_or_permanent() {
        let after = Some(Duration::from_secs(3));

        let throttled = outcome_for_status("x", 429, None::<u32>, after);
        let down = outcome_for_status("x", 503, None::<u32>, None);
        let refused = outcome_for_status("x", 401, None::<u32>, None);
        let invalid = outcome_for_status("x", 400, Some(1), None);

        assert_eq!(
            throttled,
            SendOutcome::Retry {
                after,
                reason: "x 429: too many requests".into()
            }
        );
        assert!(matches!(down, SendOutcome::Retry { after: None, .. }));
        assert!(matches!(refused, SendOutcome::Misconfigured { .. }));
        assert_eq!(
            invalid,
            SendOutcome::Permanent {
                reason: "x 400 code 1: request refused".into(),
                opted_out: false
            }
        );
    }
}
