//! The `textline` binary: read configuration, start logging, run the command, report.

use std::process::ExitCode;

use clap::Parser;
use textline::cli::{self, Cli, Command};
use textline::{config, telemetry};

/// Exit status for configuration errors, distinct from runtime failures.
const CONFIG_ERROR: u8 = 2;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("textline: {error}");
            return ExitCode::from(CONFIG_ERROR);
        }
    };
    telemetry::init(settings.log_format);

    match cli::run(cli.command.unwrap_or(Command::Serve), settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "textline stopped with an error"
            );
            eprintln!("textline: {error:#}");
            ExitCode::FAILURE
        }
    }
}
