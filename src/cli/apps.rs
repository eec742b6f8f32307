//! Applications on the command line: their access policy as flags, and how they are printed.

use anyhow::bail;
use clap::Args;

use crate::apps::policy::PolicySpec;
use crate::apps::{AppError, Application as App};

/// An application's access policy on the command line.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Who may enter: open (guests), registration, or invite_only.
    #[arg(long)]
    access_mode: Option<String>,
    /// How people sign in (repeatable): password, email_code, sms_code, external, passkey. `--login-method none`
    /// for none.
    #[arg(long = "login-method")]
    login_methods: Vec<String>,
    /// The proof of contact registration needs (repeatable): email, sms. `--verification-channel none` for
    /// none.
    #[arg(long = "verification-channel")]
    verification_channels: Vec<String>,
    /// How long a code sent during a sign-in may be entered (30 to 600 seconds).
    #[arg(long)]
    code_ttl: Option<i64>,
    /// The client the access link lands in (one with an initiate_login_uri); `none` removes it.
    #[arg(long)]
    home_client: Option<String>,
    /// An upstream provider offered with the login method external (repeatable, ids from
    /// `[[federation.providers]]`). `--external-provider none` for none.
    #[arg(long = "external-provider")]
    external_providers: Vec<String>,
    /// A network the application may be used from (repeatable): a CIDR block, a start-end pair or an address.
    /// `--ip-range none` for anywhere.
    #[arg(long = "ip-range")]
    ip_ranges: Vec<String>,
    /// After this many seconds without activity a refresh needs the PIN or password again (60 to 2592000);
    /// `none` turns it off.
    #[arg(long)]
    idle_timeout: Option<String>,
    /// The PINs people may set through the application: any (the default), digits (4 to 12) or passphrase.
    #[arg(long)]
    pin_format: Option<String>,
}

impl From<PolicyArgs> for PolicySpec {
    fn from(args: PolicyArgs) -> Self {
        let list = |items: Vec<String>| match items.as_slice() {
            [] => None,
            [none] if none == "none" => Some(Vec::new()),
            _ => Some(items),
        };
        Self {
            access_mode: args.access_mode,
            login_methods: list(args.login_methods),
            verification_channels: list(args.verification_channels),
            code_ttl_secs: args.code_ttl,
            home_client_id: args.home_client.map(|id| (id != "none").then_some(id)),
            external_providers: list(args.external_providers),
            ip_ranges: list(args.ip_ranges),
            // A value that is not a number is refused by the policy's bounds (0 is out of range).
            idle_timeout_secs: args
                .idle_timeout
                .map(|text| (text != "none").then(|| text.parse().unwrap_or(0))),
            pin_format: args.pin_format,
        }
    }
}

/// Prints an application and its access policy, for people or as JSON.
pub(super) fn print_app(done: &str, app: &App, json: bool) {
    let policy = &app.policy;
    let methods: Vec<&str> = policy.login_methods.iter().map(|m| m.as_str()).collect();
    let channels: Vec<&str> = policy.verification_channels.iter().map(|c| c.as_str()).collect();
    if json {
        let body = serde_json::json!({
            "id": app.id,
            "slug": app.slug,
            "access_mode": policy.access_mode.as_str(),
            "login_methods": methods,
            "verification_channels": channels,
            "code_ttl_secs": policy.code_ttl_secs,
            "home_client_id": policy.home_client_id,
            "external_providers": policy.external_providers,
            "ip_ranges": policy.ip_ranges.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "idle_timeout_secs": policy.idle_timeout_secs,
            "pin_format": policy.pin_format.as_str(),
        });
        println!("{body}");
    } else {
        println!(
            "{done} application {} (slug {}, {} requests a minute; {}, login by {}, proof of contact: {})",
            app.id,
            app.slug,
            app.rate_limit_per_minute,
            policy.access_mode.as_str(),
            if methods.is_empty() {
                "nothing (guests)".to_owned()
            } else {
                methods.join(", ")
            },
            if channels.is_empty() {
                "none".to_owned()
            } else {
                channels.join(" or ")
            },
        );
    }
}

/// Turns a validation refusal into a readable error.
pub(super) fn refused_fields<T>(result: Result<T, AppError>) -> anyhow::Result<T> {
    match result {
        Err(AppError::Validation(problems)) => {
            let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            bail!("{}", text.join("; "))
        }
        other => Ok(other?),
    }
}
