//! `/a/{slug}`: an application's access link, where its sign-in starts per its access mode (or its home client
//! takes over); and `/admin/apps/{id}/access-link`, the page that shows the link and its QR code to
//! administrators.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;

use super::{PageError, browser_state, encode, flow_cookie, page, render, see_other, session_cookie, stage_location};
use crate::apps::policy::AccessMode;
use crate::auth::flow::Stage;
use crate::oidc::access_link::Landing;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "access_link.html")]
struct AccessLinkPage<'a> {
    id: &'a str,
    name: &'a str,
    link: &'a str,
    what: &'static str,
    png_base64: String,
}

/// Opens the application: its home client, or its sign-in, or — signed in and let in — the account page.
pub async fn get_access_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let app = state.apps.get(&slug).await?;
    let browser = browser_state(&req, &state).await?;
    let binding = browser.binding();
    let landing = state
        .oidc
        .land(
            &app,
            browser.session.as_ref(),
            &binding,
            &browser.origin,
            state.clock.now(),
        )
        .await?;
    let mut response = match landing {
        Landing::Client(uri) => see_other(&uri),
        Landing::Account => see_other("/account"),
        Landing::SignIn => see_other(&format!("/login?app={}", encode(&app.slug))),
        Landing::Guest(signed_in) => {
            let mut response = see_other("/account");
            response
                .add_cookie(&session_cookie(&state, signed_in.cookie))
                .map_err(PageError::internal)?;
            response
        }
        Landing::Verify(next) => {
            let mut response = see_other(&stage_location(Stage::Verification, None));
            response
                .add_cookie(&flow_cookie(&state, next.token))
                .map_err(PageError::internal)?;
            response
        }
    };
    if let Some(cookie) = &browser.new_csrf_cookie {
        response.add_cookie(cookie).map_err(PageError::internal)?;
    }
    Ok(response)
}

/// The access link and its QR code, for administrators signed in to this browser.
pub async fn get_admin_access_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    let Some(session) = &browser.session else {
        return Ok(see_other("/login"));
    };
    if !session.is_admin() {
        return Err(PageError::forbidden("This page is for administrators."));
    }
    let app = state.apps.get(&id).await?;
    let link = state.oidc.access_link(&app);
    let png = crate::qr::png(&link, 8).map_err(PageError::internal)?;
    let what = match app.policy.access_mode {
        AccessMode::Open => "lets anyone in at once, as a guest",
        AccessMode::Registration => "asks people to sign in or sign up",
        AccessMode::InviteOnly => "lets in the members an administrator added",
    };
    let mut response = page(StatusCode::OK);
    response.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    render(
        response,
        &AccessLinkPage {
            id: &app.id,
            name: &app.name,
            link: &link,
            what,
            png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        },
    )
}
