//! A fake of Vonage's SMS API: `POST /sms/json`, form-encoded, with `api_key` and
//! `api_secret` in the form (or HTTP Basic). Like the real API it answers HTTP 200 even when
//! it refuses a text, with the verdict in `messages[0].status` (`"0"` = accepted).

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::{FakeReply, FakeServer, ReceivedText, Recorder, form_fields, fresh_hex_id, present};

/// A running fake Vonage account.
pub struct FakeVonage {
    server: FakeServer,
}

struct Account {
    api_key: String,
    api_secret: String,
}

impl FakeVonage {
    pub fn start(api_key: &str, api_secret: &str) -> Self {
        let account = Account {
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
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
    config.route("/sms/json", web::post().to(send_sms));
}

async fn send_sms(
    request: HttpRequest,
    body: web::Bytes,
    account: web::Data<Account>,
    recorder: web::Data<Recorder>,
) -> HttpResponse {
    let fields = form_fields(&body);
    if !is_authenticated(&request, &fields, &account) {
        return refused(4, "Bad Credentials");
    }
    let text = match check_fields(fields) {
        Ok(text) => text,
        Err(response) => return *response,
    };

    match recorder.take(text.clone()) {
        FakeReply::Accept => accepted(&text),
        FakeReply::Hang(delay) => {
            tokio::time::sleep(delay).await;
            accepted(&text)
        }
        FakeReply::TooManyRequests { retry_after } => {
            let mut response = HttpResponse::TooManyRequests();
            if let Some(value) = retry_after {
                response.insert_header((RETRY_AFTER, value));
            }
            response.finish()
        }
        FakeReply::ServerError => HttpResponse::InternalServerError().finish(),
        FakeReply::Code { code, .. } => refused(code, &format!("Refused {code} for {}", text.to)),
    }
}

/// Key and secret in the form, or as HTTP Basic.
fn is_authenticated(
    request: &HttpRequest,
    fields: &BTreeMap<String, String>,
    account: &Account,
) -> bool {
    let in_form = fields.get("api_key") == Some(&account.api_key)
        && fields.get("api_secret") == Some(&account.api_secret);
    let expected = STANDARD.encode(format!("{}:{}", account.api_key, account.api_secret));
    let header = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    in_form || header == Some(format!("Basic {expected}").as_str())
}

/// Status 2 for a missing parameter, 3 for a `to` that is not digits only.
fn check_fields(fields: BTreeMap<String, String>) -> Result<ReceivedText, Box<HttpResponse>> {
    let (Some(to), Some(from), Some(body)) = (
        present(&fields, "to"),
        present(&fields, "from"),
        present(&fields, "text"),
    ) else {
        return Err(Box::new(refused(2, "Missing from, to or text param")));
    };
    if !to.chars().all(|c| c.is_ascii_digit()) {
        return Err(Box::new(refused(3, &format!("Invalid to param: {to}"))));
    }

    Ok(ReceivedText {
        at: Instant::now(),
        to: to.to_owned(),
        from: from.to_owned(),
        body: body.to_owned(),
        fields,
    })
}

fn accepted(text: &ReceivedText) -> HttpResponse {
    let mut message = json!({
        "to": text.to, "message-id": fresh_hex_id(16), "status": "0",
        "remaining-balance": "10.00000000", "message-price": "0.03330000", "network": "23410",
    });
    if let Some(reference) = text.fields.get("client-ref") {
        message["client-ref"] = json!(reference);
    }
    HttpResponse::Ok().json(json!({ "message-count": "1", "messages": [message] }))
}

/// Vonage's refusal: HTTP 200, the code as a string in `status`, and its `error-text`.
fn refused(status: u32, error_text: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message-count": "1",
        "messages": [{ "status": status.to_string(), "error-text": error_text }],
    }))
}
