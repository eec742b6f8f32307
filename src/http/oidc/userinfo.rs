//! `GET`/`POST /oauth2/userinfo` (OIDC Core §5.3; RFC 6750 §2.1–2.2): the token in the Authorization header,
//! or in a form body on POST — exactly one of them.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use super::OAuthForm;
use crate::http::body::has_content_type;
use crate::http::extract::{bearer_token, single_header};
use crate::oidc::params::Params;
use crate::oidc::{OAuthError, OidcService};
use crate::state::AppState;

pub async fn get_userinfo(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(&state.oidc, header_token(&req), &state).await
}

/// RFC 6750 §2.2: the body is read only when it is a form; any other body is not where a token can be.
pub async fn post_userinfo(req: HttpRequest, state: web::Data<AppState>, payload: web::Payload) -> HttpResponse {
    let from_header = header_token(&req);
    let params = if has_content_type(&req, "application/x-www-form-urlencoded") {
        match OAuthForm::from_request(&req, &mut payload.into_inner()).await {
            Ok(form) => form.0,
            Err(rejected) => return rejected.error_response(),
        }
    } else {
        Params::default()
    };
    let from_body = match params.get("access_token") {
        Ok(token) => token.map(str::to_owned),
        Err(_) => return OAuthError::invalid_request("access_token must not be repeated").error_response(),
    };
    let token = match (from_header, from_body) {
        (Ok(Some(_)), Some(_)) => {
            return OAuthError::invalid_request("send the access token in the header or the body, not both")
                .error_response();
        }
        (Ok(None), Some(token)) => Ok(Some(token)),
        (other, None) => other,
        (Err(e), Some(_)) => Err(e),
    };
    respond(&state.oidc, token, &state).await
}

fn header_token(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    single_header(req, "authorization")
        .map_err(|_| OAuthError::invalid_request("the Authorization header must not be repeated"))?;
    bearer_token(req)
        .map(|t| t.map(str::to_owned))
        .map_err(OAuthError::from)
}

async fn respond(oidc: &OidcService, token: Result<Option<String>, OAuthError>, state: &AppState) -> HttpResponse {
    let token = match token {
        Err(error) => return error.error_response(),
        Ok(None) => return crate::http::error::bearer_token_missing(),
        Ok(Some(token)) => token,
    };
    match oidc.userinfo(&token, state.clock.now()).await {
        Ok(claims) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(claims),
        Err(error) => error.error_response(),
    }
}
