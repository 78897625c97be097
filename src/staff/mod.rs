//! Staff: the people who use Textline (caseworkers, supervisors, admins), their roles,
//! passwords, API tokens, and the one-time link that creates the first admin.

pub mod passwords;
pub mod tokens;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::clock::Clock;
use crate::privacy::EmailAddress;
use crate::store::{FirstAdminOutcome, Store, StoreError};
pub use passwords::PasswordError;

/// What a staff member may do. Each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Caseworker,
    Supervisor,
    Admin,
}

/// A staff member making a request, once their credentials have been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("an account with that email address already exists")]
    EmailTaken,
    #[error("no account with that email address")]
    NoSuchUser,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("this setup link is not valid: it was used, replaced or has expired")]
    SetupLinkNotValid,
    #[error("an account already exists; ask an admin for one")]
    AccountsExist,
    #[error("stored role `{0}` is unknown")]
    CorruptRole(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for StaffError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => StaffError::EmailTaken,
            other => StaffError::Store(other),
        }
    }
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Caseworker, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Whether someone with this role may do what `required` may do.
    pub fn includes(self, required: Role) -> bool {
        self >= required
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| format!("`{text}` is not a role (admin, supervisor or caseworker)"))
    }
}

/// Creates a staff account with a hashed password.
pub async fn add_user(
    store: &Store,
    clock: &Clock,
    email: &EmailAddress,
    role: Role,
    password: SecretString,
) -> Result<i64, StaffError> {
    let password_hash = passwords::hash_password(password).await?;
    let user_id = store
        .insert_user(email.expose(), role.as_str(), &password_hash, clock.now())
        .await?;
    tracing::info!(user.id = user_id, user.role = %role, "staff account created");
    Ok(user_id)
}

/// Issues a new API token for an account; the token is returned once and stored hashed.
pub async fn create_api_token(
    store: &Store,
    clock: &Clock,
    email: &EmailAddress,
) -> Result<SecretString, StaffError> {
    let user = store
        .find_user_by_email(email.expose())
        .await?
        .ok_or(StaffError::NoSuchUser)?;
    let issued = tokens::issue_api_token();
    store
        .insert_api_token(user.id, &issued.hash, clock.now())
        .await?;
    tracing::info!(user.id = user.id, "api token created");
    Ok(issued.secret)
}

/// The caller behind a presented API token, if it is live.
pub async fn authenticate_token(
    store: &Store,
    presented: &str,
) -> Result<Option<Caller>, StaffError> {
    if !presented.starts_with(tokens::API_TOKEN_PREFIX) {
        return Ok(None);
    }
    let Some(record) = store
        .find_caller_by_token(&tokens::hash_secret(presented))
        .await?
    else {
        return Ok(None);
    };
    let role = record
        .role
        .parse()
        .map_err(|_| StaffError::CorruptRole(record.role.clone()))?;
    Ok(Some(Caller {
        user_id: record.user_id,
        role,
    }))
}

/// On a deployment with no accounts, issues a fresh single-use setup code valid for `ttl`
/// (earlier codes stop working). Returns `None` once any account exists.
pub async fn open_setup_link(
    store: &Store,
    clock: &Clock,
    ttl: Duration,
) -> Result<Option<SecretString>, StaffError> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let issued = tokens::issue_setup_code();
    let now = clock.now();
    store
        .replace_setup_link(&issued.hash, now, now.plus(ttl))
        .await?;
    Ok(Some(issued.secret))
}

/// Creates the first admin with the code from a setup link.
pub async fn complete_setup(
    store: &Store,
    clock: &Clock,
    code: &SecretString,
    email: &EmailAddress,
    password: SecretString,
) -> Result<i64, StaffError> {
    let password_hash = passwords::hash_password(password).await?;
    let code_hash = tokens::hash_secret(code.expose_secret());
    let outcome = store
        .create_first_admin(&code_hash, email.expose(), &password_hash, clock.now())
        .await?;
    match outcome {
        FirstAdminOutcome::Created { user_id } => {
            tracing::info!(user.id = user_id, "first admin created from the setup link");
            Ok(user_id)
        }
        FirstAdminOutcome::LinkNotValid => Err(StaffError::SetupLinkNotValid),
        FirstAdminOutcome::AccountsExist => Err(StaffError::AccountsExist),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_include_every_role_and_caseworkers_only_their_own() {
        assert!(Role::Admin.includes(Role::Supervisor));
        assert!(Role::Supervisor.includes(Role::Caseworker));
        assert!(!Role::Caseworker.includes(Role::Supervisor));
        assert!(!Role::Supervisor.includes(Role::Admin));
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
