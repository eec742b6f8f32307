//! What Tessera says by SMS and e-mail: one-time codes and security notices, rendered from askama templates
//! (text and HTML for e-mail).

use askama::Template;

use super::email::Email;

#[derive(Template)]
#[template(path = "email/code.txt")]
struct CodeText<'a> {
    issuer: &'a str,
    code: &'a str,
    purpose: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/code.html")]
struct CodeHtml<'a> {
    issuer: &'a str,
    code: &'a str,
    purpose: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeText<'a> {
    issuer: &'a str,
    what: &'a str,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    issuer: &'a str,
    what: &'a str,
}

#[derive(Template)]
#[template(path = "email/message.txt")]
struct MessageText<'a> {
    text: &'a str,
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct MessageHtml<'a> {
    text: &'a str,
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    app: &'a str,
    link: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    app: &'a str,
    link: &'a str,
    days: i64,
}

/// A code by text message: short, with the code first (what phones show in notifications).
pub fn code_sms(issuer: &str, code: &str, purpose: &str, minutes: i64) -> String {
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    format!("{code} is your {issuer} code to {purpose}. It expires in {minutes} {unit}. Never share it.")
}

/// A plain message by e-mail (what someone who may not sign in reads instead of a code).
pub fn message_email(issuer: &str, text: &str) -> Result<Email, askama::Error> {
    Ok(Email {
        subject: format!("Your {issuer} sign-in"),
        text: MessageText { text }.render()?,
        html: MessageHtml { text }.render()?,
    })
}

/// An invitation to an application, with its single-use link.
pub fn invitation_email(issuer: &str, app: &str, link: &str, days: i64) -> Result<Email, askama::Error> {
    Ok(Email {
        subject: format!("You are invited to {app} ({issuer})"),
        text: InvitationText { app, link, days }.render()?,
        html: InvitationHtml { app, link, days }.render()?,
    })
}

/// A code by e-mail.
pub fn code_email(issuer: &str, code: &str, purpose: &str, minutes: i64) -> Result<Email, askama::Error> {
    Ok(Email {
        subject: format!("Your {issuer} code: {code}"),
        text: CodeText {
            issuer,
            code,
            purpose,
            minutes,
        }
        .render()?,
        html: CodeHtml {
            issuer,
            code,
            purpose,
            minutes,
        }
        .render()?,
    })
}

/// A notice that something about the account's security changed.
pub fn notice_email(issuer: &str, what: &str) -> Result<Email, askama::Error> {
    Ok(Email {
        subject: format!("{issuer} security notice"),
        text: NoticeText { issuer, what }.render()?,
        html: NoticeHtml { issuer, what }.render()?,
    })
}
