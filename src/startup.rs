//! Building and running the service: open the store, check the key, bind, serve.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use secrecy::{ExposeSecret, SecretString};
use tokio_cron_scheduler::JobScheduler;

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::catalog::{self, Catalog};
use crate::channels::{Channel, ChannelSet};
use crate::clock::{Clock, Timestamp};
use crate::config::Settings;
use crate::jobs::{self, JobContext};
use crate::live::LiveUpdates;
use crate::notify::{MailError, Mailer};
use crate::outbox::clients::ClientError;
use crate::outbox::clients::telnyx::{TelnyxClient, TelnyxConfig};
use crate::outbox::clients::twilio::{TwilioClient, TwilioConfig};
use crate::outbox::clients::vonage::{VonageClient, VonageConfig};
use crate::outbox::send::ProviderClient;
use crate::outbox::simulator::Simulator;
use crate::outbox::worker::OutboxWorker;
use crate::privacy::master_key::{self, KeyError, KeyOrigin};
use crate::privacy::rotation::{self, RotationError, RotationFollower};
use crate::privacy::vault::Vault;
use crate::providers::ProviderKind;
use crate::staff::{self, StaffError};
use crate::store::{Store, StoreError};
use crate::telemetry::metrics::Metrics;
use crate::web::{self, AppState};

/// On a shared database, a send claimed longer ago than this is taken to be interrupted.
const INTERRUPTED_AFTER: Duration = Duration::from_secs(120);

/// How long the outbox gets at shutdown to finish the sends it started.
const OUTBOX_DRAIN: Duration = Duration::from_secs(15);

/// A service that is bound and ready to run.
pub struct Application {
    server: Server,
    store: Store,
    scheduler: JobScheduler,
    outbox: JoinSet<()>,
    stop_outbox: watch::Sender<bool>,
    simulator: Arc<Simulator>,
    report: StartupReport,
    rotation: RotationFollower,
}

/// What the service did while starting, for the operator.
pub struct StartupReport {
    pub url: String,
    pub database: String,
    pub migrations_applied: usize,
    pub key_id: String,
    pub key_origin: KeyOrigin,
    pub channels: Vec<String>,
    pub email: String,
    /// A first-admin link, present while no account exists. It carries a secret.
    pub setup_link: Option<SecretString>,
    pub setup_link_minutes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[source] StoreError),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("{0}")]
    Rotation(#[from] RotationError),
    #[error("cannot prepare the first-admin link: {0}")]
    Setup(#[source] StaffError),
    #[error("channel {channel}: cannot build its provider client: {error}")]
    Client { channel: String, error: ClientError },
    #[error("{0}")]
    Mail(#[source] MailError),
    #[error("the message catalog has problems (run `textline messages check`): {0}")]
    Catalog(String),
    #[error("cannot start the job scheduler: {0}")]
    Jobs(#[source] tokio_cron_scheduler::JobSchedulerError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

impl Application {
    /// Opens the store, applies migrations, establishes the master key, and binds the
    /// listener (port 0 picks a free port, for tests).
    pub async fn build(mut settings: Settings, clock: Clock) -> Result<Self, StartupError> {
        create_data_dir(&settings.data_dir)?;
        let catalog = load_catalog()?;
        let mailer = Mailer::from_url(settings.smtp_url.as_ref()).map_err(StartupError::Mail)?;
        let store = Store::connect(&settings.database_url, settings.database_max_connections)
            .await
            .map_err(StartupError::Store)?;
        let migrations_applied = store.migrate().await.map_err(StartupError::Store)?;

        let (key, key_origin) = master_key::establish(
            settings.master_key.take(),
            &settings.master_key_file,
            &store,
            &clock,
        )
        .await?;
        let setup_link = staff::open_setup_link(&store, &clock, settings.setup_link_ttl)
            .await
            .map_err(StartupError::Setup)?;

        let listener = TcpListener::bind(settings.listen).map_err(|source| StartupError::Bind {
            address: settings.listen.to_string(),
            source,
        })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.listen.to_string(),
            source,
        })?;
        let mut public_url = settings.public_url.clone();
        if settings.listen.port() == 0 && public_url.port() == Some(0) {
            let _ = public_url.set_port(Some(address.port()));
        }
        let key_id = key.id();
        let vault = Arc::new(Vault::new(key));
        rotation::follow_rotation(&store, &vault).await?;
        let rotation = rotation::spawn_follower(store.clone(), vault.clone());
        let scheduler = jobs::start(JobContext {
            store: store.clone(),
            clock: clock.clone(),
            retention: settings.retention,
        })
        .await
        .map_err(StartupError::Jobs)?;
        let simulator = Arc::new(Simulator::new());
        let state = AppState {
            simulator: simulator.clone(),
            store: store.clone(),
            clock,
            vault,
            catalog: Arc::new(catalog),
            channels: Arc::new(std::mem::take(&mut settings.channels)),
            metrics: Metrics::new(),
            live: LiveUpdates::new(),
            outbox_wakeup: Arc::new(Notify::new()),
            public_url: public_url.as_str().trim_end_matches('/').to_owned(),
            body_limit_bytes: settings.body_limit_bytes,
            allow_number_reveal: settings.allow_number_reveal,
        };
        let channels = state.channels.describe();
        let worker = OutboxWorker::new(
            store.clone(),
            state.vault.clone(),
            state.clock.clone(),
            state.channels.clone(),
            provider_clients(&state.channels, &simulator)?,
            state.outbox_wakeup.clone(),
            state.public_url.clone(),
        );
        // One node (SQLite): anything still `sending` was cut off by the last stop. Several
        // nodes may share PostgreSQL: only sends stuck for minutes count, at start and in
        // the worker's sweep.
        let shared_database = store.backend_name() != "sqlite";
        let interrupted_before = if shared_database {
            Timestamp(state.clock.now().millis() - INTERRUPTED_AFTER.as_millis() as i64)
        } else {
            state.clock.now().plus(Duration::from_secs(1))
        };
        worker
            .reconcile_interrupted(interrupted_before)
            .await
            .map_err(StartupError::Store)?;
        let (stop_outbox, stop_receiver) = watch::channel(false);
        let outbox = worker.spawn(stop_receiver, shared_database.then_some(INTERRUPTED_AFTER));
        let server = serve(listener, &settings, state)?;

        let base = public_url.as_str().trim_end_matches('/').to_owned();
        let report = StartupReport {
            url: format!("http://{address}"),
            database: settings.database_url.describe(),
            migrations_applied,
            key_id,
            key_origin,
            channels,
            email: mailer.describe(),
            setup_link: setup_link.map(|code| {
                SecretString::from(format!("{base}/setup#code={}", code.expose_secret()))
            }),
            setup_link_minutes: settings.setup_link_ttl.as_secs() / 60,
        };
        Ok(Self {
            server,
            store,
            scheduler,
            outbox,
            stop_outbox,
            simulator,
            report,
            rotation,
        })
    }

    /// The store the service runs on, for commands and tests that act beside it.
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    pub fn report(&self) -> &StartupReport {
        &self.report
    }

    /// The service's keys, for tests that watch it follow a key rotation.
    pub fn vault(&self) -> Arc<Vault> {
        self.rotation.vault()
    }

    /// Serves until SIGTERM or SIGINT (or the server handle stops it), lets in-flight
    /// requests finish within the shutdown timeout, then closes the database.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let outcome = self.server.await;
        let _ = self.stop_outbox.send(true);
        let drained = tokio::time::timeout(OUTBOX_DRAIN, async {
            while self.outbox.join_next().await.is_some() {}
        });
        if drained.await.is_err() {
            tracing::warn!("outbox sends still running at shutdown; they will be reconciled");
        }
        self.rotation.stop().await;
        if let Err(error) = self.scheduler.shutdown().await {
            tracing::warn!(error = %error, "job scheduler did not stop cleanly");
        }
        self.store.close().await;
        outcome
    }

    /// The simulator's delivered texts, for the phone simulator.
    pub fn simulator(&self) -> Arc<Simulator> {
        self.simulator.clone()
    }

    /// A handle that can stop the server, for tests.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

fn serve(
    listener: TcpListener,
    settings: &Settings,
    state: AppState,
) -> Result<Server, StartupError> {
    let limit = settings.body_limit_bytes;
    let state = actix_web::web::Data::new(state);
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .configure(|config| web::body_limits(config, limit))
            .wrap(web::security_headers())
            .wrap(from_fn(web::middleware::observe_request))
            .configure(web::routes)
    })
    .shutdown_timeout(settings.shutdown_timeout.as_secs())
    .listen(listener)
    .map_err(|source| StartupError::Bind { address, source })?
    .run();
    Ok(server)
}

/// A send client for each channel.
fn provider_clients(
    channels: &ChannelSet,
    simulator: &Arc<Simulator>,
) -> Result<HashMap<String, Arc<dyn ProviderClient>>, StartupError> {
    let mut clients: HashMap<String, Arc<dyn ProviderClient>> = HashMap::new();
    for channel in channels.iter() {
        let client = provider_client(channel, simulator).map_err(|error| StartupError::Client {
            channel: channel.name.clone(),
            error,
        })?;
        clients.insert(channel.name.clone(), client);
    }
    Ok(clients)
}

fn provider_client(
    channel: &Channel,
    simulator: &Arc<Simulator>,
) -> Result<Arc<dyn ProviderClient>, ClientError> {
    let credentials = &channel.credentials;
    let secret = |value: &Option<SecretString>| value.clone().unwrap_or_default();
    let client: Arc<dyn ProviderClient> = match channel.provider {
        ProviderKind::Simulator => simulator.clone(),
        ProviderKind::Twilio => {
            let mut config = TwilioConfig::new(
                credentials.account_sid.clone().unwrap_or_default(),
                secret(&credentials.auth_token),
            );
            if let Some(base) = &credentials.api_base {
                config.base_url = base.clone();
            }
            Arc::new(TwilioClient::new(config)?)
        }
        ProviderKind::Vonage => {
            let mut config = VonageConfig::new(
                secret(&credentials.api_key).expose_secret().to_owned(),
                secret(&credentials.api_secret),
            );
            if let Some(base) = &credentials.api_base {
                config.base_url = base.clone();
            }
            Arc::new(VonageClient::new(config)?)
        }
        ProviderKind::Telnyx => {
            let mut config = TelnyxConfig::new(secret(&credentials.api_key));
            if let Some(base) = &credentials.api_base {
                config.base_url = base.clone();
            }
            Arc::new(TelnyxClient::new(config)?)
        }
    };
    Ok(client)
}

/// The embedded catalog, refused if `catalog::check` finds any problem: a missing
/// discreet form or placeholder would otherwise surface only when a texter needs it.
fn load_catalog() -> Result<Catalog, StartupError> {
    let catalog =
        Catalog::load_embedded().map_err(|error| StartupError::Catalog(error.to_string()))?;
    let problems = catalog::check(&catalog);
    if let Some(first) = problems.first() {
        return Err(StartupError::Catalog(format!(
            "{} problem(s), first: {first}",
            problems.len()
        )));
    }
    Ok(catalog)
}

/// The data directory holds the database and the key file: owner access only.
fn create_data_dir(path: &PathBuf) -> Result<(), StartupError> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| StartupError::DataDir {
            path: path.clone(),
            source,
        })
}
