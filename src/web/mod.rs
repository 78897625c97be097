//! The HTTP layer: the route table, shared state, and the handlers by area.
//!
//! Handlers parse input into domain types, call the domain modules, and build responses.
//! Nothing below `web/` knows about HTTP.

pub mod api;
pub mod auth;
pub mod errors;
pub mod health;
pub mod middleware;
pub mod setup;
pub mod webhooks;

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web::{self, ServiceConfig};

use std::sync::Arc;

use tokio::sync::Notify;

use crate::catalog::Catalog;
use crate::channels::ChannelSet;
use crate::clock::Clock;
use crate::live::LiveUpdates;
use crate::outbox::simulator::Simulator;
use crate::privacy::vault::Vault;
use crate::store::Store;
use crate::telemetry::metrics::Metrics;

/// What every handler may use. Cloned into each worker thread.
pub struct AppState {
    pub store: Store,
    pub clock: Clock,
    pub vault: Arc<Vault>,
    pub catalog: Arc<Catalog>,
    pub channels: Arc<ChannelSet>,
    pub metrics: Metrics,
    pub live: LiveUpdates,
    /// Woken whenever a text is queued, so the outbox worker sends it at once.
    pub outbox_wakeup: Arc<Notify>,
    /// The externally visible base URL; webhook signatures are checked against it.
    pub public_url: String,
    pub body_limit_bytes: usize,
    pub allow_number_reveal: bool,
    /// The simulator channel's phones, for the simulator page.
    pub simulator: Arc<Simulator>,
}

/// The content security policy: scripts and styles only from Textline itself, nothing
/// inline, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The one route table.
pub fn routes(config: &mut ServiceConfig) {
    config
        .route("/healthz", web::get().to(health::alive))
        .route("/readyz", web::get().to(health::ready))
        .route("/metrics", web::get().to(health::metrics))
        .route("/setup", web::get().to(setup::show_form))
        .route("/setup", web::post().to(setup::create_first_admin))
        .route("/static/setup.js", web::get().to(setup::script))
        .route("/static/app.css", web::get().to(setup::stylesheet))
        .route(
            "/webhooks/{provider}/{channel}",
            web::post().to(webhooks::receive_text),
        )
        .route(
            "/webhooks/{provider}/{channel}/status",
            web::post().to(webhooks::receive_status),
        )
        .service(
            web::scope("/api/v1")
                .route("/me", web::get().to(api::staff::me))
                .route("/users", web::get().to(api::staff::list_users))
                .route("/tickets", web::get().to(api::tickets::list))
                .route("/tickets/next", web::post().to(api::tickets::take_next))
                .route("/tickets/{id}", web::get().to(api::tickets::show))
                .route(
                    "/tickets/{id}/messages",
                    web::post().to(api::tickets::reply),
                )
                .route(
                    "/tickets/{id}/notes",
                    web::post().to(api::tickets::add_note),
                )
                .route("/tickets/{id}/assign", web::post().to(api::tickets::assign))
                .route("/tickets/{id}/close", web::post().to(api::tickets::close))
                .route(
                    "/simulator/messages",
                    web::get().to(api::simulator::delivered),
                )
                .route(
                    "/simulator/messages",
                    web::post().to(api::simulator::text_in),
                )
                .route(
                    "/contacts/{alias}/erase",
                    web::post().to(api::contacts::erase),
                )
                .route(
                    "/contacts/{alias}/reveal",
                    web::post().to(api::contacts::reveal),
                ),
        )
        .default_service(web::to(not_found));
}

/// Headers on every response.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ))
}

/// Body extractor limits, with errors in the one JSON shape.
pub fn body_limits(config: &mut ServiceConfig, limit: usize) {
    config
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(move |error, _| errors::json_error(error, limit)),
        )
        .app_data(
            web::FormConfig::default()
                .limit(limit)
                .error_handler(move |error, _| errors::form_error(error, limit)),
        )
        .app_data(web::PayloadConfig::new(limit));
}

async fn not_found() -> Result<actix_web::HttpResponse, errors::ApiError> {
    Err(errors::ApiError::NotFound)
}
