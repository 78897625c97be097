//! Provider webhooks: `POST /webhooks/{provider}/{channel}` for texts and `.../status` for
//! delivery reports.
//!
//! Every request is signature-checked against the URL the provider called (the public URL
//! plus the path and raw query) before anything is read from it. A refused request is
//! logged and counted without its content and changes nothing. A text is acknowledged only
//! after the transaction that stores it has committed, so a provider retry is the only
//! way a text can arrive twice, and duplicates are dropped by provider message id.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::channels::Channel;
use crate::inbound::{InboundError, Pipeline, Received};
use crate::providers::telnyx::{self, TelnyxEvent, TelnyxPublicKey};
use crate::providers::twilio::{self, SignedPayload, TwilioKeys};
use crate::providers::vonage::{self, SignatureMethod};
use crate::providers::{
    DeliveryStatus, Headers, InboundText, ProviderKind, StatusReport, WebhookError, parse_form,
};
use crate::web::AppState;
use crate::web::errors::ApiError;

/// Provider error codes that mean the texter opted out at the carrier.
const OPT_OUT_ERROR_CODES: &[&str] = &["21610", "40300"];

/// What a verified webhook carried.
enum Payload {
    Text(InboundText),
    Status(StatusReport),
    Nothing,
}

pub async fn receive_text(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (provider, channel) = find_channel(&state, &path.0, &path.1)?;
    let payload = verify_and_parse(&state, &request, provider, channel, &body, false)?;

    match payload {
        Payload::Text(text) => store_text(&state, channel, text).await?,
        Payload::Status(report) => apply_status(&state, channel, report).await?,
        Payload::Nothing => {}
    }

    Ok(acknowledge(provider))
}

pub async fn receive_status(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (provider, channel) = find_channel(&state, &path.0, &path.1)?;
    let payload = verify_and_parse(&state, &request, provider, channel, &body, true)?;

    match payload {
        Payload::Status(report) => apply_status(&state, channel, report).await?,
        Payload::Text(text) => store_text(&state, channel, text).await?,
        Payload::Nothing => {}
    }

    Ok(acknowledge(provider))
}

/// Unknown providers, unknown channels and a provider that is not the channel's are all
/// 404: a caller learns nothing about which channels exist.
fn find_channel<'a>(
    state: &'a AppState,
    provider: &str,
    channel: &str,
) -> Result<(ProviderKind, &'a Channel), ApiError> {
    let provider: ProviderKind = provider.parse().map_err(|_| ApiError::NotFound)?;
    let channel = state.channels.get(channel).ok_or(ApiError::NotFound)?;
    if channel.provider != provider || provider == ProviderKind::Simulator {
        return Err(ApiError::NotFound);
    }
    Ok((provider, channel))
}

fn verify_and_parse(
    state: &AppState,
    request: &HttpRequest,
    provider: ProviderKind,
    channel: &Channel,
    body: &[u8],
    status_path: bool,
) -> Result<Payload, ApiError> {
    let headers = collect_headers(request);
    let now_secs = state.clock.now().millis() / 1000;
    let outcome = match provider {
        ProviderKind::Twilio => {
            twilio_payload(state, request, channel, &headers, body, status_path)
        }
        ProviderKind::Vonage => vonage_payload(channel, &headers, body, now_secs, status_path),
        ProviderKind::Telnyx => telnyx_payload(channel, &headers, body, now_secs),
        ProviderKind::Simulator => Err(WebhookError::Malformed("no webhooks".into())),
    };
    outcome.map_err(|error| refuse(state, provider, channel, error))
}

fn twilio_payload(
    state: &AppState,
    request: &HttpRequest,
    channel: &Channel,
    headers: &Headers,
    body: &[u8],
    status_path: bool,
) -> Result<Payload, WebhookError> {
    let keys = TwilioKeys {
        auth_token: channel.credentials.auth_token.clone().unwrap_or_default(),
        shared_key: None,
    };
    let url = signed_url(state, request);
    let is_json = headers
        .get("content-type")
        .is_some_and(|kind| kind.contains("json"));
    let form = if is_json {
        Vec::new()
    } else {
        parse_form(body)
    };
    let signed = if is_json {
        SignedPayload::Json(body)
    } else {
        SignedPayload::Form(&form)
    };
    twilio::verify_signature(&keys, &url, signed, headers)?;

    if status_path || form.iter().any(|(name, _)| name == "MessageStatus") && !has(&form, "Body") {
        return twilio::parse_status(&form).map(Payload::Status);
    }
    twilio::parse_inbound(&form).map(Payload::Text)
}

fn vonage_payload(
    channel: &Channel,
    headers: &Headers,
    body: &[u8],
    now_secs: i64,
    status_path: bool,
) -> Result<Payload, WebhookError> {
    let secret = channel
        .credentials
        .signature_secret
        .clone()
        .unwrap_or_default();
    let is_json = headers
        .get("content-type")
        .is_some_and(|kind| kind.contains("json"));
    let params = if is_json {
        vonage::params_from_json(body)?
    } else {
        parse_form(body)
    };
    if let Some(authorization) = headers.get("authorization") {
        vonage::verify_messages_jwt(&secret, Some(authorization), body, now_secs)?;
    } else {
        let method: SignatureMethod = channel
            .credentials
            .signature_method
            .as_deref()
            .map_or(Ok(SignatureMethod::default()), str::parse)
            .map_err(|_| WebhookError::Malformed("unknown signature method".into()))?;
        vonage::verify_signature(method, &secret, &params, now_secs)?;
    }

    if status_path || (has(&params, "status") && !has(&params, "text")) {
        return vonage::parse_status(&params).map(Payload::Status);
    }
    vonage::parse_inbound(&params).map(Payload::Text)
}

fn telnyx_payload(
    channel: &Channel,
    headers: &Headers,
    body: &[u8],
    now_secs: i64,
) -> Result<Payload, WebhookError> {
    let key = channel
        .credentials
        .public_key
        .as_deref()
        .and_then(|key| TelnyxPublicKey::from_base64(key).ok())
        .ok_or(WebhookError::SignatureInvalid)?;
    telnyx::verify_signature(&key, body, headers, now_secs)?;

    Ok(match telnyx::parse_event(body)? {
        TelnyxEvent::Inbound(text) => Payload::Text(text),
        TelnyxEvent::Status(report) => Payload::Status(report),
        TelnyxEvent::Other => Payload::Nothing,
    })
}

async fn store_text(
    state: &AppState,
    channel: &Channel,
    text: InboundText,
) -> Result<(), ApiError> {
    let pipeline = Pipeline {
        store: &state.store,
        vault: &state.vault,
        catalog: &state.catalog,
        clock: &state.clock,
    };
    let received = pipeline
        .receive(channel, text)
        .await
        .map_err(|error| match error {
            InboundError::TooLong => ApiError::PayloadTooLarge {
                limit: crate::inbound::MAX_BODY_CHARS,
            },
            other => ApiError::internal(anyhow::Error::new(other).context("store inbound text")),
        })?;

    let outcome = match &received {
        Received::Stored { .. } => "stored",
        Received::Duplicate => "duplicate",
        Received::PartKept => "part_kept",
        Received::Erased => "erased",
    };
    state
        .metrics
        .record_webhook(channel.provider.as_str(), outcome);
    if !matches!(received, Received::Duplicate | Received::PartKept) {
        state.outbox_wakeup.notify_waiters();
        state.live.publish_queue_changed();
    }
    Ok(())
}

async fn apply_status(
    state: &AppState,
    channel: &Channel,
    report: StatusReport,
) -> Result<(), ApiError> {
    let contact = state
        .store
        .apply_delivery_status(
            &channel.name,
            &report.provider_message_id,
            status_word(report.status),
            i64::from(report.status.rank()),
            report.error_code.as_deref(),
        )
        .await
        .map_err(ApiError::internal)?;
    let Some(contact_id) = contact else {
        tracing::debug!(channel.name = %channel.name, "status for a message Textline did not send");
        state
            .metrics
            .record_webhook(channel.provider.as_str(), "status_unknown_id");
        return Ok(());
    };
    let opted_out = report
        .error_code
        .as_deref()
        .is_some_and(|code| OPT_OUT_ERROR_CODES.contains(&code));
    if opted_out {
        state
            .store
            .mark_opted_out(contact_id, state.clock.now())
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(channel.name = %channel.name, "provider reported an opt-out");
    }
    state
        .metrics
        .record_webhook(channel.provider.as_str(), "status");
    Ok(())
}

/// What each provider expects back: Twilio an empty TwiML document, the others a 200.
fn acknowledge(provider: ProviderKind) -> HttpResponse {
    match provider {
        ProviderKind::Twilio => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(twilio::EMPTY_TWIML),
        _ => HttpResponse::Ok().finish(),
    }
}

fn refuse(
    state: &AppState,
    provider: ProviderKind,
    channel: &Channel,
    error: WebhookError,
) -> ApiError {
    let reason = match &error {
        WebhookError::SignatureMissing => "signature_missing",
        WebhookError::SignatureInvalid => "signature_invalid",
        WebhookError::Stale => "stale",
        WebhookError::MissingField(_) => "missing_field",
        WebhookError::Malformed(_) => "malformed",
    };
    state.metrics.record_webhook(provider.as_str(), reason);
    match error {
        WebhookError::SignatureMissing | WebhookError::SignatureInvalid | WebhookError::Stale => {
            tracing::warn!(
                provider = provider.as_str(),
                channel.name = %channel.name,
                reason,
                "webhook refused"
            );
            ApiError::Forbidden
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// The URL the provider signed: the public URL with the path and raw query of the request.
fn signed_url(state: &AppState, request: &HttpRequest) -> String {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |value| value.as_str());
    format!(
        "{}{}",
        state.public_url.trim_end_matches('/'),
        path_and_query
    )
}

fn collect_headers(request: &HttpRequest) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in request.headers() {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
        }
    }
    headers
}

fn has(params: &[(String, String)], name: &str) -> bool {
    params.iter().any(|(key, _)| key == name)
}

fn status_word(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => "queued",
        DeliveryStatus::Sent => "sent",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Undelivered => "undelivered",
        DeliveryStatus::Failed => "failed",
    }
}
