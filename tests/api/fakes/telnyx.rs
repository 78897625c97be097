//! A fake of Telnyx's Messaging API v2: `POST /v2/messages`, JSON, `Authorization: Bearer`
//! with the API key, answering `200 {"data": {...}}` or `{"errors": [{code, title, detail}]}`.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::{FakeReply, FakeServer, ReceivedText, Recorder, present};

/// A running fake Telnyx account.
pub struct FakeTelnyx {
    server: FakeServer,
}

struct Account {
    api_key: String,
}

impl FakeTelnyx {
    pub fn start(api_key: &str) -> Self {
        let account = Account {
            api_key: api_key.to_owned(),
        };
        Self {
            server: FakeServer::start(account, routes),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.server.base_url
    }

    pub fn script(&self, replies: Vec<FakeReply>) {
        self.server.script(replies);
    }

    pub fn received(&self) -> Vec<ReceivedText> {
        self.server.received()
    }
}

fn routes(config: &mut web::ServiceConfig) {
    config.route("/v2/messages", web::post().to(create_message));
}

async fn create_message(
    request: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account>,
    recorder: web::Data<Recorder>,
) -> HttpResponse {
    let header = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if header != Some(format!("Bearer {}", account.api_key).as_str()) {
        return error(
            401,
            10009,
            "Authentication failed",
            "The API key was not accepted.",
        );
    }
    let text = match check_body(&body) {
        Ok(text) => text,
        Err(response) => return *response,
    };

    match recorder.take(text.clone()) {
        FakeReply::Accept => created(&text),
        FakeReply::Hang(delay) => {
            tokio::time::sleep(delay).await;
            created(&text)
        }
        FakeReply::TooManyRequests { retry_after } => {
            let mut response = error(429, 10011, "Too many requests", "Slow down.");
            if let Some(value) = retry_after {
                let value = value
                    .parse()
                    .expect("scripted Retry-After is a header value");
                response.headers_mut().insert(RETRY_AFTER, value);
            }
            response
        }
        FakeReply::ServerError => error(500, 10007, "Unexpected error", "Try again later."),
        FakeReply::Code { http_status, code } => {
            let detail = format!("Cannot send to {}.", text.to);
            error(http_status, code, "Message refused", &detail)
        }
    }
}

/// A JSON body with `to` in +E.164 (or a short code), `from` and `text`.
fn check_body(body: &[u8]) -> Result<ReceivedText, Box<HttpResponse>> {
    let refuse = |code, title: &str, detail: &str| Err(Box::new(error(400, code, title, detail)));
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return refuse(10015, "Bad Request", "The body is not a JSON object.");
    };
    let fields: BTreeMap<String, String> = object
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.as_str()?.to_owned())))
        .collect();

    let (Some(to), Some(from), Some(text)) = (
        present(&fields, "to"),
        present(&fields, "from"),
        present(&fields, "text"),
    ) else {
        return refuse(10004, "Missing required parameter", "to, from and text");
    };
    let digits = to.strip_prefix('+').unwrap_or(to);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        let detail = format!("The 'to' address {to} should be a single valid number.");
        return refuse(40310, "Invalid 'to' address", &detail);
    }

    Ok(ReceivedText {
        at: Instant::now(),
        to: to.to_owned(),
        from: from.to_owned(),
        body: text.to_owned(),
        fields,
    })
}

fn created(text: &ReceivedText) -> HttpResponse {
    let now = chrono::Utc::now().to_rfc3339();
    HttpResponse::Ok().json(json!({ "data": {
        "record_type": "message", "direction": "outbound", "type": "SMS",
        "id": uuid::Uuid::new_v4().to_string(),
        "messaging_profile_id": uuid::Uuid::new_v4().to_string(),
        "from": { "phone_number": text.from, "carrier": "Telnyx", "line_type": "Wireless" },
        "to": [{ "phone_number": text.to, "status": "queued", "carrier": "", "line_type": "" }],
        "text": text.body, "media": [], "encoding": "GSM-7", "parts": 1, "cost": null,
        "webhook_url": text.fields.get("webhook_url"), "received_at": now,
        "sent_at": null, "completed_at": null, "errors": [],
    }}))
}

fn error(status: u16, code: u32, title: &str, detail: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).expect("scripted status is an HTTP status");
    HttpResponse::build(status).json(json!({ "errors": [{
        "code": code.to_string(),
        "title": title,
        "detail": detail,
        "meta": { "url": format!("https://developers.telnyx.com/docs/overview/errors/{code}") },
    }]}))
}
