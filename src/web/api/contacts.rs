//! Contacts by alias: erase (supervisors and admins) and reveal (admins, when allowed).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::audit::Actor;
use crate::contacts::{self, ContactError};
use crate::privacy::alias::Alias;
use crate::web::AppState;
use crate::web::auth::{AdminOnly, Staff, SupervisorOnly};
use crate::web::errors::ApiError;

#[derive(Serialize)]
struct Erased {
    alias: String,
    message_bodies_destroyed: u64,
    notes_destroyed: u64,
    tickets_closed: u64,
}

#[derive(Deserialize)]
pub struct RevealRequest {
    /// Missing counts as blank, so both get the same 422 as a reason of spaces.
    #[serde(default)]
    reason: String,
}

#[derive(Serialize)]
struct Revealed {
    alias: String,
    number: String,
}

/// Erases a texter's data for good; the suppression record stays.
pub async fn erase(
    staff: Staff<SupervisorOnly>,
    state: web::Data<AppState>,
    alias: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let alias = parse_alias(&alias)?;

    let erased = contacts::erase(
        &state.store,
        &state.clock,
        &alias,
        Actor::Staff(staff.caller.user_id),
    )
    .await
    .map_err(contact_error)?;

    Ok(HttpResponse::Ok().json(Erased {
        alias: alias.to_string(),
        message_bodies_destroyed: erased.message_bodies,
        notes_destroyed: erased.notes,
        tickets_closed: erased.tickets_closed,
    }))
}

/// Shows a texter's number to an admin who gives a reason; audited before it is shown.
pub async fn reveal(
    staff: Staff<AdminOnly>,
    state: web::Data<AppState>,
    alias: web::Path<String>,
    request: web::Json<RevealRequest>,
) -> Result<HttpResponse, ApiError> {
    let alias = parse_alias(&alias)?;

    let number = contacts::reveal_number(
        &state.store,
        &state.vault,
        &state.clock,
        state.allow_number_reveal,
        &alias,
        staff.caller.user_id,
        &request.reason,
    )
    .await
    .map_err(contact_error)?;

    Ok(HttpResponse::Ok().json(Revealed {
        alias: alias.to_string(),
        number: number.expose().to_owned(),
    }))
}

fn parse_alias(text: &str) -> Result<Alias, ApiError> {
    Alias::parse(text).map_err(|_| ApiError::NotFound)
}

fn contact_error(error: ContactError) -> ApiError {
    match error {
        ContactError::NotFound => ApiError::NotFound,
        ContactError::Erased => ApiError::Conflict(error.to_string()),
        ContactError::RevealDisabled => ApiError::Forbidden,
        ContactError::ReasonRequired => ApiError::Unprocessable(error.to_string()),
        ContactError::Damaged | ContactError::Store(_) => ApiError::internal(error),
    }
}
