//! The command line: `serve` (the default), `migrate`, `user add`, `token create`, `version`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::audit::{self, Actor};
use crate::catalog::{self, Catalog};
use crate::clock::Clock;
use crate::config::Settings;
use crate::contacts;
use crate::key_rotation;
use crate::privacy::EmailAddress;
use crate::privacy::alias::Alias;
use crate::privacy::master_key::KeyOrigin;
use crate::retention;
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
    /// Act on a texter's record by alias.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the master key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Destroy what the retention policy says has expired.
    Purge {
        /// Only count what would be destroyed.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check the message catalog in messages/.
    #[command(subcommand)]
    Messages(MessagesCommand),
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// Check every language has every text in both forms, with matching placeholders and no
    /// revealing words in discreet forms; print each text's encoding and segment count.
    Check {
        /// Check this directory of catalog files instead of the built-in catalog.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Erase a texter's data for good, keeping only the record that stops future texts.
    Erase {
        /// The texter's alias, as staff see it (for example K7QF-29).
        alias: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Replace the master key while the service runs: re-wrap every texter's data key
    /// under a new key, then retire the old one. Run it again to resume if it stops.
    ///
    /// With a key file, the new key is written to `<key file>.next` and replaces the key
    /// file at the end. With TEXTLINE_MASTER_KEY, the new key is printed once: store it in
    /// your secret manager, then run again with TEXTLINE_MASTER_KEY set to it to finish.
    /// Afterwards, destroy every copy of the old key.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no audit entry was edited or deleted.
    Verify,
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
        Command::Contacts(ContactsCommand::Erase { alias }) => {
            erase_contact(settings, &alias).await
        }
        Command::Audit(AuditCommand::Verify) => verify_audit(settings).await,
        Command::Keys(KeysCommand::Rotate) => key_rotation::run(settings).await,
        Command::Purge { dry_run } => purge(settings, dry_run).await,
        Command::Messages(MessagesCommand::Check { dir }) => check_messages(dir.as_deref()),
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

async fn erase_contact(settings: Settings, alias: &str) -> anyhow::Result<()> {
    let alias = Alias::parse(alias).context("alias")?;
    let store = open_store(&settings).await?;
    store.migrate().await.context("apply migrations")?;
    let erased = contacts::erase(&store, &Clock::system(), &alias, Actor::Operator).await?;
    println!(
        "erased {alias}: {} message bodies and {} notes destroyed, {} tickets closed",
        erased.message_bodies, erased.notes, erased.tickets_closed
    );
    store.close().await;
    Ok(())
}

async fn verify_audit(settings: Settings) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    let report = audit::verify(&store).await?;
    println!(
        "audit chain intact: {} entries, {} to {}",
        report.entries, report.first_id, report.last_id
    );
    store.close().await;
    Ok(())
}

async fn purge(settings: Settings, dry_run: bool) -> anyhow::Result<()> {
    let store = open_store(&settings).await?;
    store.migrate().await.context("apply migrations")?;
    let report = retention::purge(&store, &Clock::system(), settings.retention, dry_run).await?;
    let verb = if dry_run {
        "would destroy"
    } else {
        "destroyed"
    };
    println!(
        "{verb}: {} message bodies, {} notes (tickets closed over {} days ago), \
         {} audit entries (over {} days old)",
        report.message_bodies,
        report.notes,
        settings.retention.body_days,
        report.audit_entries,
        settings.retention.audit_days
    );
    store.close().await;
    Ok(())
}

fn check_messages(dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    let catalog = match dir {
        Some(dir) => Catalog::from_dir(dir).context("read the catalog")?,
        None => Catalog::load_embedded().context("read the built-in catalog")?,
    };
    for report in catalog::segment_report(&catalog) {
        println!("{report}");
    }
    let problems = catalog::check(&catalog);
    for problem in &problems {
        eprintln!("problem: {problem}");
    }
    if !problems.is_empty() {
        bail!("{} problem(s) in the message catalog", problems.len());
    }
    println!(
        "message catalog ok: {} languages",
        catalog.languages().len()
    );
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
    println!("  email:      {}", report.email);
    if let Some(link) = &report.setup_link {
        println!();
        println!(
            "  No accounts yet. Create the first admin within {} minutes (works once):",
            report.setup_link_minutes
        );
        println!("  {}", link.expose_secret());
    }
}
