//! Captcha verification (reCAPTCHA v2/v3, hCaptcha, Cloudflare Turnstile: one request shape). The token a
//! form sent is checked server-side: `success`, the expected hostname, and — when the provider reports them
//! (reCAPTCHA v3) — the action and a minimum score. Fail closed: an unreachable provider refuses the request.

use std::net::IpAddr;

use serde::Deserialize;

use crate::config::{CaptchaConfig, CaptchaProvider, Secret};

/// The captcha check of signup and login, or nothing when none is configured (cheap to clone: the services
/// that check it share one client).
#[derive(Clone)]
pub struct Captcha(Option<std::sync::Arc<Verifier>>);

struct Verifier {
    http: reqwest::Client,
    provider: CaptchaProvider,
    site_key: String,
    secret: Secret,
    verify_url: String,
    hostname: String,
    min_score: f64,
}

/// Why a captcha check refused.
#[derive(Debug, thiserror::Error)]
pub enum CaptchaError {
    #[error("the captcha check failed: {0}")]
    Failed(String),
    #[error("the captcha provider could not be reached: {0}")]
    Unavailable(String),
}

/// The provider's answer (`siteverify`).
#[derive(Deserialize)]
struct Verdict {
    success: bool,
    hostname: Option<String>,
    action: Option<String>,
    score: Option<f64>,
    #[serde(rename = "error-codes", default)]
    error_codes: Vec<String>,
}

/// What a page needs to show the widget.
#[derive(Clone, Debug)]
pub struct Widget {
    pub script: &'static str,
    /// The class of the placeholder element the script fills.
    pub class: &'static str,
    pub site_key: String,
    /// Script and frame origins the page's CSP must allow.
    pub origins: &'static str,
}

impl Captcha {
    pub fn new(config: &CaptchaConfig) -> Result<Self, reqwest::Error> {
        if config.provider == CaptchaProvider::None {
            return Ok(Self(None));
        }
        Ok(Self(Some(std::sync::Arc::new(Verifier {
            http: super::http_client(config.timeout_secs)?,
            provider: config.provider,
            site_key: config.site_key.clone(),
            secret: config.secret.clone().unwrap_or_else(|| Secret::new("")),
            verify_url: config.verify_url.clone(),
            hostname: config.hostname.clone(),
            min_score: config.min_score,
        }))))
    }

    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// The widget a form shows, if a captcha is configured.
    pub fn widget(&self) -> Option<Widget> {
        let verifier = self.0.as_ref()?;
        let (script, class, origins) = match verifier.provider {
            CaptchaProvider::None | CaptchaProvider::Recaptcha => (
                "https://www.google.com/recaptcha/api.js",
                "g-recaptcha",
                "https://www.google.com https://www.gstatic.com",
            ),
            CaptchaProvider::Hcaptcha => (
                "https://js.hcaptcha.com/1/api.js",
                "h-captcha",
                "https://*.hcaptcha.com",
            ),
            CaptchaProvider::Turnstile => (
                "https://challenges.cloudflare.com/turnstile/v0/api.js",
                "cf-turnstile",
                "https://challenges.cloudflare.com",
            ),
        };
        Some(Widget {
            script,
            class,
            site_key: verifier.site_key.clone(),
            origins,
        })
    }

    /// Checks `token` (the form's response field) for `action` (`login`, `signup`) from `remote_ip`. Passes
    /// everything when no captcha is configured.
    pub async fn verify(
        &self,
        token: Option<&str>,
        action: &str,
        remote_ip: Option<IpAddr>,
    ) -> Result<(), CaptchaError> {
        let Some(verifier) = &self.0 else {
            return Ok(());
        };
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| CaptchaError::Failed("no captcha response was sent".into()))?;
        let remote_ip = remote_ip.map(|ip| ip.to_string());
        let mut form = vec![("secret", verifier.secret.expose()), ("response", token)];
        if let Some(ip) = &remote_ip {
            form.push(("remoteip", ip));
        }
        let response = verifier
            .http
            .post(&verifier.verify_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| CaptchaError::Unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(CaptchaError::Unavailable(format!("it answered {}", response.status())));
        }
        let verdict: Verdict = response
            .json()
            .await
            .map_err(|e| CaptchaError::Unavailable(format!("its answer could not be read: {e}")))?;
        verifier.judge(&verdict, action)
    }
}

impl Verifier {
    fn judge(&self, verdict: &Verdict, action: &str) -> Result<(), CaptchaError> {
        if !verdict.success {
            return Err(CaptchaError::Failed(format!(
                "not solved ({})",
                verdict.error_codes.join(", ")
            )));
        }
        if verdict.hostname.as_deref() != Some(self.hostname.as_str()) {
            return Err(CaptchaError::Failed(format!(
                "solved on {:?}, not {}",
                verdict.hostname, self.hostname
            )));
        }
        if let Some(reported) = &verdict.action
            && reported != action
        {
            return Err(CaptchaError::Failed(format!(
                "solved for action {reported:?}, not {action}"
            )));
        }
        if let Some(score) = verdict.score
            && score < self.min_score
        {
            return Err(CaptchaError::Failed(format!(
                "score {score} is below {}",
                self.min_score
            )));
        }
        Ok(())
    }
}
