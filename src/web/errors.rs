//! The one error type of the HTTP layer and its one JSON shape:
//! `{"error": {"code": "not_found", "message": "..."}}`.
//!
//! Messages are fixed per kind or written by Textline itself; they never echo request
//! content. The cause of a 500 is logged once, by the request middleware.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("service not ready: {0}")]
    NotReady(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
}

impl ApiError {
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(error.into())
    }

    /// A stable machine-readable name for the kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::NotReady(_) => "not_ready",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        };
        let mut response = HttpResponse::build(self.status_code()).json(body);
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Turns the framework's body-parsing errors into the one shape: 413 for oversized bodies,
/// 400 naming the problem for the rest. The text comes from the parser, not the body.
pub fn json_error(error: actix_web::error::JsonPayloadError, limit: usize) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge { limit }.into()
        }
        JsonPayloadError::ContentType => {
            ApiError::BadRequest("expected Content-Type: application/json".into()).into()
        }
        JsonPayloadError::Deserialize(error) => {
            ApiError::BadRequest(format!("invalid JSON: {}", describe_serde_error(&error))).into()
        }
        _ => ApiError::BadRequest("could not read the request body".into()).into(),
    }
}

/// Same as [`json_error`] for `application/x-www-form-urlencoded` bodies.
pub fn form_error(error: actix_web::error::UrlencodedError, limit: usize) -> actix_web::Error {
    use actix_web::error::UrlencodedError;
    match error {
        UrlencodedError::Overflow { .. } => ApiError::PayloadTooLarge { limit }.into(),
        UrlencodedError::ContentType => {
            ApiError::BadRequest("expected a form-encoded body".into()).into()
        }
        UrlencodedError::Parse(error) => {
            ApiError::BadRequest(format!("invalid form: {error}")).into()
        }
        _ => ApiError::BadRequest("could not read the request body".into()).into(),
    }
}

/// A raw body over the limit.
pub fn payload_error(error: actix_web::error::PayloadError, limit: usize) -> actix_web::Error {
    match error {
        actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge { limit }.into(),
        _ => ApiError::BadRequest("could not read the request body".into()).into(),
    }
}

/// serde_json's message names the field and position; for a mistyped value it also quotes
/// the value, which may be personal data, so only the category and place are kept.
fn describe_serde_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let place = format!("line {} column {}", error.line(), error.column());
    match error.classify() {
        Category::Data => {
            let message = error.to_string();
            let field = message.split('`').nth(1).filter(|_| {
                message.starts_with("missing field") || message.starts_with("unknown field")
            });
            match field {
                Some(field) if message.starts_with("missing") => format!("missing field `{field}`"),
                Some(field) => format!("unknown field `{field}`"),
                None => format!("a value has the wrong type or shape at {place}"),
            }
        }
        Category::Syntax | Category::Eof => format!("malformed JSON at {place}"),
        Category::Io => "could not read the body".into(),
    }
}
