//! Who is calling: bearer API tokens checked against the store, and the role each route
//! demands, written in the handler's signature (`Staff<AdminOnly>`).
//!
//! A missing or unknown token is 401; a valid token with too small a role is 403.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};

use super::AppState;
use super::errors::ApiError;
use crate::staff::{self, Caller, Role};

/// The smallest role a route accepts.
pub trait RoleGate {
    const REQUIRED: Role;
}

/// Any signed-in staff member.
pub struct AnyStaff;
/// Supervisors and admins.
pub struct SupervisorOnly;
/// Admins only.
pub struct AdminOnly;

impl RoleGate for AnyStaff {
    const REQUIRED: Role = Role::Caseworker;
}
impl RoleGate for SupervisorOnly {
    const REQUIRED: Role = Role::Supervisor;
}
impl RoleGate for AdminOnly {
    const REQUIRED: Role = Role::Admin;
}

/// An authenticated caller whose role passed the gate `G`.
pub struct Staff<G: RoleGate> {
    pub caller: Caller,
    gate: PhantomData<G>,
}

impl<G: RoleGate> FromRequest for Staff<G> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = request.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(request);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            let token = token.ok_or(ApiError::Unauthorized)?;
            let caller = staff::authenticate_token(&state.store, &token)
                .await
                .map_err(|error| {
                    ApiError::internal(anyhow::Error::new(error).context("check api token"))
                })?
                .ok_or(ApiError::Unauthorized)?;
            if !caller.role.includes(G::REQUIRED) {
                return Err(ApiError::Forbidden);
            }
            Ok(Staff {
                caller,
                gate: PhantomData,
            })
        })
    }
}

fn bearer_token(request: &HttpRequest) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}
