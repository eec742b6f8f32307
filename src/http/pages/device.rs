//! `/device` (RFC 8628 §3.3): the person types the user code a device shows — prefilled from
//! `verification_uri_complete` but always submitted by the person — signs in through the ordinary sign-in
//! pages if needed (the request they resume comes back here), then approves or denies the device. Wrong codes
//! are counted per address by the domain; this file only translates forms and answers into pages.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::consent::describe;
use super::{
    BrowserState, PageError, PageForm, SignedInStep, browser_state, check_csrf, login, outcome_response, page,
    pending_for_signed_in, render,
};
use crate::oidc::device::{DeviceAnswer, DeviceRefusal};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "device.html")]
struct EntryPage<'a> {
    csrf: &'a str,
    user_code: &'a str,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    request: &'a str,
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "device_done.html")]
struct DonePage<'a> {
    client_name: &'a str,
    approved: bool,
    message: &'a str,
}

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
    /// The pending request of a device, once the person entered its code.
    request: Option<String>,
}

#[derive(Deserialize)]
pub struct DeviceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
}

/// Longest user code shown back in the form (a real one has nine characters).
const SHOWN_CODE_CHARS: usize = 16;

/// The code form, or — with `request` — the approval of the device whose code was entered.
pub async fn get_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    if let Some(request) = &query.request {
        return confirm(&req, &state, request).await;
    }
    let browser = browser_state(&req, &state).await?;
    let typed = query.user_code.as_deref().unwrap_or_default();
    entry_page(&browser, StatusCode::OK, typed, None)
}

/// `verification_uri_complete` of a user code as a QR code (SVG), for a device that can show a picture from a
/// URL but cannot draw one (RFC 8628 §3.3.1). Any well-formed code is drawn, pending or not.
pub async fn get_device_qr(
    state: web::Data<AppState>,
    query: web::Query<DeviceQuery>,
) -> Result<HttpResponse, PageError> {
    let typed = query.user_code.as_deref().unwrap_or_default();
    let Some(uri) = state.oidc.verification_uri_complete(typed) else {
        return Err(PageError::bad_request(
            "user_code must be a user code of eight letters.",
        ));
    };
    let svg = crate::qr::svg(&uri).map_err(PageError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(svg))
}

/// A user code entered: on to sign-in, to the approval, or back to the form with what was wrong.
pub async fn post_device(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: PageForm<DeviceForm>,
) -> Result<HttpResponse, PageError> {
    let browser = browser_state(&req, &state).await?;
    check_csrf(&req, &state, &form.csrf)?;
    let binding = browser.binding();
    let entered = state
        .oidc
        .enter_user_code(&form.user_code, browser.as_browser(&binding), state.clock.now())
        .await;
    match entered {
        Ok(outcome) => outcome_response(Ok(outcome), &state),
        Err(DeviceRefusal::UnknownCode) => entry_page(
            &browser,
            StatusCode::BAD_REQUEST,
            &form.user_code,
            Some("That code is not right, or it has expired. Check the code your device shows and try again."),
        ),
        Err(DeviceRefusal::TooManyAttempts(_)) => entry_page(
            &browser,
            StatusCode::TOO_MANY_REQUESTS,
            "",
            Some("Too many wrong codes were entered from here. Please wait a few minutes, then try again."),
        ),
        Err(DeviceRefusal::Rejected(rejection)) => Err(login::rejected(rejection)),
    }
}

/// The page that shows how the person answered a device.
pub(super) fn answered(client_name: &str, answer: DeviceAnswer) -> Result<HttpResponse, PageError> {
    let message = match answer {
        DeviceAnswer::Approved => "",
        DeviceAnswer::Declined => "You denied the request. The device will not be signed in.",
        DeviceAnswer::NotAdmitted => "This account may not use this application, or not from this network.",
    };
    render(
        page(StatusCode::OK),
        &DonePage {
            client_name,
            approved: answer == DeviceAnswer::Approved,
            message,
        },
    )
}

async fn confirm(req: &HttpRequest, state: &AppState, request_id: &str) -> Result<HttpResponse, PageError> {
    let SignedInStep {
        browser,
        pending,
        session,
    } = match pending_for_signed_in(req, state, request_id).await? {
        Ok(step) => step,
        Err(sign_in) => return Ok(sign_in),
    };
    if pending.request.device.is_none() {
        return Err(PageError::bad_request("This request is not a device's."));
    }
    let mut response = page(StatusCode::OK);
    browser.keep_csrf(&mut response);
    render(
        response,
        &ConfirmPage {
            csrf: &browser.csrf,
            request: &pending.id,
            client_name: &pending.client.name,
            username: &session.user.username,
            scopes: pending.request.scope().iter().map(describe).collect(),
        },
    )
}

fn entry_page(
    browser: &BrowserState,
    status: StatusCode,
    typed: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let shown: String = typed.chars().take(SHOWN_CODE_CHARS).collect();
    let mut response = page(status);
    browser.keep_csrf(&mut response);
    render(
        response,
        &EntryPage {
            csrf: &browser.csrf,
            user_code: &shown,
            error,
        },
    )
}
