//! Authentication, in small services by concern: `Credentials` (passwords and lock-out), `Access` (who may
//! enter an application), `Sessions` (token families, refresh, bearer resolution, browser sessions),
//! `PrivateTokens`, `SecondFactors` (and the proof of an address or number), `Accounts` (sign-up, guests,
//! invitations, password changes) and `SignIn`, the one sign-in flow that uses them.

mod access;
mod account;
mod backchannel;
mod bearer;
mod browser;
mod error;
pub mod flow;
mod guest;
mod identities;
pub mod identity;
pub mod invitations;
mod login;
pub mod members;
pub mod mfa;
pub mod password;
mod pin;
mod private_tokens;
mod session;
mod sign_ins;
mod signup;
mod step_up;

use std::sync::Arc;

pub use account::{MAX_PER_PAGE, UserPage};
pub use browser::{BrowserSession, SignedIn};
pub use error::{
    AccessError, AccountError, AuthError, CredentialError, FactorError, FlowError, LimitedBy, PrivateTokenError,
    SessionError,
};
pub use flow::ExternalIdentity;
pub use identities::LinkedIdentity;
pub use password::{HashLoad, PasswordError, Passwords};
pub use private_tokens::{
    LivePrivateToken, NewPrivateToken, PrivateTokenInfo, PrivateTokenRequest, exchanged_lifetime,
};
pub use session::{
    Authentication, Credential, EMAIL_CODE_AMR, FamilyOwner, Freshness, GUEST_ACR, MULTI_FACTOR_ACR, PASSWORD_AMR,
    Principal, RotatedFamily, SINGLE_FACTOR_ACR, SMS_CODE_AMR, TokenPair,
};
pub use sign_ins::{BrowserSignIn, FamilySignIn, OthersEnded, SignInKind, SignIns};
pub use signup::{NewAccount, SignupOutcome};
pub use step_up::StepUpProof;

use crate::apps::AppService;
use crate::apps::rate_limit::RateLimiter;
use crate::config::{
    Config, LoginConfig, MfaConfig, OtpConfig, Secret, SessionConfig, SignupConfig, TokenConfig, UserCreateScope,
};
use crate::metrics::Metrics;
use crate::notify::{Captcha, Notifier};
use crate::store::Database;
use crate::tokens::AccessTokens;
use crate::tokens::dpop::Dpop;
use crate::tokens::revoked::RevokedTokens;

/// Where a request came from: the client's address (captcha providers are told it) and the key per-address
/// limits count it under (the address, or its /64 for IPv6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<std::net::IpAddr>,
    pub key: String,
}

/// The scope that marks administrators.
pub const ADMIN_SCOPE: &str = "admin";

/// Authentication, as small services that each own only the fields of their concern. Built once at start;
/// every field is shared.
pub struct Auth {
    pub credentials: Arc<Credentials>,
    pub access: Arc<Access>,
    pub private_tokens: Arc<PrivateTokens>,
    pub sessions: Arc<Sessions>,
    pub factors: Arc<SecondFactors>,
    pub accounts: Arc<Accounts>,
    pub sign_in: Arc<SignIn>,
    /// Revoked access tokens outside any family, shared with the OAuth endpoints that revoke them.
    pub revoked: Arc<RevokedTokens>,
    /// DPoP proofs and nonces (RFC 9449), shared with the OAuth endpoints.
    pub dpop: Arc<Dpop>,
}

/// Passwords and lock-out: checking a password (one check at a time per account), counting failures per
/// account and per address, the captcha in front of sign-in.
pub struct Credentials {
    db: Database,
    passwords: Arc<Passwords>,
    account_turns: login::AccountTurns,
    limiter: Arc<dyn RateLimiter>,
    policy: LoginConfig,
    password_len: std::ops::RangeInclusive<usize>,
    /// The captcha check of sign-in (passes everything when none is configured).
    captcha: Captcha,
    /// Where sign-in outcomes are counted (the flow counts through it too).
    metrics: Arc<Metrics>,
}

/// Who may enter an application: its policy applied to an account, and the members of invite-only ones.
pub struct Access {
    db: Database,
    apps: Arc<AppService>,
}

/// Private (long-lived) tokens: making, listing, revoking, rotating, exchanging, resolving them.
pub struct PrivateTokens {
    db: Database,
    tokens: AccessTokens,
    policy: TokenConfig,
    access: Arc<Access>,
}

/// Token families and their rotating refresh tokens, bearer resolution, and browser sessions.
pub struct Sessions {
    db: Database,
    tokens: AccessTokens,
    /// DPoP proofs of bound tokens (RFC 9449).
    dpop: Arc<Dpop>,
    policy: SessionConfig,
    access: Arc<Access>,
    private_tokens: Arc<PrivateTokens>,
    revoked: Arc<RevokedTokens>,
}

/// Second factors (authenticator apps, recovery codes, codes by SMS and e-mail) and the proof of an address
/// or number.
pub struct SecondFactors {
    db: Database,
    notify: Arc<Notifier>,
    policy: MfaConfig,
    otp_policy: OtpConfig,
    limiter: Arc<dyn RateLimiter>,
    /// Seals authenticator seeds at rest.
    secret_key: Option<Secret>,
    credentials: Arc<Credentials>,
    /// The WebAuthn relying party of passkeys; none when the issuer's host is not a domain.
    webauthn: Option<Arc<webauthn_rs::Webauthn>>,
}

/// Accounts: sign-up, administrators' accounts, disabling, password changes, guests, invitations.
pub struct Accounts {
    db: Database,
    apps: Arc<AppService>,
    credentials: Arc<Credentials>,
    sessions: Arc<Sessions>,
    notify: Arc<Notifier>,
    signup_limits: SignupConfig,
    token_policy: TokenConfig,
    limiter: Arc<dyn RateLimiter>,
    /// The captcha check of sign-up.
    captcha: Captcha,
    user_create_scope: UserCreateScope,
    /// Guests one client address may make in an hour.
    guest_limit: u32,
    /// The name e-mails are signed with.
    issuer_name: String,
    /// How recent a sign-in must be to set a first password.
    reauth_max_age_secs: i64,
}

/// The sign-in flow: one state machine for every front door (see `flow`).
pub struct SignIn {
    db: Database,
    apps: Arc<AppService>,
    policy: MfaConfig,
    /// The captcha in front of a code sign-in.
    captcha: Captcha,
    credentials: Arc<Credentials>,
    access: Arc<Access>,
    sessions: Arc<Sessions>,
    factors: Arc<SecondFactors>,
    accounts: Arc<Accounts>,
}

impl Auth {
    #[expect(
        clippy::too_many_arguments,
        reason = "each is a service authentication uses, built once at start"
    )]
    pub fn new(
        config: &Config,
        db: Database,
        apps: Arc<AppService>,
        tokens: AccessTokens,
        passwords: Arc<Passwords>,
        limiter: Arc<dyn RateLimiter>,
        notify: Arc<Notifier>,
        captcha: Captcha,
        metrics: Arc<Metrics>,
    ) -> Self {
        let credentials = Arc::new(Credentials {
            db: db.clone(),
            passwords,
            account_turns: login::AccountTurns::new(1024),
            limiter: limiter.clone(),
            policy: config.login.clone(),
            password_len: config.password.min_length..=config.password.max_length,
            captcha: captcha.clone(),
            metrics,
        });
        let access = Arc::new(Access {
            db: db.clone(),
            apps: apps.clone(),
        });
        let private_tokens = Arc::new(PrivateTokens {
            db: db.clone(),
            tokens: tokens.clone(),
            policy: config.tokens.clone(),
            access: access.clone(),
        });
        let revoked = Arc::new(RevokedTokens::new(db.clone()));
        let dpop = Arc::new(Dpop::new(&config.dpop, config.secret_key.as_ref(), db.clone()));
        let sessions = Arc::new(Sessions {
            db: db.clone(),
            tokens,
            dpop: dpop.clone(),
            policy: config.session.clone(),
            access: access.clone(),
            private_tokens: private_tokens.clone(),
            revoked: revoked.clone(),
        });
        let factors = Arc::new(SecondFactors {
            db: db.clone(),
            notify: notify.clone(),
            policy: config.mfa.clone(),
            otp_policy: config.otp.clone(),
            limiter: limiter.clone(),
            secret_key: config.secret_key.clone(),
            credentials: credentials.clone(),
            webauthn: mfa::relying_party(config.issuer(), &config.mfa.issuer_name).map(Arc::new),
        });
        let accounts = Arc::new(Accounts {
            db: db.clone(),
            apps: apps.clone(),
            credentials: credentials.clone(),
            sessions: sessions.clone(),
            notify,
            signup_limits: config.signup.clone(),
            token_policy: config.tokens.clone(),
            limiter,
            captcha: captcha.clone(),
            user_create_scope: config.user_create_scope,
            guest_limit: config.apps.max_guests_per_ip_per_hour,
            issuer_name: config.mfa.issuer_name.clone(),
            reauth_max_age_secs: config.mfa.reauth_max_age_secs,
        });
        let sign_in = Arc::new(SignIn {
            db,
            apps,
            policy: config.mfa.clone(),
            captcha,
            credentials: credentials.clone(),
            access: access.clone(),
            sessions: sessions.clone(),
            factors: factors.clone(),
            accounts: accounts.clone(),
        });
        Self {
            credentials,
            access,
            private_tokens,
            sessions,
            factors,
            accounts,
            sign_in,
            revoked,
            dpop,
        }
    }
}

/// An account by id (every service reads accounts).
/// Tells the account's owner, by e-mail when there is a channel, that something about its security changed.
/// Best effort, in the background: the change itself has happened.
fn notify_security_event(notify: &Arc<Notifier>, issuer: &str, user: &crate::store::users::User, what: String) {
    let Some(to) = user.email.clone().filter(|_| notify.email.is_enabled()) else {
        return;
    };
    let notify = notify.clone();
    let issuer = issuer.to_owned();
    let user_id = user.id.clone();
    tokio::spawn(async move {
        let sent = match crate::notify::messages::notice_email(&issuer, &what) {
            Ok(email) => notify.email.send(&to, email).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(error) = sent {
            tracing::warn!(%user_id, %error, "security notice not sent");
        }
    });
}

/// Records that the account `id` was made, and how (`via`).
async fn audit_account_created(db: &Database, id: &str, via: &str, now: crate::clock::UnixTime) {
    let event = crate::audit::Event::new(crate::audit::Kind::AccountCreated)
        .about(crate::audit::Subject::User(id.to_owned()))
        .with("via", via);
    crate::audit::record(db, event, now).await;
}

async fn find_user(db: &Database, id: &str) -> Result<crate::store::users::User, AuthError> {
    crate::store::users::find_by_id(db, id.to_owned())
        .await?
        .ok_or(AuthError::Account(AccountError::UnknownAccount))
}

impl Credentials {
    /// Gives back password-hashing memory that has been idle for `idle`.
    pub fn release_idle_memory(&self, idle: std::time::Duration) {
        self.passwords.release_idle_memory(idle);
    }

    /// The password hashes waiting and running now.
    pub fn hash_load(&self) -> HashLoad {
        self.passwords.load()
    }

    /// The captcha widget the sign-in and sign-up pages show, if a captcha is configured.
    pub fn captcha_widget(&self) -> Option<crate::notify::captcha::Widget> {
        self.captcha.widget()
    }
}

impl Accounts {
    /// Whether people may sign themselves up at all (else only administrators create accounts).
    pub fn is_signup_open(&self) -> bool {
        self.user_create_scope == UserCreateScope::Public
    }

    /// Whether people may sign themselves up for `app`: sign-up is open here, and the application admits
    /// registration.
    pub fn signup_allowed(&self, app: &crate::apps::Application) -> bool {
        self.is_signup_open() && app.policy.allows_signup()
    }
}
