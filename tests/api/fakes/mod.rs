//! Local stand-ins for the SMS providers' send APIs: real HTTP servers on 127.0.0.1 that
//! speak each provider's wire format (reference/sms-providers.md), check credentials and
//! required fields, record every text they take in, and answer as a test scripts them.
//!
//! A request with bad credentials or a missing field is answered the way the real API
//! answers it and is neither recorded nor counted against the script. Every other request
//! is recorded first, then answered with the next scripted reply (success once the script
//! runs out).

pub mod telnyx;
pub mod twilio;
pub mod vonage;

use std::collections::{BTreeMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

pub use telnyx::FakeTelnyx;
pub use twilio::FakeTwilio;
pub use vonage::FakeVonage;

/// How a fake answers one request.
#[derive(Debug, Clone)]
pub enum FakeReply {
    /// The provider's success answer, with a fresh message id.
    Accept,
    /// HTTP 429 with this `Retry-After` value, if any, as the provider sends it.
    TooManyRequests { retry_after: Option<String> },
    /// HTTP 500 with the provider's internal-error body.
    ServerError,
    /// Waits this long, then succeeds: a provider that took the text but answered too late.
    Hang(Duration),
    /// The provider's error `code` with this HTTP status. Vonage always answers 200 and
    /// puts the code in `messages[0].status`, so it ignores `http_status`.
    Code { http_status: u16, code: u32 },
}

/// A text as the fake received it.
#[derive(Debug, Clone)]
pub struct ReceivedText {
    pub at: Instant,
    pub to: String,
    pub from: String,
    pub body: String,
    /// Every field of the request by its wire name (top-level strings for JSON bodies).
    pub fields: BTreeMap<String, String>,
}

/// The running server behind one fake, with its script and what it received.
struct FakeServer {
    base_url: String,
    recorder: Arc<Recorder>,
    _handle: ServerHandle,
}

/// The script and the log, shared between a fake and its request handlers.
#[derive(Default)]
struct Recorder {
    script: Mutex<VecDeque<FakeReply>>,
    received: Mutex<Vec<ReceivedText>>,
}

impl FakeServer {
    /// Serves `routes` on a free loopback port, with `state` and the recorder as app data.
    fn start<S: Send + Sync + 'static>(state: S, routes: fn(&mut web::ServiceConfig)) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
        let port = listener
            .local_addr()
            .expect("listener has an address")
            .port();
        let recorder = Arc::new(Recorder::default());
        let state = web::Data::new(state);

        let shared = web::Data::from(recorder.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(shared.clone())
                .configure(routes)
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("serve on the bound listener")
        .run();
        let handle = server.handle();
        tokio::spawn(server);

        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            recorder,
            _handle: handle,
        }
    }

    fn script(&self, replies: Vec<FakeReply>) {
        self.recorder
            .script
            .lock()
            .expect("script lock")
            .extend(replies);
    }

    fn received(&self) -> Vec<ReceivedText> {
        self.recorder
            .received
            .lock()
            .expect("received lock")
            .clone()
    }
}

impl Recorder {
    /// Records the text and takes the next scripted reply.
    fn take(&self, text: ReceivedText) -> FakeReply {
        self.received.lock().expect("received lock").push(text);
        let next = self.script.lock().expect("script lock").pop_front();
        next.unwrap_or(FakeReply::Accept)
    }
}

/// Reads a form-encoded body into its fields (the last value wins for a repeated name).
fn form_fields(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A fresh id of `len` uppercase hex digits.
fn fresh_hex_id(len: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    hex[..len.min(hex.len())].to_owned()
}

/// `Some(value)` when it is given and not blank.
fn present<'a>(fields: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.trim().is_empty())
}
