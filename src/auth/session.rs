//! Login sessions: the first token pair, refresh with rotation and reuse detection (a replayed refresh
//! token revokes its whole family, RFC 9700 §4.14.2), and logout. Bearer requests are resolved in `bearer`.

use super::{ADMIN_SCOPE, AccessError, AuthError, CredentialError, SessionError, Sessions};
use crate::apps::Application;
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::store::refresh_tokens::{self, NewRefreshToken};
use crate::store::sessions::Session;
use crate::store::sessions::{self, NewSession};
use crate::store::users::User;
use crate::tokens::opaque::{self, REFRESH_TOKEN_PREFIX};
use crate::tokens::{AccessGrant, IssuedAccessToken};

/// Authentication methods of a password login (RFC 8176).
pub const PASSWORD_AMR: &str = "pwd";
/// RFC 8176 `amr` of a code sent by e-mail (a one-time password).
pub const EMAIL_CODE_AMR: &str = "otp";
/// RFC 8176 `amr` of a code sent by text message.
pub const SMS_CODE_AMR: &str = "sms";
/// The `acr` of a single-factor login.
pub const SINGLE_FACTOR_ACR: &str = "1";
/// The `acr` of a login with a second factor.
pub const MULTI_FACTOR_ACR: &str = "2";
/// `acr` of a guest: no assurance at all.
pub const GUEST_ACR: &str = "0";

/// How a sign-in was authenticated: its methods (RFC 8176 `amr`, space-separated, with the upstream provider
/// of a federated sign-in: `tokens::amr`) and level (`acr`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    pub amr: String,
    pub acr: &'static str,
}

impl Authentication {
    /// A password alone.
    pub fn password() -> Self {
        Self {
            amr: PASSWORD_AMR.into(),
            acr: SINGLE_FACTOR_ACR,
        }
    }

    /// A guest: nothing proven (no `amr`), `acr` `0` (OpenID Connect Core §2: no assurance).
    pub fn guest() -> Self {
        Self {
            amr: String::new(),
            acr: GUEST_ACR,
        }
    }

    /// How a session was authenticated, as it records it.
    pub fn of_session(amr: &str, acr: &str) -> Self {
        Self {
            amr: amr.to_owned(),
            acr: match acr {
                GUEST_ACR => GUEST_ACR,
                MULTI_FACTOR_ACR => MULTI_FACTOR_ACR,
                _ => SINGLE_FACTOR_ACR,
            },
        }
    }

    /// An identity the upstream provider `idp` proved, as the first factor, with the methods the upstream
    /// reported that it is trusted for (`upstream`). Whatever the upstream says it checked, Tessera's own second
    /// factors still apply.
    pub fn federated(idp: &str, upstream: &[String]) -> Self {
        Self {
            amr: crate::tokens::amr::through(super::flow::FEDERATED_AMR, idp, upstream),
            acr: SINGLE_FACTOR_ACR,
        }
    }

    /// A code sent by e-mail (`otp`) or text message (`sms`), as the first factor.
    pub fn code(amr: &'static str) -> Self {
        Self {
            amr: amr.into(),
            acr: SINGLE_FACTOR_ACR,
        }
    }

    /// A passkey alone, as the first factor, with the methods its authenticator reported (`hwk`/`swk`, and
    /// `user` when it verified the user). A passkey with user verification is two factors in one — the device
    /// and the PIN or biometric that unlocked it — so it records `mfa` and `acr` `2`; without, it is one.
    pub fn passkey(methods: &str) -> Self {
        if methods.split_whitespace().any(|m| m == "user") {
            Self {
                amr: format!("{methods} mfa"),
                acr: MULTI_FACTOR_ACR,
            }
        } else {
            Self {
                amr: methods.to_owned(),
                acr: SINGLE_FACTOR_ACR,
            }
        }
    }

    /// What a sign-in flow recorded (`amr`, space-separated).
    pub(super) fn from_flow(amr: &str) -> Self {
        let mut how = Self {
            amr: amr.to_owned(),
            acr: SINGLE_FACTOR_ACR,
        };
        if how.has_second_factor() {
            how.acr = MULTI_FACTOR_ACR;
        }
        how
    }

    /// This, then a second factor whose method is `factor_amr` (`otp`, `sms`).
    pub fn then(self, factor_amr: &str) -> Self {
        let amr = if self.used(factor_amr) {
            format!("{} mfa", self.amr)
        } else {
            format!("{} {factor_amr} mfa", self.amr)
        };
        Self {
            amr,
            acr: MULTI_FACTOR_ACR,
        }
    }

    /// Whether the method `amr` was used.
    pub fn used(&self, amr: &str) -> bool {
        self.amr.split_whitespace().any(|m| m == amr)
    }

    /// Whether a second factor was given.
    pub fn has_second_factor(&self) -> bool {
        self.used("mfa")
    }
}

/// What a login or refresh hands back.
#[derive(Clone, Debug)]
pub struct TokenPair {
    pub access: IssuedAccessToken,
    pub refresh_token: String,
    pub user: User,
}

/// Whose refresh tokens a caller may spend.
#[derive(Clone, Copy, Debug)]
pub enum FamilyOwner<'a> {
    /// The REST API, for the application with this id.
    Api(&'a str),
    /// The OAuth client with this id.
    Client(&'a str),
}

/// A refresh token spent for its successor.
#[derive(Clone, Debug)]
pub struct RotatedFamily {
    pub family: Session,
    pub user: User,
    /// The successor refresh token.
    pub refresh_token: String,
}

/// How a refresh meets its application's idle check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// An ordinary refresh; `resume`: the client says the app was offloaded or restarted.
    Refresh { resume: bool },
    /// The owner proved it is them a moment ago (a step-up): no idle check.
    SteppedUp,
}

/// What a bearer request authenticated with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a sign-in: its token family, and when the user signed in.
    Session { family: String, auth_time: UnixTime },
    /// A browser session of the sign-in pages (its id), and when the user signed in.
    Browser { session: String, auth_time: UnixTime },
    /// A private token, presented itself or through an access token exchanged for it: the token's id.
    PrivateToken(String),
}

/// The caller behind a valid, unrevoked bearer token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: User,
    /// Space-separated scopes the request acts with: those of the token presented.
    pub scope: String,
    pub credential: Credential,
}

impl Principal {
    /// Whether both the token and the account (as it is now) hold `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        let holds = |scopes: &str| scopes.split(' ').any(|s| s == scope);
        holds(&self.scope) && holds(&self.user.scopes)
    }

    /// Whether the caller signed in (with a password), rather than presenting a private token.
    pub fn is_interactive(&self) -> bool {
        matches!(self.credential, Credential::Session { .. } | Credential::Browser { .. })
    }

    /// The user signed in to a browser, acting on their own account through the pages.
    pub fn of_browser(session: &super::BrowserSession) -> Self {
        Self {
            scope: session.user.scopes.clone(),
            user: session.user.clone(),
            credential: Credential::Browser {
                session: session.id.clone(),
                auth_time: session.auth_time,
            },
        }
    }

    /// Refuses a caller that presented a private token: some things need a password sign-in.
    pub fn require_interactive(&self) -> Result<(), AuthError> {
        if self.is_interactive() {
            Ok(())
        } else {
            Err(SessionError::InteractiveLoginRequired.into())
        }
    }

    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        self.has_scope(ADMIN_SCOPE)
    }

    /// An interactive sign-in from the last `max_age` seconds (before a sensitive change).
    pub fn require_recent_sign_in(&self, max_age: i64, now: UnixTime) -> Result<(), AuthError> {
        match self.credential {
            Credential::Session { auth_time, .. } | Credential::Browser { auth_time, .. } => {
                if now - auth_time <= max_age {
                    Ok(())
                } else {
                    Err(CredentialError::ReauthenticationRequired { max_age_secs: max_age }.into())
                }
            }
            Credential::PrivateToken(_) => Err(SessionError::InteractiveLoginRequired.into()),
        }
    }

    /// A guest may not make long-lived credentials or factors before it registers.
    pub fn require_registered(&self) -> Result<(), AuthError> {
        if self.user.guest {
            return Err(AccessError::GuestAccount.into());
        }
        Ok(())
    }
}

impl Sessions {
    /// Opens a session for `user` in `app`, signed in by `how`, and issues its first token pair.
    pub(in crate::auth) async fn start_session(
        &self,
        user: User,
        app: &Application,
        how: Authentication,
        now: UnixTime,
    ) -> Result<TokenPair, AuthError> {
        let session_id = opaque::random_id();
        let access = self.tokens.issue(
            AccessGrant {
                subject: &user.id,
                family: Some(&session_id),
                scope: &user.scopes,
                client_id: None,
                application: Some(&app.id),
                private_token: None,
                amr: Some(&how.amr),
                acr: Some(how.acr),
                auth_time: Some(now),
                jkt: None,
                lifetime: app.access_token_ttl_secs,
                grant: crate::metrics::Grant::SignIn,
                alg: crate::tokens::keys::SigningAlg::Rs256,
            },
            now,
        )?;
        let refresh = opaque::mint(REFRESH_TOKEN_PREFIX);
        let expires_at = now + app.refresh_token_ttl_secs;
        let session = NewSession {
            id: session_id.clone(),
            user_id: user.id.clone(),
            auth_time: now,
            created_at: now,
            expires_at,
            application_id: Some(app.id.clone()),
            client_id: None,
            scope: user.scopes.clone(),
            amr: how.amr,
            acr: how.acr.into(),
            browser_session_id: None,
            offline: false,
            dpop_jkt: None,
        };
        let token = NewRefreshToken {
            id: opaque::random_id(),
            session_id,
            token_hash: refresh.hash,
            parent_id: None,
            created_at: now,
            expires_at,
        };
        sessions::insert_with_refresh_token(&self.db, session, token).await?;
        Ok(TokenPair {
            access,
            refresh_token: refresh.value,
            user,
        })
    }

    /// Spends a refresh token of `app` for a new pair. A spent token presented again revokes the family.
    pub async fn refresh(
        &self,
        presented: &str,
        app: &Application,
        ip: Option<std::net::IpAddr>,
        freshness: Freshness,
        now: UnixTime,
    ) -> Result<TokenPair, AuthError> {
        let rotated = self
            .rotate_refresh_token(presented, FamilyOwner::Api(&app.id), ip, freshness, now)
            .await?;
        let access = self.tokens.issue(
            AccessGrant {
                subject: &rotated.user.id,
                family: Some(&rotated.family.id),
                scope: &rotated.user.scopes,
                client_id: None,
                application: Some(&app.id),
                private_token: None,
                amr: Some(&rotated.family.amr),
                acr: Some(&rotated.family.acr),
                auth_time: Some(rotated.family.auth_time),
                jkt: None,
                lifetime: app.access_token_ttl_secs,
                grant: crate::metrics::Grant::RefreshToken,
                alg: crate::tokens::keys::SigningAlg::Rs256,
            },
            now,
        )?;
        Ok(TokenPair {
            access,
            refresh_token: rotated.refresh_token,
            user: rotated.user,
        })
    }

    /// Spends a refresh token of `owner`'s families, presented from `ip`, and stores its successor. A token of
    /// another owner is refused without being spent; a spent one presented again revokes its whole family (RFC
    /// 9700 §4.14.2); one presented from outside its application's networks, or after its idle time (unless
    /// `freshness` says the owner just proved it is them), is refused, unspent.
    pub async fn rotate_refresh_token(
        &self,
        presented: &str,
        owner: FamilyOwner<'_>,
        ip: Option<std::net::IpAddr>,
        freshness: Freshness,
        now: UnixTime,
    ) -> Result<RotatedFamily, AuthError> {
        if !opaque::is_well_formed(presented, REFRESH_TOKEN_PREFIX) {
            return Err(SessionError::RefreshInvalid.into());
        }
        let found = refresh_tokens::find_by_hash(&self.db, opaque::hash(presented))
            .await?
            .ok_or(SessionError::RefreshInvalid)?;
        let (token, family, user) = (found.token, found.session, found.user);
        match owner {
            FamilyOwner::Client(client_id) if family.client_id.as_deref() != Some(client_id) => {
                return Err(SessionError::RefreshInvalid.into());
            }
            FamilyOwner::Api(_) if family.client_id.is_some() => return Err(SessionError::RefreshInvalid.into()),
            FamilyOwner::Api(app_id) if family.application_id.as_deref() != Some(app_id) => {
                return Err(SessionError::AppMismatch.into());
            }
            _ => {}
        }
        if family.revoked_at.is_some() || !user.is_active {
            return Err(SessionError::RefreshRevoked.into());
        }
        if token.used_at.is_some() {
            return Err(self.revoke_for_reuse(&family.id, now).await);
        }
        if now >= token.expires_at {
            return Err(SessionError::RefreshExpired.into());
        }
        // The application's policy may have changed since the sign-in: a member removed, proof now asked.
        if let Some(application_id) = &family.application_id {
            self.access
                .refresh_allowed(&user, &family, application_id, ip, freshness, now)
                .await?;
        }
        let successor = opaque::mint(REFRESH_TOKEN_PREFIX);
        let row = NewRefreshToken {
            id: opaque::random_id(),
            session_id: family.id.clone(),
            token_hash: successor.hash,
            parent_id: Some(token.id.clone()),
            created_at: now,
            expires_at: token.expires_at,
        };
        if !refresh_tokens::rotate(&self.db, token.id, row, now).await? {
            // Another request spent it between our read and our write: treat it as a replay.
            return Err(self.revoke_for_reuse(&family.id, now).await);
        }
        sessions::touch(&self.db, family.id.clone(), now).await?;
        Ok(RotatedFamily {
            family,
            user,
            refresh_token: successor.value,
        })
    }

    async fn revoke_for_reuse(&self, session_id: &str, now: UnixTime) -> AuthError {
        tracing::warn!(%session_id, "refresh token reused; revoking its family");
        match sessions::revoke(&self.db, session_id.to_owned(), "refresh_token_reused", now).await {
            Ok(_) => AuthError::Session(SessionError::RefreshReused),
            Err(e) => e.into(),
        }
    }

    /// Ends the caller's session: its refresh and access tokens stop working at once. A private token has
    /// no session to end; it is revoked through `/api/v1/tokens` instead.
    pub async fn logout(&self, principal: &Principal, now: UnixTime) -> Result<(), AuthError> {
        let Credential::Session { family, .. } = &principal.credential else {
            return Err(SessionError::InteractiveLoginRequired.into());
        };
        sessions::revoke(&self.db, family.clone(), "logout", now).await?;
        tracing::info!(user_id = %principal.user.id, "logged out");
        audit::record(
            &self.db,
            Event::new(Kind::SessionRevoked)
                .about(Subject::Session(family.clone()))
                .with("reason", "logout"),
            now,
        )
        .await;
        Ok(())
    }
}
