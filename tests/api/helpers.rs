//! The test harness: a running Textline per test, on its own database.
//!
//! The backend is SQLite unless `TEXTLINE_TEST_POSTGRES_URL` names a PostgreSQL server, in
//! which case every test gets its own schema there, dropped when the test ends.

use std::path::{Path, PathBuf};
use std::sync::Once;

use secrecy::ExposeSecret;
use textline::clock::{Clock, Timestamp};
use textline::config::{self, Settings};
use textline::privacy::MasterKey;
use textline::startup::Application;
use textline::store::Store;

pub const POSTGRES_URL_VARIABLE: &str = "TEXTLINE_TEST_POSTGRES_URL";

/// A service running on a free port for one test.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub clock: Clock,
    pub setup_link: Option<String>,
    pub database: TestDatabase,
    pub master_key: String,
    /// The service's keys, to seal contacts and texts that tests queue directly.
    pub vault: std::sync::Arc<textline::privacy::vault::Vault>,
    _handle: actix_web::dev::ServerHandle,
}

/// A database of its own for one test: a SQLite file in a temporary directory, or a
/// PostgreSQL schema dropped when the test ends (even when it fails).
pub struct TestDatabase {
    pub data_dir: tempfile::TempDir,
    pub url: String,
    postgres_schema: Option<(String, String)>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches the service")
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request reaches the service")
    }
}

/// Starts a service with default settings on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a service with extra `TEXTLINE_*` variables on a fresh database.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let database = TestDatabase::create().await;
    spawn_app_on(database, MasterKey::generate().encode(), extra).await
}

/// Starts a service on an existing test database with the given master key.
pub async fn spawn_app_on(
    database: TestDatabase,
    master_key: String,
    extra: &[(&str, &str)],
) -> TestApp {
    init_test_logs();
    let mut environment = database.environment();
    environment.push(("TEXTLINE_MASTER_KEY".into(), master_key.clone()));
    environment.extend(
        extra
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    );
    let settings = load_settings(&database.data_dir.path().join("textline.toml"), environment);
    start(settings, database, master_key).await
}

async fn start(settings: Settings, database: TestDatabase, master_key: String) -> TestApp {
    let clock = Clock::manual(Timestamp(1_796_300_000_000));
    let application = Application::build(settings, clock.clone())
        .await
        .expect("the service starts");
    let address = application.report().url.clone();
    let setup_link = application
        .report()
        .setup_link
        .as_ref()
        .map(|link| link.expose_secret().to_owned());
    let store = application.store();
    let vault = application.vault();
    let handle = application.server_handle();
    tokio::spawn(application.run_until_stopped());

    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client builds"),
        store,
        clock,
        setup_link,
        database,
        master_key,
        vault,
        _handle: handle,
    }
}

/// Reads settings as the binary would, from an empty file and the given environment.
pub fn load_settings(file: &Path, environment: Vec<(String, String)>) -> Settings {
    std::fs::write(file, "").expect("write empty config");
    config::load(Some(file), environment).expect("test settings are valid")
}

impl TestDatabase {
    pub async fn create() -> Self {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        match postgres_base_url() {
            Some(base) => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                run_postgres(&base, &format!("CREATE SCHEMA {schema}")).await;
                let mut url = url::Url::parse(&base).expect("valid PostgreSQL URL");
                // The application name marks the test's sessions, so the cleanup can end
                // any that its service left open.
                url.query_pairs_mut()
                    .append_pair("options", &format!("-c search_path={schema}"))
                    .append_pair("application_name", &schema);
                Self {
                    data_dir,
                    url: url.to_string(),
                    postgres_schema: Some((base, schema)),
                }
            }
            None => {
                let path = data_dir.path().join("textline.db");
                let url = format!("sqlite://{}", path.display());
                Self {
                    data_dir,
                    url,
                    postgres_schema: None,
                }
            }
        }
    }

    /// The variables that point a service at this database and data directory.
    pub fn environment(&self) -> Vec<(String, String)> {
        vec![
            ("TEXTLINE_LISTEN".into(), "127.0.0.1:0".into()),
            (
                "TEXTLINE_DATA_DIR".into(),
                self.data_dir.path().display().to_string(),
            ),
            ("TEXTLINE_DATABASE_URL".into(), self.url.clone()),
        ]
    }

    pub fn data_path(&self, name: &str) -> PathBuf {
        self.data_dir.path().join(name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((base, schema)) = self.postgres_schema.take() else {
            return;
        };
        // The test's service may still run on this thread's runtime and hold locks the
        // drop waits for; so the drop runs on a thread of its own, ends the service's
        // sessions first, and is waited for only briefly. A schema left behind by a test
        // that ends with the process goes with the CI database.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let sessions = format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = '{schema}'"
                );
                runtime.block_on(run_postgres(&base, &sessions));
                runtime.block_on(run_postgres(
                    &base,
                    &format!("DROP SCHEMA {schema} CASCADE"),
                ));
            }
            let _ = done.send(());
        });
        let _ = finished.recv_timeout(std::time::Duration::from_secs(5));
    }
}

pub fn postgres_base_url() -> Option<String> {
    let url = std::env::var(POSTGRES_URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        static NOTE: Once = Once::new();
        NOTE.call_once(|| {
            eprintln!(
                "note: {POSTGRES_URL_VARIABLE} is not set, so these tests run on SQLite only; \
                 PostgreSQL tests are skipped"
            );
        });
    }
    url
}

async fn run_postgres(url: &str, statement: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the PostgreSQL test server");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut connection)
        .await
        .expect("run PostgreSQL test statement");
}

fn init_test_logs() {
    if std::env::var_os("TEXTLINE_TEST_LOG").is_some() {
        textline::telemetry::init(textline::config::LogFormat::Text);
    }
}

/// The path of the built `textline` binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_textline")
}

impl TestApp {
    /// Creates an account with `role` and returns an API token for it.
    pub async fn token_for(&self, role: textline::staff::Role) -> String {
        use textline::privacy::EmailAddress;
        let email =
            EmailAddress::parse(&format!("{}-{}@example.org", role, uuid::Uuid::new_v4())).unwrap();
        let password = secrecy::SecretString::from("a long enough test password");
        textline::staff::add_user(&self.store, &self.clock, &email, role, password)
            .await
            .unwrap();
        let token = textline::staff::create_api_token(&self.store, &self.clock, &email).await;
        token.unwrap().expose_secret().to_owned()
    }
}

impl TestApp {
    /// One number from a query on the test database, for assertions on stored state.
    /// One number from a query on the test database, for assertions on stored state.
    pub async fn scalar(&self, sql: &str) -> i64 {
        self.query_one(sql).await
    }

    /// Texts a line as a pretend texter through the simulator channel.
    pub async fn text_from(&self, token: &str, from: &str, body: &str) -> serde_json::Value {
        let response = self
            .client
            .post(self.url("/api/v1/simulator/messages"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "from": from, "body": body }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "simulated text accepted");
        response.json().await.unwrap()
    }

    /// What the hotline has texted to simulated phones, waiting up to two seconds for at
    /// least `count` texts.
    pub async fn simulated_replies(&self, token: &str, count: usize) -> Vec<serde_json::Value> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let replies: Vec<serde_json::Value> = self
                .get_with_token("/api/v1/simulator/messages", token)
                .await
                .json()
                .await
                .unwrap();
            if replies.len() >= count || std::time::Instant::now() > deadline {
                return replies;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Starts a service with a `textline.toml` of the given text and extra variables.
pub async fn spawn_app_configured(config: &str, extra: &[(&str, &str)]) -> TestApp {
    let database = TestDatabase::create().await;
    spawn_app_configured_on(database, MasterKey::generate().encode(), config, extra).await
}

/// Starts a service with a `textline.toml` of the given text on an existing test database.
pub async fn spawn_app_configured_on(
    database: TestDatabase,
    master_key: String,
    config: &str,
    extra: &[(&str, &str)],
) -> TestApp {
    init_test_logs();
    let mut environment = database.environment();
    environment.push(("TEXTLINE_MASTER_KEY".into(), master_key.clone()));
    environment.extend(
        extra
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    );
    let file = database.data_dir.path().join("textline.toml");
    std::fs::write(&file, config).expect("write config");
    let settings = config::load(Some(&file), environment).expect("test settings are valid");
    start(settings, database, master_key).await
}

impl TestApp {
    /// Waits up to two seconds for a query to give `expected`, then returns what it gives.
    /// For state the outbox worker writes after a send.
    pub async fn eventually(&self, sql: &str, expected: i64) -> i64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let value = self.scalar(sql).await;
            if value == expected || std::time::Instant::now() > deadline {
                return value;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl TestApp {
    /// Runs one statement on the test database, as an intruder or an operator would.
    pub async fn execute(&self, statement: &str) {
        use sqlx::Connection;
        let statement = sqlx::AssertSqlSafe(statement.to_owned());
        if self.database.url.starts_with("sqlite") {
            let mut connection = sqlx::SqliteConnection::connect(&self.database.url)
                .await
                .unwrap();
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .unwrap();
        } else {
            let mut connection = sqlx::PgConnection::connect(&self.database.url)
                .await
                .unwrap();
            sqlx::query(statement)
                .execute(&mut connection)
                .await
                .unwrap();
        }
    }

    /// One text value from a query on the test database.
    /// One text value from a query on the test database.
    pub async fn text(&self, sql: &str) -> String {
        self.query_one(sql).await
    }

    /// The single value a query gives, on whichever backend the test runs.
    async fn query_one<T>(&self, sql: &str) -> T
    where
        T: Send + Unpin,
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        use sqlx::Connection;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.database.url.starts_with("sqlite") {
            let mut connection = sqlx::SqliteConnection::connect(&self.database.url)
                .await
                .unwrap();
            sqlx::query_scalar(sql)
                .fetch_one(&mut connection)
                .await
                .unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(&self.database.url)
                .await
                .unwrap();
            sqlx::query_scalar(sql)
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
    }
}
