//! Channels: one sender (number, short code or sender id) on one provider account, with
//! its credentials, rate, language, opening hours and fallback.
//!
//! Built from `[[channels]]` in `textline.toml`, or from the quick setup variables
//! (`TEXTLINE_PROVIDER=twilio` and `TWILIO_*`), or, with neither, one simulator channel
//! named `default` so a new install works at once.

pub mod hours;

use std::collections::BTreeMap;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

use crate::config::ConfigError;
use crate::config::channels::RawChannel;
use crate::outbox::pacing::default_rate;
use crate::providers::ProviderKind;
use hours::OpeningHours;

/// Languages every channel can speak; the catalog has each of them.
pub const LANGUAGES: &[&str] = &["en", "fr", "es"];

/// A configured channel.
#[derive(Debug)]
pub struct Channel {
    pub name: String,
    pub provider: ProviderKind,
    pub from: String,
    pub sender_type: String,
    pub rate_per_second: f64,
    pub max_concurrent_requests: u32,
    pub discreet_only: bool,
    pub language: String,
    pub region: Option<String>,
    pub hours: OpeningHours,
    pub emergency_number: String,
    pub fallback: Option<String>,
    pub provider_handles_opt_out: bool,
    pub credentials: Credentials,
}

/// A provider account's credentials. `Debug` shows which are set, never their values.
#[derive(Default)]
pub struct Credentials {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub api_key: Option<SecretString>,
    pub api_secret: Option<SecretString>,
    pub signature_secret: Option<SecretString>,
    pub signature_method: Option<String>,
    pub public_key: Option<String>,
    pub api_base: Option<String>,
}

/// Every channel, by name.
#[derive(Debug, Default)]
pub struct ChannelSet {
    channels: BTreeMap<String, Channel>,
}

impl ChannelSet {
    /// Checks every channel and the references between them.
    pub fn from_raw(raw: Vec<RawChannel>) -> Result<Self, ConfigError> {
        let raw = if raw.is_empty() {
            vec![simulator_default()]
        } else {
            raw
        };
        let mut channels = BTreeMap::new();
        for channel in raw {
            let channel = Channel::from_raw(channel)?;
            if channels.contains_key(&channel.name) {
                return Err(ConfigError::new(
                    &format!("channels.{}", channel.name),
                    "two channels have this name",
                ));
            }
            channels.insert(channel.name.clone(), channel);
        }
        for channel in channels.values() {
            if let Some(fallback) = &channel.fallback
                && (fallback == &channel.name || !channels.contains_key(fallback))
            {
                return Err(ConfigError::new(
                    &format!("channels.{}.fallback", channel.name),
                    format!("`{fallback}` is not another configured channel"),
                ));
            }
        }
        Ok(Self { channels })
    }

    pub fn get(&self, name: &str) -> Option<&Channel> {
        self.channels.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.channels.values()
    }

    /// `name (provider)` for each channel, for the startup report.
    pub fn describe(&self) -> Vec<String> {
        self.iter()
            .map(|channel| format!("{} ({})", channel.name, channel.provider))
            .collect()
    }
}

impl Channel {
    fn from_raw(raw: RawChannel) -> Result<Self, ConfigError> {
        let key = |field: &str| format!("channels.{}.{field}", raw.name);
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::new(
                "channels.name",
                "each channel needs a name of letters, digits, - and _",
            ));
        }
        let provider = ProviderKind::from_str(&raw.provider).map_err(|_| {
            ConfigError::new(
                &key("provider"),
                "must be twilio, vonage, telnyx or simulator",
            )
        })?;
        let from = match (provider, raw.from.trim()) {
            (ProviderKind::Simulator, "") => "TEXTLINE".to_owned(),
            (_, "") => return Err(ConfigError::new(&key("from"), "the sender is required")),
            (_, from) => from.to_owned(),
        };
        let sender_type = raw
            .sender_type
            .clone()
            .unwrap_or_else(|| guess_sender_type(&from));
        let rate_per_second = raw
            .rate_per_second
            .unwrap_or_else(|| default_rate(&sender_type));
        if !(rate_per_second > 0.0 && rate_per_second <= 10_000.0) {
            return Err(ConfigError::new(&key("rate_per_second"), "must be above 0"));
        }
        let language = raw.language.clone().unwrap_or_else(|| "en".to_owned());
        if !LANGUAGES.contains(&language.as_str()) {
            return Err(ConfigError::new(&key("language"), "must be en, fr or es"));
        }
        let timezone = raw.timezone.as_deref().unwrap_or("UTC");
        let hours = OpeningHours::parse(timezone, &raw.opening_hours, &raw.holidays)
            .map_err(|error| ConfigError::new(&key("opening_hours"), error.to_string()))?;
        let credentials = Credentials {
            account_sid: raw.account_sid.clone(),
            auth_token: raw.auth_token.clone(),
            api_key: raw.api_key.clone(),
            api_secret: raw.api_secret.clone(),
            signature_secret: raw.signature_secret.clone(),
            signature_method: raw.signature_method.clone(),
            public_key: raw.public_key.clone(),
            api_base: raw.api_base.clone(),
        };
        check_credentials(provider, &credentials, &key)?;
        Ok(Self {
            provider_handles_opt_out: raw
                .provider_handles_opt_out
                .unwrap_or(provider == ProviderKind::Twilio),
            name: raw.name,
            provider,
            from,
            sender_type,
            rate_per_second,
            max_concurrent_requests: raw.max_concurrent_requests.unwrap_or(4).max(1),
            discreet_only: raw.discreet_only,
            language,
            region: raw.region,
            hours,
            emergency_number: raw.emergency_number.unwrap_or_else(|| "112".to_owned()),
            fallback: raw.fallback,
            credentials,
        })
    }

    /// Secrets of this channel, for the production placeholder check.
    pub fn secrets(&self) -> Vec<(&'static str, &SecretString)> {
        let credentials = &self.credentials;
        [
            ("auth_token", credentials.auth_token.as_ref()),
            ("api_key", credentials.api_key.as_ref()),
            ("api_secret", credentials.api_secret.as_ref()),
            ("signature_secret", credentials.signature_secret.as_ref()),
        ]
        .into_iter()
        .filter_map(|(name, secret)| Some((name, secret?)))
        .collect()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.account_sid.is_some())
            .field("auth_token", &self.auth_token.is_some())
            .field("api_key", &self.api_key.is_some())
            .field("api_secret", &self.api_secret.is_some())
            .field("signature_secret", &self.signature_secret.is_some())
            .field("public_key", &self.public_key.is_some())
            .field("api_base", &self.api_base)
            .finish()
    }
}

fn simulator_default() -> RawChannel {
    RawChannel {
        name: "default".into(),
        provider: "simulator".into(),
        ..RawChannel::default()
    }
}

/// Letters mean an alphanumeric sender id; 3 to 8 digits a short code; the rest long codes.
fn guess_sender_type(from: &str) -> String {
    let digits = from.trim_start_matches('+');
    let kind = if from.chars().any(|c| c.is_ascii_alphabetic()) {
        "alphanumeric"
    } else if digits.len() <= 8 {
        "short_code"
    } else {
        "long_code"
    };
    kind.to_owned()
}

fn check_credentials(
    provider: ProviderKind,
    credentials: &Credentials,
    key: &dyn Fn(&str) -> String,
) -> Result<(), ConfigError> {
    let missing = |field: &str| ConfigError::new(&key(field), "is required for this provider");
    let secret_set = |secret: &Option<SecretString>| {
        secret
            .as_ref()
            .is_some_and(|secret| !secret.expose_secret().is_empty())
    };
    match provider {
        ProviderKind::Twilio => {
            credentials
                .account_sid
                .as_ref()
                .ok_or_else(|| missing("account_sid"))?;
            if !secret_set(&credentials.auth_token) {
                return Err(missing("auth_token"));
            }
        }
        ProviderKind::Vonage => {
            credentials
                .api_key
                .as_ref()
                .ok_or_else(|| missing("api_key"))?;
            if !secret_set(&credentials.api_secret) {
                return Err(missing("api_secret"));
            }
            if !secret_set(&credentials.signature_secret) {
                return Err(missing("signature_secret"));
            }
        }
        ProviderKind::Telnyx => {
            credentials
                .api_key
                .as_ref()
                .ok_or_else(|| missing("api_key"))?;
            credentials
                .public_key
                .as_ref()
                .ok_or_else(|| missing("public_key"))?;
        }
        ProviderKind::Simulator => {}
    }
    Ok(())
}
