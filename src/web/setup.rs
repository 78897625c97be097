//! The first-admin page, reached from the one-time link printed at first start.
//!
//! The link carries its code in the URL fragment, which browsers never send, so the code
//! stays out of server logs; a small script copies it into the form.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::AppState;
use super::errors::ApiError;
use crate::privacy::EmailAddress;
use crate::staff::{self, StaffError};

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage<'a> {
    problem: Option<&'a str>,
    email: &'a str,
}

#[derive(Template)]
#[template(path = "setup_done.html")]
struct SetupDonePage;

#[derive(Deserialize)]
pub struct SetupForm {
    code: SecretString,
    email: String,
    password: SecretString,
    password_again: SecretString,
}

pub async fn show_form() -> Result<HttpResponse, ApiError> {
    render(
        StatusCode::OK,
        &SetupPage {
            problem: None,
            email: "",
        },
    )
}

pub async fn create_first_admin(
    state: web::Data<AppState>,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, ApiError> {
    let form = form.into_inner();
    let refuse = |status: StatusCode, problem: &str| {
        render(
            status,
            &SetupPage {
                problem: Some(problem),
                email: &form.email,
            },
        )
    };
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "That is not an email address.",
        );
    };
    if form.password.expose_secret() != form.password_again.expose_secret() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The two passwords differ.",
        );
    }

    let created = staff::complete_setup(
        &state.store,
        &state.clock,
        &form.code,
        &email,
        form.password.clone(),
    )
    .await;

    match created {
        Ok(_) => render(StatusCode::CREATED, &SetupDonePage),
        Err(StaffError::Password(problem)) => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, &format!("The {problem}."))
        }
        Err(error @ (StaffError::SetupLinkNotValid | StaffError::AccountsExist)) => {
            refuse(StatusCode::FORBIDDEN, &error.to_string())
        }
        Err(error) => Err(ApiError::internal(
            anyhow::Error::new(error).context("create first admin"),
        )),
    }
}

pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../../static/setup.js"))
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../../static/app.css"))
}

fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, ApiError> {
    let html = page.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}
