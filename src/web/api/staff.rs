//! Staff accounts: who am I, and the list admins manage.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::web::AppState;
use crate::web::auth::{AdminOnly, AnyStaff, Staff};
use crate::web::errors::ApiError;

#[derive(Serialize)]
struct Me {
    user_id: i64,
    role: String,
}

#[derive(Serialize)]
struct UserSummary {
    id: i64,
    email: String,
    role: String,
}

/// The caller's own account.
pub async fn me(staff: Staff<AnyStaff>) -> HttpResponse {
    HttpResponse::Ok().json(Me {
        user_id: staff.caller.user_id,
        role: staff.caller.role.to_string(),
    })
}

/// Every staff account, for admins managing them.
pub async fn list_users(
    _admin: Staff<AdminOnly>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let users = state.store.list_users().await.map_err(ApiError::internal)?;
    let users: Vec<UserSummary> = users
        .into_iter()
        .map(|(id, email, role)| UserSummary { id, email, role })
        .collect();
    Ok(HttpResponse::Ok().json(users))
}
