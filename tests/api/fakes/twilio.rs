//! A fake of Twilio's Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json`,
//! form-encoded, HTTP Basic with the account SID and auth token, answering `201` with a
//! message resource or an error body `{code, message, more_info, status}`.

use std::collections::BTreeMap;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::{FakeReply, FakeServer, ReceivedText, Recorder, form_fields, fresh_hex_id, present};

/// A running fake Twilio account.
pub struct FakeTwilio {
    server: FakeServer,
}

struct Account {
    sid: String,
    auth_token: String,
}

impl FakeTwilio {
    pub fn start(account_sid: &str, auth_token: &str) -> Self {
        let account = Account {
            sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
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
    config.route(
        "/2010-04-01/Accounts/{sid}/Messages.json",
        web::post().to(create_message),
    );
}

async fn create_message(
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    account: web::Data<Account>,
    recorder: web::Data<Recorder>,
) -> HttpResponse {
    if !is_authenticated(&request, &path, &account) {
        return error(401, 20003, "Authenticate");
    }
    let fields = form_fields(&body);
    let text = match check_fields(fields) {
        Ok(text) => text,
        Err(response) => return *response,
    };

    match recorder.take(text.clone()) {
        FakeReply::Accept => created(&account.sid, &text),
        FakeReply::Hang(delay) => {
            tokio::time::sleep(delay).await;
            created(&account.sid, &text)
        }
        FakeReply::TooManyRequests { retry_after } => {
            let mut response = error(429, 20429, "Too Many Requests");
            if let Some(value) = retry_after {
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    value
                        .parse()
                        .expect("scripted Retry-After is a header value"),
                );
            }
            response
        }
        FakeReply::ServerError => error(500, 20500, "Internal Server Error"),
        FakeReply::Code { http_status, code } => error(http_status, code, &message(code, &text)),
    }
}

/// Basic auth with this account's SID and token, on this account's path.
fn is_authenticated(request: &HttpRequest, path_sid: &str, account: &Account) -> bool {
    let expected = STANDARD.encode(format!("{}:{}", account.sid, account.auth_token));
    let header = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    path_sid == account.sid && header == Some(format!("Basic {expected}").as_str())
}

/// The checks Twilio makes before taking a text, with its codes.
fn check_fields(fields: BTreeMap<String, String>) -> Result<ReceivedText, Box<HttpResponse>> {
    let refuse = |code, message: &str| Err(Box::new(error(400, code, message)));
    let Some(to) = present(&fields, "To") else {
        return refuse(21604, "A 'To' phone number is required.");
    };
    let Some(from) = present(&fields, "From") else {
        return refuse(21603, "A 'From' phone number is required.");
    };
    let Some(body) = present(&fields, "Body") else {
        return refuse(21602, "Message body is required.");
    };
    let to_is_e164 = to.len() > 1 && to[1..].chars().all(|c| c.is_ascii_digit());
    if !to.starts_with('+') || !to_is_e164 {
        let message = format!("The 'To' number {to} is not a valid phone number.");
        return refuse(21211, &message);
    }

    Ok(ReceivedText {
        at: Instant::now(),
        to: to.to_owned(),
        from: from.to_owned(),
        body: body.to_owned(),
        fields,
    })
}

/// Twilio's wording for a scripted code; like the real API it quotes the number.
fn message(code: u32, text: &ReceivedText) -> String {
    match code {
        21610 => "Attempt to send to unsubscribed recipient".to_owned(),
        21211 => format!("The 'To' number {} is not a valid phone number.", text.to),
        21614 => format!("'To' number {} is not a valid mobile number", text.to),
        _ => format!("Error {code} sending to {}", text.to),
    }
}

fn created(account_sid: &str, text: &ReceivedText) -> HttpResponse {
    let sid = format!("SM{}", fresh_hex_id(32).to_lowercase());
    let now = chrono::Utc::now().to_rfc2822();
    let uri = format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json");
    HttpResponse::Created().json(json!({
        "sid": sid, "account_sid": account_sid, "messaging_service_sid": null,
        "from": text.from, "to": text.to, "body": text.body,
        "status": "queued", "direction": "outbound-api",
        "num_segments": "1", "num_media": "0", "error_code": null, "error_message": null,
        "price": null, "price_unit": "USD", "api_version": "2010-04-01",
        "date_created": now, "date_updated": now, "date_sent": null,
        "uri": uri, "subresource_uris": { "media": uri.replace(".json", "/Media.json") },
    }))
}

fn error(status: u16, code: u32, message: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).expect("scripted status is an HTTP status");
    HttpResponse::build(status).json(json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    }))
}
