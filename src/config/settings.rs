//! Checked configuration: every value parsed into the type the service uses.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{ConfigError, RawConfig};
use crate::channels::ChannelSet;
use crate::privacy::MasterKey;
use crate::privacy::master_key::KeyOrigin;

/// Where the service runs; production refuses what is only acceptable on a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The database to use. `Debug` and `describe` never show a password.
#[derive(Clone)]
pub enum DatabaseUrl {
    Sqlite { path: PathBuf },
    Postgres { url: SecretString },
}

/// The configuration the service runs with, after every check passed.
#[derive(Debug)]
pub struct Settings {
    pub environment: Environment,
    pub listen: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub database_max_connections: u32,
    /// The key given in the environment or the key file, already parsed; `None` means
    /// there is neither, and a key is made on first start.
    pub master_key: Option<(MasterKey, KeyOrigin)>,
    pub master_key_file: PathBuf,
    pub smtp_url: Option<SecretString>,
    pub log_format: LogFormat,
    pub body_limit_bytes: usize,
    pub shutdown_timeout: Duration,
    pub setup_link_ttl: Duration,
    pub retention: crate::retention::RetentionPolicy,
    pub allow_number_reveal: bool,
    pub channels: ChannelSet,
}

/// Secret values that ship in examples and tutorials; production refuses them.
const PLACEHOLDER_SECRETS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "secret",
    "password",
    "xxx",
];

impl Settings {
    pub(super) fn from_raw(
        mut raw: RawConfig,
        variables: &[(String, String)],
    ) -> Result<Self, ConfigError> {
        let environment = parse_environment(&raw.env)?;
        let listen: SocketAddr = raw.listen.parse().map_err(|_| {
            ConfigError::new("listen", format!("`{}` is not an address:port", raw.listen))
        })?;
        let public_url = parse_public_url(raw.public_url.as_deref(), listen)?;
        let database_url = match &raw.database_url {
            Some(url) => DatabaseUrl::parse(url.expose_secret())?,
            None => DatabaseUrl::Sqlite {
                path: raw.data_dir.join("textline.db"),
            },
        };
        let master_key_file = raw
            .master_key_file
            .clone()
            .unwrap_or_else(|| raw.data_dir.join("master.key"));
        let master_key = match &raw.master_key {
            Some(encoded) => Some((
                MasterKey::parse(encoded.expose_secret())
                    .map_err(|error| ConfigError::new("master_key", error.to_string()))?,
                KeyOrigin::Environment,
            )),
            None => read_key_file(&master_key_file)?
                .map(|key| (key, KeyOrigin::File(master_key_file.clone()))),
        };
        let channels = match raw.provider.take() {
            Some(_) if !raw.channels.is_empty() => {
                return Err(ConfigError::new(
                    "provider",
                    "set either the quick-setup provider or [[channels]], not both",
                ));
            }
            Some(provider) => vec![super::channels::quick_setup_channel(&provider, variables)],
            None => std::mem::take(&mut raw.channels),
        };
        let channels = ChannelSet::from_raw(channels)?;
        let smtp_url = raw.smtp_url.clone();
        if let Some(url) = &smtp_url {
            check_smtp_url(url.expose_secret())?;
        }
        let settings = Self {
            environment,
            listen,
            public_url,
            data_dir: raw.data_dir,
            database_url,
            database_max_connections: check_positive(
                "database_max_connections",
                raw.database_max_connections,
            )?,
            master_key,
            master_key_file,
            smtp_url,
            log_format: parse_log_format(&raw.log_format)?,
            body_limit_bytes: check_positive("body_limit_bytes", raw.body_limit_bytes)?,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_secs),
            setup_link_ttl: Duration::from_secs(
                60 * u64::from(check_positive(
                    "setup_link_minutes",
                    raw.setup_link_minutes,
                )?),
            ),
            retention: crate::retention::RetentionPolicy {
                body_days: check_positive("retention_body_days", raw.retention_body_days)?,
                audit_days: check_positive("retention_audit_days", raw.retention_audit_days)?,
            },
            allow_number_reveal: raw.allow_number_reveal,
            channels,
        };
        if environment == Environment::Production {
            settings.check_production(raw.public_url.is_some())?;
        }
        Ok(settings)
    }

    /// Production refuses plain-HTTP public URLs, placeholder secrets, and a database or
    /// SMTP password taken from an example.
    fn check_production(&self, public_url_given: bool) -> Result<(), ConfigError> {
        if !public_url_given {
            return Err(ConfigError::new("public_url", "must be set in production"));
        }
        if self.public_url.scheme() != "https" {
            return Err(ConfigError::new(
                "public_url",
                "must be https in production",
            ));
        }
        if let DatabaseUrl::Postgres { url } = &self.database_url {
            check_url_password("database_url", url.expose_secret())?;
        }
        if let Some(url) = &self.smtp_url {
            check_url_password("smtp_url", url.expose_secret())?;
        }
        for channel in self.channels.iter() {
            for (name, secret) in channel.secrets() {
                if is_placeholder(secret.expose_secret()) {
                    return Err(ConfigError::new(
                        &format!("channels.{}.{name}", channel.name),
                        "holds a placeholder secret; refusing in production",
                    ));
                }
            }
        }
        Ok(())
    }
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        if let Some(rest) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() || path.starts_with(':') {
                return Err(ConfigError::new(
                    "database_url",
                    "a SQLite URL needs a file path",
                ));
            }
            return Ok(Self::Sqlite {
                path: PathBuf::from(path),
            });
        }
        let url =
            Url::parse(text).map_err(|_| ConfigError::new("database_url", "is not a valid URL"))?;
        match url.scheme() {
            "postgres" | "postgresql" if url.host_str().is_some() => Ok(Self::Postgres {
                url: SecretString::from(text.to_owned()),
            }),
            "postgres" | "postgresql" => Err(ConfigError::new(
                "database_url",
                "a PostgreSQL URL needs a host",
            )),
            other => Err(ConfigError::new(
                "database_url",
                format!("scheme `{other}` is not supported; use sqlite:// or postgres://"),
            )),
        }
    }

    /// The URL as it may be printed: the SQLite path, or the PostgreSQL URL with no
    /// password and no query options.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite {}", path.display()),
            Self::Postgres { url } => match Url::parse(url.expose_secret()) {
                Ok(mut url) => {
                    let _ = url.set_password(None);
                    url.set_query(None);
                    format!("postgres {url}")
                }
                Err(_) => "postgres".into(),
            },
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

fn parse_environment(text: &str) -> Result<Environment, ConfigError> {
    match text {
        "development" => Ok(Environment::Development),
        "production" => Ok(Environment::Production),
        other => Err(ConfigError::new(
            "env",
            format!("`{other}` is neither `development` nor `production`"),
        )),
    }
}

fn parse_log_format(text: &str) -> Result<LogFormat, ConfigError> {
    match text {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(ConfigError::new(
            "log_format",
            format!("`{other}` is neither text nor json"),
        )),
    }
}

fn parse_public_url(text: Option<&str>, listen: SocketAddr) -> Result<Url, ConfigError> {
    let Some(text) = text else {
        return Url::parse(&format!("http://{listen}"))
            .map_err(|_| ConfigError::new("listen", "cannot form a URL from it"));
    };
    let url = Url::parse(text).map_err(|_| ConfigError::new("public_url", "is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(
            "public_url",
            "must be an http:// or https:// URL",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ConfigError::new(
            "public_url",
            "must not carry a query, fragment or user",
        ));
    }
    Ok(url)
}

fn check_smtp_url(text: &str) -> Result<(), ConfigError> {
    let url = Url::parse(text).map_err(|_| ConfigError::new("smtp_url", "is not a valid URL"))?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
        return Err(ConfigError::new(
            "smtp_url",
            "must be an smtp:// or smtps:// URL with a host",
        ));
    }
    Ok(())
}

fn check_url_password(key: &str, text: &str) -> Result<(), ConfigError> {
    let password = Url::parse(text)
        .ok()
        .and_then(|url| url.password().map(str::to_owned));
    match password {
        Some(password) if is_placeholder(&password) => Err(ConfigError::new(
            key,
            "holds a placeholder password; refusing in production",
        )),
        _ => Ok(()),
    }
}

/// Whether a secret is one of the well-known example values.
pub(crate) fn is_placeholder(secret: &str) -> bool {
    let lowered = secret.trim().to_lowercase();
    lowered.is_empty() || PLACEHOLDER_SECRETS.contains(&lowered.as_str())
}

fn check_positive<T: Default + PartialEq>(key: &str, value: T) -> Result<T, ConfigError> {
    if value == T::default() {
        return Err(ConfigError::new(key, "must be greater than zero"));
    }
    Ok(value)
}

/// Reads the key file if there is one. A file that others can read, or that cannot be read,
/// stops the service: a master key must never sit where another account can copy it.
fn read_key_file(path: &std::path::Path) -> Result<Option<MasterKey>, ConfigError> {
    use std::os::unix::fs::PermissionsExt;

    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigError::new(
                "master_key_file",
                format!("{} cannot be read: {error}", path.display()),
            ));
        }
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::new(
            "master_key_file",
            format!(
                "{} is readable by other accounts (mode {mode:o}); run `chmod 600` on it",
                path.display()
            ),
        ));
    }
    let encoded = std::fs::read_to_string(path).map_err(|error| {
        ConfigError::new(
            "master_key_file",
            format!("{} cannot be read: {error}", path.display()),
        )
    })?;
    MasterKey::parse(&encoded)
        .map(Some)
        .map_err(|error| ConfigError::new("master_key_file", format!("the key {error}")))
}
