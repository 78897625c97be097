//! Liveness, readiness and metrics for load balancers and monitoring.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use super::errors::ApiError;

/// The process is up and answering.
pub async fn alive() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "alive" }))
}

/// The database is reachable and at the schema version this build expects.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .store
        .readiness()
        .await
        .map_err(|reason| ApiError::NotReady(reason.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

/// Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.store.pool_stats();
    state.metrics.set_pool(pool.connections, pool.idle);
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}
