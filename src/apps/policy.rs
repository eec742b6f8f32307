//! An application's access policy: who may enter (`access_mode`), how people prove who they are
//! (`login_methods`), which proof of contact a `registration` application asks for before its first token
//! (`verification_channels`), how long a code sent during its sign-in may be entered, the client its
//! access link lands in, and the networks it may be used from (`ip_ranges`, see `networks`). The rules that tie these together are checked here, once, for every way of setting
//! them (admin API, CLI, configuration of new applications).

use super::networks::{self, IpRange};
use super::pin_format::PinFormat;
pub use crate::config::{AccessMode, ContactChannel, LoginMethod};
use crate::error::FieldError;

/// Bounds on the idle timeout.
pub const IDLE_TIMEOUT_RANGE: std::ops::RangeInclusive<i64> = 60..=30 * 24 * 3600;

/// Bounds on the code-entry timeout.
pub const CODE_TTL_RANGE: std::ops::RangeInclusive<i64> = 30..=600;

/// Who may enter an application, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    pub access_mode: AccessMode,
    /// Empty for `open` (a guest needs no method); never empty otherwise.
    pub login_methods: Vec<LoginMethod>,
    /// Under `registration`: the proofs of contact that count (either one does). Empty: an account suffices.
    pub verification_channels: Vec<ContactChannel>,
    pub code_ttl_secs: i64,
    /// The client the access link lands in (it has an `initiate_login_uri`).
    pub home_client_id: Option<String>,
    /// The upstream providers offered (login method `external`), by id.
    pub external_providers: Vec<String>,
    /// The networks people may sign in and refresh tokens from; empty: anywhere.
    pub ip_ranges: Vec<IpRange>,
    /// After this long without activity, a refresh needs the PIN (or the password) again; `None`: never.
    pub idle_timeout_secs: Option<i64>,
    /// The PINs a person may set through this application.
    pub pin_format: PinFormat,
}

impl AccessPolicy {
    /// Whether people may sign themselves up for this application (the server-wide `user_create_scope` must
    /// allow it too).
    pub fn allows_signup(&self) -> bool {
        self.access_mode == AccessMode::Registration
    }

    /// Whether `method` is one of the application's login methods.
    pub fn accepts(&self, method: LoginMethod) -> bool {
        self.login_methods.contains(&method)
    }

    /// Whether people sign in here by password: a login method, or — in an open application — how people
    /// with accounts sign in when the client asks for an account instead of a guest.
    pub fn accepts_password(&self) -> bool {
        self.accepts(LoginMethod::Password) || self.access_mode == AccessMode::Open
    }

    /// Whether people sign in here with a passkey alone: a login method, or — like the password — in an open
    /// application, for people with accounts.
    pub fn accepts_passkey(&self) -> bool {
        self.accepts(LoginMethod::Passkey) || self.access_mode == AccessMode::Open
    }

    pub(super) fn stored_methods(&self) -> String {
        join(self.login_methods.iter().map(|m| m.as_str()))
    }

    pub(super) fn stored_channels(&self) -> String {
        join(self.verification_channels.iter().map(|c| c.as_str()))
    }

    pub(super) fn stored_providers(&self) -> String {
        join(self.external_providers.iter().map(String::as_str))
    }

    /// Whether people may sign in here through the upstream provider `id`.
    pub fn offers_provider(&self, id: &str) -> bool {
        self.accepts(LoginMethod::External) && self.external_providers.iter().any(|p| p == id)
    }

    /// Reads the stored form; unknown words (from a newer version) are skipped.
    pub(super) fn from_stored(
        mode: &str,
        methods: &str,
        channels: &str,
        code_ttl_secs: i64,
        home_client_id: Option<String>,
        providers: &str,
        ip_ranges: &str,
    ) -> Self {
        Self {
            access_mode: AccessMode::parse(mode).unwrap_or(AccessMode::InviteOnly),
            login_methods: methods.split_whitespace().filter_map(LoginMethod::parse).collect(),
            verification_channels: channels.split_whitespace().filter_map(ContactChannel::parse).collect(),
            code_ttl_secs,
            home_client_id,
            external_providers: providers.split_whitespace().map(str::to_owned).collect(),
            ip_ranges: networks::from_stored(ip_ranges),
            idle_timeout_secs: None,
            pin_format: PinFormat::Any,
        }
    }
}

fn join<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.collect::<Vec<_>>().join(" ")
}

/// What an administrator sets of a policy; absent fields keep their current (or default) value.
#[derive(Clone, Debug, Default)]
pub struct PolicySpec {
    pub access_mode: Option<String>,
    pub login_methods: Option<Vec<String>>,
    pub verification_channels: Option<Vec<String>>,
    pub code_ttl_secs: Option<i64>,
    /// `Some(None)` removes the home client.
    pub home_client_id: Option<Option<String>>,
    pub external_providers: Option<Vec<String>>,
    pub ip_ranges: Option<Vec<String>>,
    /// `Some(None)` turns the idle check off.
    pub idle_timeout_secs: Option<Option<i64>>,
    pub pin_format: Option<String>,
}

/// Which channels this server can send codes over, and the upstream providers it knows.
#[derive(Clone, Debug)]
pub struct Reach {
    pub email: bool,
    pub sms: bool,
    pub providers: Vec<String>,
}

impl Reach {
    fn has(&self, channel: ContactChannel) -> bool {
        match channel {
            ContactChannel::Email => self.email,
            ContactChannel::Sms => self.sms,
        }
    }
}

/// Checks `spec` over `current` (or the defaults of a new application), into the policy or the problems with
/// it, each naming its field.
pub(super) fn resolve(
    spec: PolicySpec,
    current: &AccessPolicy,
    reach: &Reach,
    problems: &mut Vec<FieldError>,
) -> AccessPolicy {
    let ip_ranges = networks::resolve(spec.ip_ranges, &current.ip_ranges, problems);
    let mut problem = |field: &'static str, message: String| problems.push(FieldError { field, message });
    let chosen = spec.access_mode.as_deref().map(AccessMode::parse);
    if let Some(None) = chosen {
        problem("access_mode", "must be open, registration or invite_only".into());
    }
    let mode_set = matches!(chosen, Some(Some(_)));
    let mode = chosen.flatten().unwrap_or(current.access_mode);
    let switched_to_open = mode == AccessMode::Open && current.access_mode != AccessMode::Open;
    let login_methods = match spec.login_methods {
        Some(names) => parse_list(
            &names,
            LoginMethod::parse,
            "login_methods",
            "password, email_code, sms_code, external, passkey",
            &mut problem,
        ),
        // A guest needs no method: an application that becomes open drops its methods, and one that stops
        // being open starts with passwords.
        None if switched_to_open => Vec::new(),
        None if mode != AccessMode::Open && current.login_methods.is_empty() => vec![LoginMethod::Password],
        None => current.login_methods.clone(),
    };
    let channels_sent = spec.verification_channels.is_some();
    let verification_channels = match spec.verification_channels {
        Some(names) => parse_list(
            &names,
            ContactChannel::parse,
            "verification_channels",
            "email, sms",
            &mut problem,
        ),
        None if switched_to_open => Vec::new(),
        None => current.verification_channels.clone(),
    };
    let external_providers = match spec.external_providers {
        Some(ids) => {
            let mut kept: Vec<String> = Vec::new();
            for id in ids {
                if !reach.providers.contains(&id) {
                    problem("external_providers", format!("{id:?} is not a configured provider"));
                } else if !kept.contains(&id) {
                    kept.push(id);
                }
            }
            kept
        }
        None => current.external_providers.clone(),
    };
    let idle_timeout_secs = spec.idle_timeout_secs.unwrap_or(current.idle_timeout_secs);
    if idle_timeout_secs.is_some_and(|secs| !IDLE_TIMEOUT_RANGE.contains(&secs)) {
        problem(
            "idle_timeout_secs",
            "must be between 60 seconds and 30 days, or null".into(),
        );
    }
    let pin_format = match spec.pin_format.as_deref().map(|text| (text, PinFormat::parse(text))) {
        None => current.pin_format,
        Some((_, Some(format))) => format,
        Some((text, None)) => {
            problem("pin_format", format!("{text:?} is not one of {}", PinFormat::NAMES));
            current.pin_format
        }
    };
    let code_ttl_secs = spec.code_ttl_secs.unwrap_or(current.code_ttl_secs);
    if !CODE_TTL_RANGE.contains(&code_ttl_secs) {
        problem("code_ttl_secs", "must be between 30 and 600 seconds".into());
    }
    match mode {
        AccessMode::Open => {
            if !login_methods.is_empty() {
                problem(
                    "login_methods",
                    "must be empty for an open application: its visitors are guests".into(),
                );
            }
            if !verification_channels.is_empty() {
                problem(
                    "verification_channels",
                    "must be empty for an open application: nothing is proven".into(),
                );
            }
        }
        AccessMode::Registration | AccessMode::InviteOnly => {
            if login_methods.is_empty() {
                problem(
                    "login_methods",
                    "needs at least one of password, email_code, sms_code".into(),
                );
            }
        }
    }
    // A policy set now must say what registration proves; an application that never chose keeps today's
    // behaviour (an account suffices).
    if mode == AccessMode::Registration && verification_channels.is_empty() && (mode_set || channels_sent) {
        problem(
            "verification_channels",
            "registration needs at least one proof of contact: email, sms".into(),
        );
    }
    for method in &login_methods {
        let needs = match method {
            LoginMethod::Password | LoginMethod::Passkey => None,
            LoginMethod::EmailCode => Some(ContactChannel::Email),
            LoginMethod::SmsCode => Some(ContactChannel::Sms),
            LoginMethod::External => None,
        };
        if let Some(channel) = needs.filter(|c| !reach.has(*c)) {
            problem("login_methods", unreachable(method.as_str(), channel));
        }
    }
    match (
        login_methods.contains(&LoginMethod::External),
        external_providers.is_empty(),
    ) {
        (true, true) => problem(
            "external_providers",
            "the login method external needs at least one provider".into(),
        ),
        (false, false) => problem(
            "external_providers",
            "providers are offered only with the login method external".into(),
        ),
        (true, false) | (false, true) => {}
    }
    for channel in verification_channels.iter().filter(|c| !reach.has(**c)) {
        problem("verification_channels", unreachable(channel.as_str(), *channel));
    }
    AccessPolicy {
        access_mode: mode,
        login_methods,
        verification_channels,
        code_ttl_secs,
        home_client_id: spec
            .home_client_id
            .unwrap_or_else(|| current.home_client_id.clone())
            .filter(|id| !id.is_empty()),
        external_providers,
        ip_ranges,
        idle_timeout_secs,
        pin_format,
    }
}

fn unreachable(what: &str, channel: ContactChannel) -> String {
    match channel {
        ContactChannel::Email => format!("{what} needs e-mail to be configured (email.transport)"),
        ContactChannel::Sms => format!("{what} needs an SMS provider to be configured (sms.provider)"),
    }
}

/// Parses a list of names, once each, naming the field of every unknown one.
fn parse_list<T: PartialEq>(
    names: &[String],
    parse: fn(&str) -> Option<T>,
    field: &'static str,
    known: &str,
    problem: &mut impl FnMut(&'static str, String),
) -> Vec<T> {
    let mut items = Vec::new();
    for name in names {
        match parse(name) {
            Some(item) if !items.contains(&item) => items.push(item),
            Some(_) => {}
            None => problem(field, format!("{name:?} is not one of {known}")),
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> AccessPolicy {
        AccessPolicy {
            access_mode: AccessMode::Registration,
            login_methods: vec![LoginMethod::Password],
            verification_channels: Vec::new(),
            code_ttl_secs: 60,
            home_client_id: None,
            external_providers: Vec::new(),
            ip_ranges: Vec::new(),
            idle_timeout_secs: None,
            pin_format: PinFormat::Any,
        }
    }

    fn fields(spec: PolicySpec, reach: Reach) -> Vec<&'static str> {
        let mut problems = Vec::new();
        resolve(spec, &today(), &reach, &mut problems);
        problems.into_iter().map(|p| p.field).collect()
    }

    const EVERYTHING: Reach = Reach {
        email: true,
        sms: true,
        providers: Vec::new(),
    };
    const NOTHING: Reach = Reach {
        email: false,
        sms: false,
        providers: Vec::new(),
    };

    #[test]
    fn invalid_combinations_name_their_field() {
        let open_with_methods = PolicySpec {
            access_mode: Some("open".into()),
            login_methods: Some(vec!["password".into()]),
            ..PolicySpec::default()
        };
        assert_eq!(fields(open_with_methods, EVERYTHING), ["login_methods"]);
        let registration_unproven = PolicySpec {
            access_mode: Some("registration".into()),
            ..PolicySpec::default()
        };
        assert_eq!(fields(registration_unproven, EVERYTHING), ["verification_channels"]);
        let sms_without_provider = PolicySpec {
            login_methods: Some(vec!["sms_code".into()]),
            ..PolicySpec::default()
        };
        assert_eq!(fields(sms_without_provider, NOTHING), ["login_methods"]);
        let too_short = PolicySpec {
            code_ttl_secs: Some(29),
            ..PolicySpec::default()
        };
        assert_eq!(fields(too_short, EVERYTHING), ["code_ttl_secs"]);
        let unknown = PolicySpec {
            access_mode: Some("closed".into()),
            ..PolicySpec::default()
        };
        assert_eq!(fields(unknown, EVERYTHING), ["access_mode"]);
        let external_without_provider = PolicySpec {
            login_methods: Some(vec!["password".into(), "external".into()]),
            ..PolicySpec::default()
        };
        assert_eq!(fields(external_without_provider, EVERYTHING), ["external_providers"]);
        let unknown_provider = PolicySpec {
            login_methods: Some(vec!["external".into()]),
            external_providers: Some(vec!["corp".into()]),
            ..PolicySpec::default()
        };
        assert_eq!(
            fields(unknown_provider, EVERYTHING),
            ["external_providers", "external_providers"]
        );
        let with_corp = Reach {
            providers: vec!["corp".into()],
            ..EVERYTHING
        };
        let known_provider = PolicySpec {
            login_methods: Some(vec!["external".into()]),
            external_providers: Some(vec!["corp".into()]),
            ..PolicySpec::default()
        };
        assert!(fields(known_provider, with_corp).is_empty());
    }

    #[test]
    fn an_application_that_never_chose_keeps_todays_behaviour() {
        let renamed = PolicySpec::default();
        assert!(fields(renamed, NOTHING).is_empty());
        let mut problems = Vec::new();
        let open = PolicySpec {
            access_mode: Some("open".into()),
            ..PolicySpec::default()
        };
        let policy = resolve(open, &today(), &NOTHING, &mut problems);
        assert!(problems.is_empty(), "switching to open drops the methods: {problems:?}");
        assert!(policy.login_methods.is_empty());
    }
}
