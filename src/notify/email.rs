//! E-mail over SMTP (lettre): STARTTLS, implicit TLS or — for a relay on the same machine — none, with
//! optional credentials; or the log in development. Every message has a text and an HTML part.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::NotifyError;
use crate::config::{EmailConfig, EmailTransport, SmtpTls};

/// Where e-mail goes.
pub struct Mailer {
    channel: Channel,
    from: Option<Mailbox>,
}

enum Channel {
    Disabled,
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// One message: subject, text and HTML bodies.
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mailer {
    pub fn new(config: &EmailConfig) -> Result<Self, lettre::transport::smtp::Error> {
        let channel = match config.transport {
            EmailTransport::None => Channel::Disabled,
            EmailTransport::Log => Channel::Log,
            EmailTransport::Smtp => {
                let builder = match config.tls {
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
                };
                let mut builder = builder
                    .port(config.port)
                    .timeout(Some(Duration::from_secs(config.timeout_secs.max(1))));
                if !config.username.is_empty() {
                    let password = config
                        .password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default();
                    builder = builder.credentials(Credentials::new(config.username.clone(), password));
                }
                Channel::Smtp(builder.build())
            }
        };
        Ok(Self {
            channel,
            from: config.from.parse().ok(),
        })
    }

    /// Whether e-mail can be sent at all.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.channel, Channel::Disabled)
    }

    /// Sends `email` to `to`.
    pub async fn send(&self, to: &str, email: Email) -> Result<(), NotifyError> {
        let (transport, from) = match (&self.channel, &self.from) {
            (Channel::Disabled, _) | (_, None) => return Err(NotifyError::Disabled("e-mail")),
            (Channel::Log, _) => {
                tracing::warn!(to, subject = %email.subject, body = %email.text, "e-mail (log transport, not sent)");
                return Ok(());
            }
            (Channel::Smtp(transport), Some(from)) => (transport, from),
        };
        let to: Mailbox = to
            .parse()
            .map_err(|e| NotifyError::Email(format!("the recipient is not an address: {e}")))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))
            .map_err(|e| NotifyError::Email(format!("the message could not be built: {e}")))?;
        transport
            .send(message)
            .await
            .map_err(|e| NotifyError::Email(format!("SMTP: {e}")))?;
        tracing::info!("e-mail sent");
        Ok(())
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.channel {
            Channel::Disabled => "disabled",
            Channel::Log => "log",
            Channel::Smtp(_) => "smtp",
        };
        f.debug_tuple("Mailer").field(&kind).finish()
    }
}
