//! Channel settings as written in `textline.toml` (`[[channels]]`), or the one `default`
//! channel of the quick setup from `TEXTLINE_PROVIDER` and the provider's variables.

use secrecy::SecretString;
use serde::Deserialize;

/// One `[[channels]]` table. Credentials are secrets and never printed.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RawChannel {
    pub name: String,
    /// `twilio`, `vonage`, `telnyx` or `simulator`.
    pub provider: String,
    /// The sender: a number, a short code or an alphanumeric sender id.
    pub from: String,
    /// `long_code`, `toll_free`, `short_code`, `international` or `alphanumeric`;
    /// guessed from `from` when unset.
    pub sender_type: Option<String>,
    /// Segments per second; defaults by sender type.
    pub rate_per_second: Option<f64>,
    /// Requests in flight at once to the provider account.
    pub max_concurrent_requests: Option<u32>,
    /// Send only the discreet form of every text.
    pub discreet_only: bool,
    /// Language used when a text's language cannot be told (`en`, `fr`, `es`).
    pub language: Option<String>,
    /// Region for numbers written without a country code (`US`, `FR`).
    pub region: Option<String>,
    /// IANA time zone of the opening hours (`Europe/Paris`).
    pub timezone: Option<String>,
    /// Opening hours such as `["mon-fri 09:00-18:00", "sat 10:00-14:00"]`; empty is always open.
    pub opening_hours: Vec<String>,
    /// Dates (`2026-12-25`) when the line is closed all day.
    pub holidays: Vec<String>,
    /// The emergency number given in the out-of-hours reply.
    pub emergency_number: Option<String>,
    /// Channel to use for conversation texts when this one keeps failing.
    pub fallback: Option<String>,
    /// Whether the provider answers STOP itself (Twilio Advanced Opt-Out does by default).
    pub provider_handles_opt_out: Option<bool>,
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub api_key: Option<SecretString>,
    pub api_secret: Option<SecretString>,
    pub signature_secret: Option<SecretString>,
    pub signature_method: Option<String>,
    pub public_key: Option<String>,
    pub api_base: Option<String>,
}

/// The provider variables of the quick setup, read from the given environment.
pub(super) fn quick_setup_channel(provider: &str, environment: &[(String, String)]) -> RawChannel {
    let get = |name: &str| {
        environment
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let secret = |name: &str| get(name).map(SecretString::from);
    let mut channel = RawChannel {
        name: "default".into(),
        provider: provider.to_owned(),
        ..RawChannel::default()
    };
    match provider {
        "twilio" => {
            channel.account_sid = get("TWILIO_ACCOUNT_SID");
            channel.auth_token = secret("TWILIO_AUTH_TOKEN");
            channel.from = get("TWILIO_FROM").unwrap_or_default();
            channel.api_base = get("TWILIO_API_BASE");
        }
        "vonage" => {
            channel.api_key = secret("VONAGE_API_KEY");
            channel.api_secret = secret("VONAGE_API_SECRET");
            channel.signature_secret = secret("VONAGE_SIGNATURE_SECRET");
            channel.signature_method = get("VONAGE_SIGNATURE_METHOD");
            channel.from = get("VONAGE_FROM").unwrap_or_default();
            channel.api_base = get("VONAGE_API_BASE");
        }
        "telnyx" => {
            channel.api_key = secret("TELNYX_API_KEY");
            channel.public_key = get("TELNYX_PUBLIC_KEY");
            channel.from = get("TELNYX_FROM").unwrap_or_default();
            channel.api_base = get("TELNYX_API_BASE");
        }
        _ => {}
    }
    channel
}
