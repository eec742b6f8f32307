//! `GET`/`POST /oauth2/userinfo` (OIDC Core §5.3; RFC 6750 §2.1–2.2; RFC 9449 §7.1): the token in the
//! Authorization header (`Bearer`, or `DPoP` with a proof), or in a form body on POST — exactly one of them.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use super::OAuthForm;
use crate::http::body::has_content_type;
use crate::http::error::dpop_resource_error;
use crate::http::extract::{TokenScheme, authorization_token, dpop_proof, proof_url, single_header};
use crate::oidc::OAuthError;
use crate::oidc::params::Params;
use crate::state::AppState;
use crate::tokens::dpop::{Presentation, ProofTarget};

type Presented = Result<Option<(String, TokenScheme)>, OAuthError>;

pub async fn get_userinfo(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    respond(&req, header_token(&req), &state).await
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
        (Ok(None), Some(token)) => Ok(Some((token, TokenScheme::Bearer))),
        (other, None) => other,
        (Err(e), Some(_)) => Err(e),
    };
    respond(&req, token, &state).await
}

fn header_token(req: &HttpRequest) -> Presented {
    single_header(req, "authorization")
        .map_err(|_| OAuthError::invalid_request("the Authorization header must not be repeated"))?;
    authorization_token(req)
        .map(|t| t.map(|(token, scheme)| (token.to_owned(), scheme)))
        .map_err(OAuthError::from)
}

async fn respond(req: &HttpRequest, token: Presented, state: &AppState) -> HttpResponse {
    let (token, scheme) = match token {
        Err(error) => return error.error_response(),
        Ok(None) => return crate::http::error::bearer_token_missing(),
        Ok(Some(token)) => token,
    };
    let url = proof_url(req, state.config.issuer());
    let presentation = match (scheme, dpop_proof(req)) {
        (TokenScheme::Bearer, _) => Presentation::Bearer,
        (TokenScheme::Dpop, Err(error)) => return dpop_resource_error(&OAuthError::from(error), true, None),
        (TokenScheme::Dpop, Ok(proof)) => Presentation::Dpop {
            proof,
            target: ProofTarget {
                method: req.method().as_str(),
                url: &url,
            },
        },
    };
    match state.oidc.userinfo(&token, presentation, state.clock.now()).await {
        Ok(claims) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(claims),
        Err(error) => {
            let nonce = state.auth.dpop.fresh_nonce(state.clock.now());
            dpop_resource_error(&error, scheme == TokenScheme::Dpop, nonce)
        }
    }
}
