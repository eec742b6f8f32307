//! Response bodies of the REST API.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use serde::Serialize;

use crate::auth::TokenPair;
use crate::clock::{UnixTime, parse_rfc3339, rfc3339};
use crate::http::error::ApiError;
use crate::store::users::User;

/// An account as the API shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserBody {
    pub id: String,
    pub username: String,
    /// `null` for an account without an address (a guest, a sign-up by text message).
    pub email: Option<String>,
    pub email_verified: bool,
    pub scopes: Vec<String>,
    pub is_active: bool,
    pub created_at: String,
    /// The verified phone number, if any.
    pub phone: Option<String>,
    /// The display name an upstream provider gave, if any.
    pub name: Option<String>,
    /// Whether the account has a PIN.
    pub has_pin: bool,
    /// The plan the account is on (`free` unless an administrator set another).
    pub plan: String,
}

impl From<User> for UserBody {
    fn from(user: User) -> Self {
        Self {
            scopes: user.scopes.split_whitespace().map(str::to_owned).collect(),
            id: user.id,
            username: user.username,
            email: user.email,
            email_verified: user.email_verified,
            is_active: user.is_active,
            created_at: rfc3339(user.created_at),
            phone: user.phone,
            name: user.name,
            has_pin: user.pin_hash.is_some(),
            plan: user.plan,
        }
    }
}

/// A login's or refresh's answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenPairBody {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: UserBody,
}

impl From<TokenPair> for TokenPairBody {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access.token,
            token_type: "Bearer",
            expires_in: pair.access.expires_in,
            refresh_token: pair.refresh_token,
            user: pair.user.into(),
        }
    }
}

/// A response carrying tokens: never cached (RFC 6749 §5.1).
pub fn token_response(status: StatusCode, body: impl Serialize) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

/// An RFC 3339 time sent in `field`; anything else is a 422 naming the field.
pub fn parse_time(field: &'static str, text: &str) -> Result<UnixTime, ApiError> {
    parse_rfc3339(text).ok_or_else(|| {
        ApiError::validation([(
            field,
            "must be an RFC 3339 time such as 2027-01-31T00:00:00Z".to_owned(),
        )])
    })
}
