//! Text messages: Twilio's Messages API (`POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json`, HTTP Basic
//! with the account SID and auth token, form fields `To`, `From` or `MessagingServiceSid`, `Body`), or the log
//! in development.

use serde::Deserialize;

use super::NotifyError;
use crate::config::{Secret, SmsConfig, SmsProvider};

/// Where text messages go.
pub struct SmsSender(Channel);

enum Channel {
    Disabled,
    Log,
    Twilio(Twilio),
}

struct Twilio {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: Secret,
    /// `From` or `MessagingServiceSid`, and its value.
    sender: (&'static str, String),
}

/// Twilio's error body (its REST API answers every failure in this shape).
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl SmsSender {
    pub fn new(config: &SmsConfig) -> Result<Self, reqwest::Error> {
        Ok(Self(match config.provider {
            SmsProvider::None => Channel::Disabled,
            SmsProvider::Log => Channel::Log,
            SmsProvider::Twilio => Channel::Twilio(Twilio {
                http: super::http_client(config.timeout_secs)?,
                messages_url: format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    config.base_url.trim_end_matches('/'),
                    config.account_sid
                ),
                account_sid: config.account_sid.clone(),
                auth_token: config.auth_token.clone().unwrap_or_else(|| Secret::new("")),
                sender: if config.messaging_service_sid.is_empty() {
                    ("From", config.from_number.clone())
                } else {
                    ("MessagingServiceSid", config.messaging_service_sid.clone())
                },
            }),
        }))
    }

    /// Whether text messages can be sent at all.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.0, Channel::Disabled)
    }

    /// Sends `body` to `to` (E.164).
    pub async fn send(&self, to: &str, body: &str) -> Result<(), NotifyError> {
        match &self.0 {
            Channel::Disabled => Err(NotifyError::Disabled("SMS")),
            Channel::Log => {
                tracing::warn!(to, body, "SMS (log provider, not sent)");
                Ok(())
            }
            Channel::Twilio(twilio) => twilio.send(to, body).await,
        }
    }
}

impl Twilio {
    async fn send(&self, to: &str, body: &str) -> Result<(), NotifyError> {
        let (sender_field, sender) = (&self.sender.0, &self.sender.1);
        let response = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&[("To", to), (sender_field, sender.as_str()), ("Body", body)])
            .send()
            .await
            .map_err(|e| NotifyError::Sms(format!("Twilio could not be reached: {e}")))?;
        let status = response.status();
        if status.is_success() {
            tracing::info!(to = %mask_phone(to), "SMS sent");
            return Ok(());
        }
        let error: Option<TwilioError> = response.json().await.ok();
        let (code, message) = error
            .map(|e| (e.code, e.message.unwrap_or_default()))
            .unwrap_or((None, String::new()));
        Err(NotifyError::Sms(format!(
            "Twilio answered {status}, error {}: {message}",
            code.map_or_else(|| "?".to_owned(), |c| c.to_string())
        )))
    }
}

/// A phone number with all but its last four digits hidden, for logs and answers.
pub fn mask_phone(phone: &str) -> String {
    let digits = phone.chars().count();
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i == 0 || i + 4 >= digits { c } else { '•' })
        .collect()
}

/// Whether `phone` is an E.164 number: `+`, a non-zero digit, 7 to 15 digits in all.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// A phone number as a user typed it, in E.164 if it can be: spaces, dashes, dots and brackets dropped.
pub fn normalize_phone(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect()
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.0 {
            Channel::Disabled => "disabled",
            Channel::Log => "log",
            Channel::Twilio(_) => "twilio",
        };
        f.debug_tuple("SmsSender").field(&kind).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers_are_recognised_and_masked() {
        assert!(is_e164("+14155552671"));
        assert!(is_e164(&normalize_phone("+44 (20) 7946-0958")));
        for bad in [
            "14155552671",
            "+0123456789",
            "+1415",
            "+1234567890123456",
            "+1415555267a",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
        assert_eq!(mask_phone("+14155552671"), "+•••••••2671");
    }
}
