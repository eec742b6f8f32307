//! `/admin/apps/{id}/members`: who may enter an invite-only application, in the console — the members a page at
//! a time, adding one or many (an account made for a new address or number), removing one, inviting by e-mail
//! (the link shown, and mailed when e-mail is configured). The same `Access` and `Accounts` calls as the admin
//! API, so the same rules and audit events.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::admin::{console, console_form, console_page};
use super::{BrowserState, PageError, PageForm, see_other};
use crate::apps::Application;
use crate::apps::policy::AccessMode;
use crate::auth::AuthError;
use crate::auth::members::{Added, MemberSpec};
use crate::clock::rfc3339;
use crate::state::AppState;

/// Members on one page.
const PER_PAGE: i64 = 100;
/// The most lines one "add many" takes.
const MAX_ROWS: usize = 1000;

struct MemberRow {
    id: String,
    username: String,
    email: String,
    phone: String,
    added_at: String,
}

#[derive(Template)]
#[template(path = "admin_members.html")]
struct MembersPage<'a> {
    section: &'static str,
    csrf: &'a str,
    app_id: &'a str,
    app_name: &'a str,
    invite_only: bool,
    members: Vec<MemberRow>,
    page: i64,
    more: bool,
    /// (address, sent, expires, accepted)
    invitations: Vec<(String, String, String, String)>,
    max_rows: usize,
    notice: Option<String>,
    link: Option<String>,
    errors: Vec<String>,
}

/// What the page shows besides the members.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    link: Option<String>,
    errors: Vec<String>,
}

async fn show(
    state: &AppState,
    browser: &BrowserState,
    app: &Application,
    page: i64,
    status: StatusCode,
    shown: Shown,
) -> Result<HttpResponse, PageError> {
    let mut members = state.auth.access.list_members(app, page, PER_PAGE + 1).await?;
    let more = members.len() as i64 > PER_PAGE;
    members.truncate(PER_PAGE as usize);
    let invitations = state.auth.accounts.list_invitations(app).await?;
    let template = MembersPage {
        section: "apps",
        csrf: &browser.csrf,
        app_id: &app.id,
        app_name: &app.name,
        invite_only: app.policy.access_mode == AccessMode::InviteOnly,
        members: members
            .into_iter()
            .map(|(user, added_at)| MemberRow {
                email: user.email.unwrap_or_default(),
                phone: user.phone.unwrap_or_default(),
                added_at: rfc3339(added_at),
                username: user.username,
                id: user.id,
            })
            .collect(),
        page,
        more,
        invitations: invitations
            .into_iter()
            .map(|row| {
                let accepted = row.accepted_at.map(rfc3339).unwrap_or_else(|| "not yet".into());
                (row.email, rfc3339(row.created_at), rfc3339(row.expires_at), accepted)
            })
            .collect(),
        max_rows: MAX_ROWS,
        notice: shown.notice,
        link: shown.link,
        errors: shown.errors,
    };
    console_page(browser, status, &template)
}

/// Each refused field as a sentence; anything else is the error page's.
fn refusal(error: AuthError) -> Result<Vec<String>, PageError> {
    match error {
        AuthError::Validation(problems) => Ok(super::admin::field_sentences(&problems)),
        other => Err(other.into()),
    }
}

/// A line naming someone: an address has `@`, a number starts with `+`, anything else is a username.
fn member_spec(who: &str) -> MemberSpec {
    let who = who.trim().to_owned();
    let mut spec = MemberSpec::default();
    if who.contains('@') {
        spec.email = Some(who);
    } else if who.starts_with('+') {
        spec.phone = Some(who);
    } else {
        spec.username = Some(who);
    }
    spec
}

#[derive(Deserialize)]
pub struct MembersQuery {
    page: Option<i64>,
    done: Option<String>,
}

pub async fn get_members(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<MembersQuery>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console(&req, &state).await? else {
        return Ok(see_other("/login"));
    };
    let app = state.apps.get(&id).await?;
    let notice = match query.done.as_deref() {
        Some("removed") => Some("The member is removed: their sign-ins in this application ended.".to_owned()),
        _ => None,
    };
    let page = query.page.unwrap_or(1).clamp(1, 1_000_000);
    show(
        &state,
        &browser,
        &app,
        page,
        StatusCode::OK,
        Shown {
            notice,
            ..Shown::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    who: String,
    #[serde(default)]
    many: String,
}

pub async fn post_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let app = state.apps.get(&id).await?;
    let shown = match state
        .auth
        .access
        .add_member(&app, member_spec(&form.who), state.clock.now())
        .await
    {
        Ok((user, added)) => Shown {
            notice: Some(match added {
                Added::AlreadyMember => format!("{} was already a member.", user.username),
                Added::Member => format!("{} is a member now.", user.username),
                Added::NewAccount => format!("An account {} was made, and is a member.", user.username),
            }),
            ..Shown::default()
        },
        Err(error) => Shown {
            errors: refusal(error)?,
            ..Shown::default()
        },
    };
    let status = if shown.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    show(&state, &browser, &app, 1, status, shown).await
}

/// Adds every line; one refused line does not stop the others, and each refusal is named by its line.
pub async fn post_import(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<MemberForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let app = state.apps.get(&id).await?;
    let lines: Vec<&str> = form.many.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() > MAX_ROWS {
        let errors = vec![format!("At most {MAX_ROWS} lines at once.")];
        return show(
            &state,
            &browser,
            &app,
            1,
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                errors,
                ..Shown::default()
            },
        )
        .await;
    }
    let (mut added, mut errors) = (0, Vec::new());
    for (number, line) in lines.iter().enumerate() {
        match state
            .auth
            .access
            .add_member(&app, member_spec(line), state.clock.now())
            .await
        {
            Ok(_) => added += 1,
            Err(error) => errors.extend(refusal(error)?.into_iter().map(|e| format!("line {}: {e}", number + 1))),
        }
    }
    let notice = Some(format!("{added} of {} added (or already members).", lines.len()));
    show(
        &state,
        &browser,
        &app,
        1,
        StatusCode::OK,
        Shown {
            notice,
            errors,
            ..Shown::default()
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
}

pub async fn post_remove(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: PageForm<RemoveForm>,
) -> Result<HttpResponse, PageError> {
    if console_form(&req, &state, &form.csrf).await?.is_none() {
        return Ok(see_other("/login"));
    }
    let (id, user_id) = path.into_inner();
    let app = state.apps.get(&id).await?;
    state
        .auth
        .access
        .remove_member(&app, &user_id, state.clock.now())
        .await?;
    Ok(see_other(&format!("/admin/apps/{}/members?done=removed", app.id)))
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    days: String,
}

/// Invites an address; the single-use link is shown on this response (and mailed when e-mail is configured).
pub async fn post_invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: PageForm<InviteForm>,
) -> Result<HttpResponse, PageError> {
    let Some(browser) = console_form(&req, &state, &form.csrf).await? else {
        return Ok(see_other("/login"));
    };
    let app = state.apps.get(&id).await?;
    let days = match form.days.trim() {
        "" => None,
        days => match days.parse() {
            Ok(days) => Some(days),
            Err(_) => {
                let errors = vec!["days: must be a whole number".to_owned()];
                let shown = Shown {
                    errors,
                    ..Shown::default()
                };
                return show(&state, &browser, &app, 1, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
            }
        },
    };
    let invited = state
        .auth
        .accounts
        .invite(&app, &form.email, days, state.oidc.issuer(), state.clock.now())
        .await;
    let (status, shown) = match invited {
        Ok(made) => {
            let how = if made.sent {
                "It was e-mailed; here is the link too:"
            } else {
                "E-mail is not configured: send this link yourself:"
            };
            (
                StatusCode::CREATED,
                Shown {
                    notice: Some(format!("{} is invited. {how}", made.row.email)),
                    link: Some(made.link),
                    ..Shown::default()
                },
            )
        }
        Err(error) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Shown {
                errors: refusal(error)?,
                ..Shown::default()
            },
        ),
    };
    show(&state, &browser, &app, 1, status, shown).await
}
