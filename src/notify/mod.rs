//! Outbound channels: text messages through Twilio's REST API, e-mail over SMTP, and captcha verification.
//! Each is a real client with a configurable endpoint; none is reached when it is not configured.

pub mod captcha;
pub mod email;
pub mod messages;
pub mod sms;

pub use captcha::{Captcha, CaptchaError};
pub use email::Mailer;
pub use sms::SmsSender;

/// The channels one-time codes and notices go out through.
#[derive(Debug)]
pub struct Notifier {
    pub sms: SmsSender,
    pub email: Mailer,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("no {0} channel is configured")]
    Disabled(&'static str),
    #[error("the SMS provider refused the message: {0}")]
    Sms(String),
    #[error("the e-mail could not be sent: {0}")]
    Email(String),
}

/// An HTTP client for a provider: a total timeout, and no redirects (a provider never needs one).
fn http_client(timeout_secs: u64) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout_secs.max(1)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}
