//! The command line: `serve` (the default), `migrate`, `user add`, `token create`, `version`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::config::Settings;
use crate::privacy::EmailAddress;
use crate::privacy::master_key::KeyOrigin;
use crate::staff::{self, Role};
use crate::startup::{Application, StartupReport};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "textline",
    about = "SMS hotline gateway for crisis and anti-trafficking hotlines"
)]
pub struct Cli {
    /// Configuration file (default: ./textline.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account; the password is read from standard input.
    Add {
        /// The person's email address, used to sign in.
        email: String,
        /// What the account may do.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from standard input (required: passwords never go in argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account and print it once.
    Create {
        /// The account's email address.
        email: String,
    },
}

/// Runs the chosen command to completion.
pub async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::User(UserCommand::Add { email, role, .. }) => {
            add_user(settings, &email, role).await
        }
        Command::Token(TokenCommand::Create { email }) => create_token(settings, &email).await,
        Command::Version => {
            println!("textline {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let application = Application::build(settings, Clock::system()).await?;
    print_report(application.report());
    application
        .run_until_stopped()
        .await
        .context("run the http server")?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let applied = store.migrate().await.context("apply migrations")?;
    println!(
        "{} migration(s) applied; {} is at version {}",
        applied,
        settings.database_url.describe(),
        store.expected_version()
    );
    store.close().await;
    Ok(())
}

async fn add_user(settings: Settings, email: &str, role: Role) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("email")?;
    let password = read_password_from_stdin()?;
    let store = open_store(&settings).await?;
    store.migrate().await.context("apply migrations")?;
    let user_id = staff::add_user(&store, &Clock::system(), &email, role, password).await?;
    println!("created {role} account #{user_id}");
    store.close().await;
    Ok(())
}

async fn create_token(settings: Settings, email: &str) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).context("email")?;
    let store = open_store(&settings).await?;
    store.migrate().await.context("apply migrations")?;
    let token = staff::create_api_token(&store, &Clock::system(), &email).await?;
    println!("{}", token.expose_secret());
    eprintln!("This token is shown once. Store it in a password manager.");
    store.close().await;
    Ok(())
}

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir).context("create the data directory")?;
    Store::connect(&settings.database_url, settings.database_max_connections)
        .await
        .context("open the database")
}

fn read_password_from_stdin() -> anyhow::Result<SecretString> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("read the password from stdin")?;
    let password = text.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(SecretString::from(password))
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

/// Tells the operator what started, on standard output.
fn print_report(report: &StartupReport) {
    println!(
        "Textline {} is serving on {}",
        env!("CARGO_PKG_VERSION"),
        report.url
    );
    println!(
        "  database:   {} ({} migration(s) applied now)",
        report.database, report.migrations_applied
    );
    match &report.key_origin {
        KeyOrigin::Environment => {
            println!("  master key: {} from TEXTLINE_MASTER_KEY", report.key_id)
        }
        KeyOrigin::File(path) => {
            println!("  master key: {} from {}", report.key_id, path.display())
        }
        KeyOrigin::Created(path) => {
            println!(
                "  master key: {} CREATED in {}",
                report.key_id,
                path.display()
            );
            println!();
            println!("  !! BACK UP THIS KEY FILE NOW, apart from the database backups.");
            println!("  !! Without it, nothing sealed in the database can ever be read again.");
            println!();
        }
    }
    println!("  channels:   {}", report.channels.join(", "));
    if let Some(link) = &report.setup_link {
        println!();
        println!(
            "  No accounts yet. Create the first admin within {} minutes (works once):",
            report.setup_link_minutes
        );
        println!("  {}", link.expose_secret());
    }
}
