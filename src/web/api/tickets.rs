//! The ticket queue over JSON: list, open, reply, note, assign, take the next one, close.
//! Texters appear by alias only; a phone number is never part of any answer.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::store::QueueFilter;
use crate::tickets::{self, Conversation, TicketError};
use crate::web::AppState;
use crate::web::auth::{AnyStaff, Staff};
use crate::web::errors::ApiError;

/// Largest page of the queue listing.
const MAX_PER_PAGE: i64 = 200;

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    assignee: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Deserialize)]
pub struct TextRequest {
    body: String,
}

#[derive(Deserialize)]
pub struct AssignRequest {
    user_id: i64,
}

#[derive(Serialize)]
struct QueueItem {
    id: i64,
    alias: String,
    channel: String,
    status: String,
    priority: String,
    language: String,
    assignee_id: Option<i64>,
    unanswered: i64,
    waiting_since: Option<i64>,
    opened_at: i64,
}

#[derive(Serialize)]
struct Page<T> {
    items: Vec<T>,
    page: i64,
    per_page: i64,
}

#[derive(Serialize)]
struct ConversationView {
    id: i64,
    alias: String,
    channel: String,
    status: String,
    priority: String,
    language: String,
    assignee_id: Option<i64>,
    waiting_since: Option<i64>,
    erased: bool,
    opted_out: bool,
    messages: Vec<MessageView>,
    notes: Vec<NoteView>,
    events: Vec<EventView>,
}

#[derive(Serialize)]
struct MessageView {
    id: i64,
    direction: String,
    kind: String,
    body: Option<String>,
    segments: i64,
    encoding: String,
    delivery_status: Option<String>,
    at: i64,
}

#[derive(Serialize)]
struct NoteView {
    id: i64,
    author_id: Option<i64>,
    body: Option<String>,
    at: i64,
}

#[derive(Serialize)]
struct EventView {
    kind: String,
    actor_id: Option<i64>,
    at: i64,
}

#[derive(Serialize)]
struct ReplyQueued {
    message_id: i64,
    status: &'static str,
    segments: u32,
    encoding: &'static str,
}

pub async fn list(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let per_page = query.per_page.unwrap_or(50).clamp(1, MAX_PER_PAGE);
    let page = query.page.unwrap_or(1).max(1);
    let status = match query.status.as_deref() {
        None | Some("active") => None,
        Some(status @ ("new" | "open" | "waiting" | "closed")) => Some(status.to_owned()),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "status must be new, open, waiting or closed".into(),
            ));
        }
    };
    let assignee_id = match query.assignee.as_deref() {
        None => None,
        Some("me") => Some(staff.caller.user_id),
        Some(id) => Some(
            id.parse()
                .map_err(|_| ApiError::BadRequest("assignee must be an id or me".into()))?,
        ),
    };

    let filter = QueueFilter {
        status,
        assignee_id,
        limit: per_page,
        offset: (page - 1) * per_page,
    };
    let rows = state
        .store
        .list_tickets(&filter)
        .await
        .map_err(ApiError::internal)?;

    let items = rows
        .into_iter()
        .map(|row| QueueItem {
            id: row.id,
            alias: row.alias,
            channel: row.channel,
            status: row.status,
            priority: row.priority,
            language: row.language,
            assignee_id: row.assignee_id,
            unanswered: row.unanswered_count,
            waiting_since: row.waiting_since,
            opened_at: row.opened_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        page,
        per_page,
    }))
}

pub async fn show(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let conversation = tickets::view(&state.store, &state.vault, &state.clock, staff.caller, *id)
        .await
        .map_err(ticket_error)?;
    Ok(HttpResponse::Ok().json(conversation_view(conversation)))
}

pub async fn reply(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    request: web::Json<TextRequest>,
) -> Result<HttpResponse, ApiError> {
    let queued = tickets::reply(
        &state.store,
        &state.vault,
        &state.clock,
        staff.caller,
        *id,
        &request.body,
    )
    .await
    .map_err(ticket_error)?;
    state.outbox_wakeup.notify_waiters();
    state.live.publish_queue_changed();
    Ok(HttpResponse::Accepted().json(ReplyQueued {
        message_id: queued.message_id,
        status: "queued",
        segments: queued.count.segments,
        encoding: queued.count.encoding.as_str(),
    }))
}

pub async fn add_note(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    request: web::Json<TextRequest>,
) -> Result<HttpResponse, ApiError> {
    let note_id = tickets::add_note(
        &state.store,
        &state.vault,
        &state.clock,
        staff.caller,
        *id,
        &request.body,
    )
    .await
    .map_err(ticket_error)?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "id": note_id })))
}

pub async fn assign(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    request: web::Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    tickets::assign(
        &state.store,
        &state.clock,
        staff.caller,
        *id,
        request.user_id,
    )
    .await
    .map_err(ticket_error)?;
    state.live.publish_queue_changed();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": *id, "assignee_id": request.user_id })))
}

pub async fn take_next(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let taken = tickets::take_next(&state.store, &state.clock, staff.caller)
        .await
        .map_err(ticket_error)?;
    state.live.publish_queue_changed();
    match taken {
        Some(ticket_id) => Ok(HttpResponse::Ok().json(serde_json::json!({ "id": ticket_id }))),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}

pub async fn close(
    staff: Staff<AnyStaff>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    tickets::close(&state.store, &state.clock, staff.caller, *id)
        .await
        .map_err(ticket_error)?;
    state.live.publish_queue_changed();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "id": *id, "status": "closed" })))
}

fn conversation_view(conversation: Conversation) -> ConversationView {
    let ticket = conversation.ticket;
    ConversationView {
        id: ticket.id,
        alias: ticket.alias,
        channel: ticket.channel,
        status: ticket.status,
        priority: ticket.priority,
        language: ticket.language,
        assignee_id: ticket.assignee_id,
        waiting_since: ticket.waiting_since,
        erased: ticket.erased_at.is_some(),
        opted_out: ticket.opted_out_at.is_some(),
        messages: conversation
            .messages
            .into_iter()
            .map(|message| MessageView {
                id: message.id,
                direction: message.direction,
                kind: message.kind,
                body: message.body,
                segments: message.segments,
                encoding: message.encoding,
                delivery_status: message.delivery_status,
                at: message.created_at,
            })
            .collect(),
        notes: conversation
            .notes
            .into_iter()
            .map(|note| NoteView {
                id: note.id,
                author_id: note.author_id,
                body: note.body,
                at: note.created_at,
            })
            .collect(),
        events: conversation
            .events
            .into_iter()
            .map(|event| EventView {
                kind: event.kind,
                actor_id: event.actor_id,
                at: event.created_at,
            })
            .collect(),
    }
}

fn ticket_error(error: TicketError) -> ApiError {
    match error {
        TicketError::NotFound => ApiError::NotFound,
        TicketError::NotYours => ApiError::Forbidden,
        TicketError::Closed | TicketError::Erased => ApiError::Conflict(error.to_string()),
        TicketError::Empty | TicketError::TooLong { .. } | TicketError::NoSuchAssignee => {
            ApiError::Unprocessable(error.to_string())
        }
        TicketError::Damaged | TicketError::Store(_) => ApiError::internal(error),
    }
}
