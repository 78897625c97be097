//! The phone simulator's API: text the hotline as a pretend texter, and read what the
//! hotline texted back. Only on simulator channels, for staff (training and demos).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::inbound::{InboundError, Pipeline, Received};
use crate::privacy::MessageBody;
use crate::privacy::phone::PhoneNumber;
use crate::providers::{InboundText, ProviderKind};
use crate::web::AppState;
use crate::web::auth::{AnyStaff, Staff};
use crate::web::errors::ApiError;

#[derive(Deserialize)]
pub struct SimulatedTextIn {
    /// The simulated phone's number, for example +15555550123.
    from: String,
    body: String,
    /// The simulator channel; `default` when omitted.
    channel: Option<String>,
}

#[derive(Serialize)]
struct Accepted {
    outcome: &'static str,
    ticket_id: Option<i64>,
    alias: Option<String>,
}

#[derive(Serialize)]
struct SimulatedTextOut {
    to: String,
    body: String,
    at: i64,
}

/// A pretend texter sends a text; it enters the same pipeline as a provider's webhook.
pub async fn text_in(
    _staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    request: web::Json<SimulatedTextIn>,
) -> Result<HttpResponse, ApiError> {
    let request = request.into_inner();
    let channel_name = request.channel.as_deref().unwrap_or("default");
    let channel = state
        .channels
        .get(channel_name)
        .filter(|channel| channel.provider == ProviderKind::Simulator)
        .ok_or(ApiError::NotFound)?;
    // Trainers type made-up numbers; accept any well-shaped one, not only allocated ranges.
    let from = PhoneNumber::parse(&request.from, channel.region.as_deref())
        .or_else(|_| PhoneNumber::from_provider(&request.from))
        .map_err(|_| ApiError::Unprocessable("`from` is not a phone number".into()))?;
    if request.body.trim().is_empty() {
        return Err(ApiError::Unprocessable("`body` is empty".into()));
    }

    let text = InboundText {
        provider_message_id: format!("SIMIN{}", uuid::Uuid::new_v4().simple()),
        from,
        to: channel.from.clone(),
        body: MessageBody::new(request.body),
        opt_out_type: None,
        concat: None,
        received_at: None,
    };
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
            other => ApiError::internal(anyhow::Error::new(other).context("store simulated text")),
        })?;
    state.outbox_wakeup.notify_waiters();
    state.live.publish_queue_changed();

    let accepted = match received {
        Received::Stored {
            ticket_id, alias, ..
        } => Accepted {
            outcome: "stored",
            ticket_id: Some(ticket_id),
            alias: Some(alias),
        },
        Received::Erased => Accepted {
            outcome: "erased",
            ticket_id: None,
            alias: None,
        },
        Received::Duplicate | Received::PartKept => Accepted {
            outcome: "duplicate",
            ticket_id: None,
            alias: None,
        },
    };
    Ok(HttpResponse::Accepted().json(accepted))
}

/// What the hotline texted to simulated phones, oldest first.
pub async fn delivered(_staff: Staff<AnyStaff>, state: web::Data<AppState>) -> HttpResponse {
    let texts: Vec<SimulatedTextOut> = state
        .simulator
        .delivered()
        .into_iter()
        .map(|text| SimulatedTextOut {
            to: text.to,
            body: text.body,
            at: text.at.millis(),
        })
        .collect();
    HttpResponse::Ok().json(texts)
}
