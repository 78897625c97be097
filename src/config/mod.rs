//! Configuration: defaults in code, then `textline.toml`, then `TEXTLINE_*` variables.
//!
//! The environment wins over the file, so an operator can always override a deployed file
//! without editing it. Loading only gathers values; `settings` checks them and turns them
//! into typed [`Settings`], naming the key for every problem it finds.

pub mod channels;
mod settings;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;

pub use settings::{DatabaseUrl, Environment, LogFormat, Settings};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "textline.toml";

/// Prefix of the environment variables that override the file.
pub const ENV_PREFIX: &str = "TEXTLINE_";

/// Variables with the prefix that are not configuration keys: the test harness's and the
/// log filter's. They are ignored rather than refused.
const NON_CONFIG_VARIABLES: &[&str] = &["test_", "log"];

/// Everything a deployment can set, as written in `textline.toml`. Unknown keys are
/// refused, so a misspelt key stops the service instead of being silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// `development` (default) or `production`, which refuses placeholder secrets.
    pub env: String,
    /// Address and port the HTTP server binds.
    pub listen: String,
    /// Externally visible base URL; webhook signatures are checked against it.
    pub public_url: Option<String>,
    /// Directory for the SQLite database and the master key file.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to a SQLite file in `data_dir`.
    pub database_url: Option<SecretString>,
    /// Largest number of database connections in the pool.
    pub database_max_connections: u32,
    /// The master key, base64 or hex; when unset the key file is used.
    pub master_key: Option<SecretString>,
    /// Where the master key is kept when it is not in the environment.
    pub master_key_file: Option<PathBuf>,
    /// `smtp://` or `smtps://` URL for staff emails; unset means the console transport.
    pub smtp_url: Option<SecretString>,
    /// `text` for terminals, `json` for log collectors.
    pub log_format: String,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Minutes a first-admin setup link stays valid.
    pub setup_link_minutes: u32,
    /// Days after a ticket closes before its message bodies and notes are destroyed.
    pub retention_body_days: u32,
    /// Days an audit entry is kept.
    pub retention_audit_days: u32,
    /// Whether an admin may reveal a texter's number (with a reason, audited).
    pub allow_number_reveal: bool,
    /// Quick setup of one channel named `default`: `twilio`, `vonage` or `telnyx`, with
    /// that provider's variables (`TWILIO_ACCOUNT_SID`, ...).
    pub provider: Option<String>,
    /// The channels, as `[[channels]]` tables.
    pub channels: Vec<channels::RawChannel>,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            env: "development".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_max_connections: 8,
            master_key: None,
            master_key_file: None,
            smtp_url: None,
            log_format: "text".into(),
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 10,
            setup_link_minutes: 60,
            retention_body_days: 90,
            retention_audit_days: 730,
            allow_number_reveal: false,
            provider: None,
            channels: Vec::new(),
        }
    }
}

/// A configuration problem: the key it concerns and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration key `{key}`{origin}: {problem}")]
pub struct ConfigError {
    pub key: String,
    pub origin: String,
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(key: &str, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            origin: String::new(),
            problem: problem.into(),
        }
    }
}

/// Reads the configuration from defaults, the file and the given environment, then checks
/// it. `file` is the `--config` path; without it `textline.toml` is read if present.
pub fn load(
    file: Option<&Path>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let environment: Vec<(String, String)> = environment.into_iter().collect();
    let raw = gather(file, environment.iter().cloned())?;
    Settings::from_raw(raw, &environment)
}

fn gather(
    file: Option<&Path>,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<RawConfig, ConfigError> {
    let mut figment = Figment::new();
    match file {
        Some(path) if !path.is_file() => {
            return Err(ConfigError::new(
                "--config",
                format!("{} does not exist or is not a file", path.display()),
            ));
        }
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
            figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
        }
        None => {}
    }
    let overrides: Vec<(String, String)> = environment
        .into_iter()
        .filter_map(|(name, value)| Some((name.strip_prefix(ENV_PREFIX)?.to_lowercase(), value)))
        .filter(|(key, _)| {
            !NON_CONFIG_VARIABLES
                .iter()
                .any(|skip| key.starts_with(skip))
        })
        .collect();
    // The environment is passed in rather than read here, so each test can have its own
    // without touching the process's. Values stay strings; lossy extraction turns "8" into
    // a number where the key wants one.
    for (key, value) in overrides {
        figment = figment.merge((key, value));
    }

    figment
        .extract_lossy::<RawConfig>()
        .map_err(describe_figment_error)
}

fn describe_figment_error(error: figment::Error) -> ConfigError {
    let key = if error.path.is_empty() {
        match &error.kind {
            figment::error::Kind::UnknownField(field, _) => field.clone(),
            _ => "textline.toml".into(),
        }
    } else {
        error.path.join(".")
    };
    let origin = match error
        .metadata
        .as_ref()
        .and_then(|meta| meta.source.as_ref())
    {
        Some(figment::Source::File(path)) => format!(" (in {})", path.display()),
        _ if error.metadata.is_none() => String::new(),
        _ => format!(" (from {ENV_PREFIX}{})", key.to_uppercase()),
    };
    let problem = match &error.kind {
        figment::error::Kind::UnknownField(field, _) => format!("unknown key `{field}`"),
        figment::error::Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {actual}")
        }
        figment::error::Kind::Message(message) => message.clone(),
        other => other.to_string(),
    };
    let key = match &error.kind {
        figment::error::Kind::UnknownField(field, _) if !error.path.is_empty() => {
            format!("{key}.{field}")
        }
        _ => key,
    };
    ConfigError {
        key,
        origin,
        problem,
    }
}
