//! `/api/v1/admin/apps/{id}/members`: who may enter an application (administrators only) — list, add one,
//! import many (JSON or CSV, answered row by row), remove.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::body::UserBody;
use crate::auth::members::{Added, MAX_PAGE, MemberSpec};
use crate::clock::rfc3339;
use crate::http::body::{has_content_type, read_limited};
use crate::http::error::ApiError;
use crate::http::extract::{Admin, ApiJson};
use crate::state::AppState;

/// The most rows one import may hold.
const MAX_IMPORT_ROWS: usize = 1000;
/// The largest import body.
const MAX_IMPORT_BODY: usize = 1024 * 1024;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    username: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

impl From<MemberRequest> for MemberSpec {
    fn from(request: MemberRequest) -> Self {
        Self {
            username: request.username,
            email: request.email,
            phone: request.phone,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    members: Vec<MemberRequest>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1.
    page: Option<i64>,
    /// Members per page.
    per_page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct MemberBody {
    user: UserBody,
    added_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AddedBody {
    user: UserBody,
    /// `added`, `already_member` or `created` (a new account).
    result: &'static str,
}

/// One row of an import: what happened to it.
#[derive(Serialize, utoipa::ToSchema)]
struct RowBody {
    /// 1-based, as in the file (the CSV header is row 0).
    row: usize,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    /// The refusal's code and fields, as a REST error names them.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ImportBody {
    added: usize,
    created: usize,
    already_member: usize,
    failed: usize,
    rows: Vec<RowBody>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/members",
    tag = "admin: members",
    summary = "An application's members",
    params(("id" = String, Path, description = "The resource's id"), PageQuery),
    responses((status = 200, description = "OK", body = Vec<MemberBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_members(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let members = state
        .auth
        .access
        .list_members(
            &app,
            query.page.unwrap_or(1),
            query.per_page.unwrap_or(100).min(MAX_PAGE),
        )
        .await?;
    let body: Vec<MemberBody> = members
        .into_iter()
        .map(|(user, added_at)| MemberBody {
            user: user.into(),
            added_at: rfc3339(added_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// Adds one person: `201` when they became a member, `200` when they were one already.
#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{id}/members",
    tag = "admin: members",
    summary = "Add a member (an account is made for an unknown address)",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = MemberRequest,
    responses((status = 201, description = "Created", body = AddedBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn add_member(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<MemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let (user, added) = state
        .auth
        .access
        .add_member(&app, body.into_inner().into(), state.clock.now())
        .await?;
    let mut response = match added {
        Added::AlreadyMember => HttpResponse::Ok(),
        Added::Member | Added::NewAccount => HttpResponse::Created(),
    };
    Ok(response.json(AddedBody {
        user: user.into(),
        result: added.as_str(),
    }))
}

/// Adds many: `{"members": [...]}` as JSON, or CSV with a header row naming `username`, `email` and/or
/// `phone`. Every row is answered; one bad row does not stop the others.
#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{id}/members/import",
    tag = "admin: members",
    summary = "Import members from JSON or CSV",
    params(("id" = String, Path, description = "The resource's id")),
    request_body(
        content((ImportRequest = "application/json"), (String = "text/csv")),
        description = "The members, as JSON or as CSV with a header row"
    ),
    responses((status = 200, description = "OK", body = ImportBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn import_members(
    _: Admin,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let bytes = if has_content_type(&req, "application/json") || has_content_type(&req, "text/csv") {
        read_limited(&req, &mut payload.into_inner(), MAX_IMPORT_BODY).await?
    } else {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json ({\"members\": [...]}) or text/csv.",
        ));
    };
    let specs = if has_content_type(&req, "text/csv") {
        csv_rows(&bytes)?
    } else {
        let request: ImportRequest = serde_json::from_slice(&bytes).map_err(|_| ApiError::malformed_json())?;
        request.members.into_iter().map(MemberSpec::from).collect()
    };
    if specs.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::validation([(
            "members",
            format!("at most {MAX_IMPORT_ROWS} rows per import"),
        )]));
    }
    let now = state.clock.now();
    let mut report = ImportBody {
        added: 0,
        created: 0,
        already_member: 0,
        failed: 0,
        rows: Vec::with_capacity(specs.len()),
    };
    for (index, spec) in specs.into_iter().enumerate() {
        let row = index + 1;
        match state.auth.access.add_member(&app, spec, now).await {
            Ok((user, added)) => {
                match added {
                    Added::Member => report.added += 1,
                    Added::NewAccount => report.created += 1,
                    Added::AlreadyMember => report.already_member += 1,
                }
                report.rows.push(RowBody {
                    row,
                    result: added.as_str(),
                    user_id: Some(user.id),
                    code: None,
                    detail: None,
                });
            }
            Err(refusal) => {
                let error = ApiError::from(refusal);
                if error.is_server_error() {
                    return Err(error);
                }
                report.failed += 1;
                report.rows.push(RowBody {
                    row,
                    result: "failed",
                    user_id: None,
                    code: Some(error.code()),
                    detail: Some(error.detail().to_owned()),
                });
            }
        }
    }
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/apps/{id}/members/{user_id}",
    tag = "admin: members",
    summary = "Remove a member",
    params(
        ("id" = String, Path, description = "The resource's id"),
        ("user_id" = String, Path, description = "The member's account id"),
    ),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn remove_member(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user_id) = path.into_inner();
    let app = state.apps.get(&id).await?;
    state
        .auth
        .access
        .remove_member(&app, &user_id, state.clock.now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The rows of a CSV import: a header row names the columns (`username`, `email`, `phone`, in any order).
fn csv_rows(bytes: &[u8]) -> Result<Vec<MemberSpec>, ApiError> {
    let unreadable = |why: String| ApiError::validation([("body", why)]);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| unreadable(format!("the CSV header cannot be read: {e}")))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (username, email, phone) = (column("username"), column("email"), column("phone"));
    if let Some(unknown) = headers
        .iter()
        .find(|h| !["username", "email", "phone"].iter().any(|k| h.eq_ignore_ascii_case(k)))
    {
        return Err(unreadable(format!(
            "the column {unknown:?} is unknown (username, email, phone)"
        )));
    }
    let mut specs = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| unreadable(format!("row {} cannot be read: {e}", index + 1)))?;
        let field = |at: Option<usize>| at.and_then(|i| record.get(i)).map(str::to_owned);
        specs.push(MemberSpec {
            username: field(username),
            email: field(email),
            phone: field(phone),
        });
        if specs.len() > MAX_IMPORT_ROWS {
            break;
        }
    }
    Ok(specs)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    email: Option<String>,
    expires_in_days: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct InvitationBody {
    id: String,
    email: String,
    created_at: String,
    expires_at: String,
    accepted_at: Option<String>,
    accepted_by: Option<String>,
    /// The single-use link: shown when the invitation is made, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    /// Whether the invitation went out by e-mail (else share the link yourself).
    #[serde(skip_serializing_if = "Option::is_none")]
    sent: Option<bool>,
}

impl InvitationBody {
    fn new(row: crate::store::invitations::InvitationRow, link: Option<String>, sent: Option<bool>) -> Self {
        Self {
            id: row.id,
            email: row.email,
            created_at: rfc3339(row.created_at),
            expires_at: rfc3339(row.expires_at),
            accepted_at: row.accepted_at.map(rfc3339),
            accepted_by: row.accepted_by,
            link,
            sent,
        }
    }
}

/// Invites an address: a single-use link that expires, e-mailed when e-mail is configured.
#[utoipa::path(
    post,
    path = "/api/v1/admin/apps/{id}/invitations",
    tag = "admin: members",
    summary = "Invite an address to an application",
    params(("id" = String, Path, description = "The resource's id")),
    request_body = InvitationRequest,
    responses((status = 201, description = "Created", body = InvitationBody)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn invite(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: ApiJson<InvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let InvitationRequest { email, expires_in_days } = body.into_inner();
    let Some(email) = email else {
        return Err(super::auth::missing_fields(&[("email", true)]));
    };
    let app = state.apps.get(&id).await?;
    let made = state
        .auth
        .accounts
        .invite(&app, &email, expires_in_days, state.oidc.issuer(), state.clock.now())
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(InvitationBody::new(made.row, Some(made.link), Some(made.sent))))
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/apps/{id}/invitations",
    tag = "admin: members",
    summary = "An application's invitations",
    params(("id" = String, Path, description = "The resource's id")),
    responses((status = 200, description = "OK", body = Vec<InvitationBody>)),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn list_invitations(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let app = state.apps.get(&id).await?;
    let rows = state.auth.accounts.list_invitations(&app).await?;
    let body: Vec<InvitationBody> = rows
        .into_iter()
        .map(|row| InvitationBody::new(row, None, None))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/apps/{id}/invitations/{invitation_id}",
    tag = "admin: members",
    summary = "Withdraw an invitation",
    params(
        ("id" = String, Path, description = "The resource's id"),
        ("invitation_id" = String, Path, description = "The invitation's id"),
    ),
    responses((status = 204, description = "Done; no body")),
    security(("api_key" = [], "bearer" = []))
)]
pub async fn withdraw_invitation(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, invitation) = path.into_inner();
    let app = state.apps.get(&id).await?;
    state.auth.accounts.withdraw_invitation(&app, &invitation).await?;
    Ok(HttpResponse::NoContent().finish())
}
