//! Logs and metrics.
//!
//! Logs go to standard error, readable lines in a terminal or JSON for collectors. Nothing
//! logged may carry personal data; the types in `privacy::redact` make that the default.

pub mod metrics;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// Variable holding a log filter such as `info` or `textline=debug`.
pub const LOG_FILTER_VARIABLE: &str = "TEXTLINE_LOG";

const DEFAULT_FILTER: &str = "info,sqlx=warn,actix_server=warn,tokio_cron_scheduler=warn";

/// Installs the global subscriber. Safe to call more than once; later calls do nothing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env(LOG_FILTER_VARIABLE)
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::NONE);
    let _already_installed = match format {
        LogFormat::Text => builder.compact().try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
