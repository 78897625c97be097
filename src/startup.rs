//! Building and running the service: open the store, check the key, bind, serve.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};
use secrecy::{ExposeSecret, SecretString};
use tokio_cron_scheduler::JobScheduler;

use crate::clock::Clock;
use crate::config::Settings;
use crate::jobs::{self, JobContext};
use crate::privacy::master_key::{self, KeyError, KeyOrigin};
use crate::privacy::rotation::{self, RotationError, RotationFollower};
use crate::privacy::vault::Vault;
use crate::staff::{self, StaffError};
use crate::store::{Store, StoreError};
use crate::telemetry::metrics::Metrics;
use crate::web::{self, AppState};

/// A service that is bound and ready to run.
pub struct Application {
    server: Server,
    store: Store,
    scheduler: JobScheduler,
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
        let server = serve(listener, &settings, store.clone(), clock, vault)?;

        let base = public_url.as_str().trim_end_matches('/').to_owned();
        let report = StartupReport {
            url: format!("http://{address}"),
            database: settings.database_url.describe(),
            migrations_applied,
            key_id,
            key_origin,
            channels: settings.channels.describe(),
            setup_link: setup_link.map(|code| {
                SecretString::from(format!("{base}/setup#code={}", code.expose_secret()))
            }),
            setup_link_minutes: settings.setup_link_ttl.as_secs() / 60,
        };
        Ok(Self {
            server,
            store,
            scheduler,
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
        self.rotation.stop().await;
        if let Err(error) = self.scheduler.shutdown().await {
            tracing::warn!(error = %error, "job scheduler did not stop cleanly");
        }
        self.store.close().await;
        outcome
    }

    /// A handle that can stop the server, for tests.
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

fn serve(
    listener: TcpListener,
    settings: &Settings,
    store: Store,
    clock: Clock,
    vault: Arc<Vault>,
) -> Result<Server, StartupError> {
    let limit = settings.body_limit_bytes;
    let state = actix_web::web::Data::new(AppState {
        store,
        clock,
        vault,
        metrics: Metrics::new(),
        body_limit_bytes: limit,
        allow_number_reveal: settings.allow_number_reveal,
    });
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
