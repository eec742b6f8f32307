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

/// A code by text message: short, with the code first (what phones show in notifications).
pub fn code_sms(issuer: &str, code: &str, purpose: &str, minutes: i64) -> String {
    format!("{code} is your {issuer} code to {purpose}. It expires in {minutes} minutes. Never share it.")
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
