//! Request middleware: a request id, one log line and metrics per request, and the body
//! size limit enforced from `Content-Length` before anything reads the body.
//!
//! The log line names the route template (`/api/v1/tickets/{id}`), never the path or the
//! query, which could carry identifiers.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use tracing::Instrument;

use super::AppState;
use super::errors::ApiError;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, in request extensions and the response header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Routes whose requests are logged at debug: probes would drown everything else.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

pub async fn observe_request(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let request_id =
        incoming_request_id(&request).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!(
        "http request",
        http.method = %method,
        http.route = %route,
        request.id = %request_id,
    );
    let started = Instant::now();

    let outcome = match body_over_limit(&request, state.as_ref().map(|data| data.get_ref())) {
        Some(error) => Ok(request.error_response(error).map_into_right_body()),
        None => next
            .call(request)
            .instrument(span.clone())
            .await
            .map(|res| res.map_into_left_body()),
    };
    let mut response = outcome?;

    let status = response.status();
    let elapsed = started.elapsed();
    if let Some(state) = &state {
        state
            .metrics
            .record_request(&method, &route, status.as_u16(), elapsed.as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let _entered = span.enter();
    let millis = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        let cause = response
            .response()
            .error()
            .and_then(|error| error.as_error::<ApiError>())
            .map(describe_cause)
            .unwrap_or_default();
        tracing::error!(
            http.status = status.as_u16(),
            elapsed_ms = millis,
            cause,
            "request failed"
        );
    } else if QUIET_ROUTES.contains(&route.as_str()) {
        tracing::debug!(
            http.status = status.as_u16(),
            elapsed_ms = millis,
            "request served"
        );
    } else {
        tracing::info!(
            http.status = status.as_u16(),
            elapsed_ms = millis,
            "request served"
        );
    }
    Ok(response)
}

/// Accepts a caller's request id only when it is short and plainly an id, so a header
/// cannot smuggle text into the logs.
fn incoming_request_id(request: &ServiceRequest) -> Option<String> {
    let value = request.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let plain = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    plain.then(|| value.to_owned())
}

fn body_over_limit(request: &ServiceRequest, state: Option<&AppState>) -> Option<ApiError> {
    let limit = state?.body_limit_bytes;
    let declared: usize = request
        .headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (declared > limit).then_some(ApiError::PayloadTooLarge { limit })
}

/// The error chain of an internal error, for the log. Our own errors never carry content.
fn describe_cause(error: &ApiError) -> String {
    match error {
        ApiError::Internal(cause) => format!("{cause:#}"),
        other => other.to_string(),
    }
}
