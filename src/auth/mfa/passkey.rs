//! Passkeys (WebAuthn, through `webauthn-rs`): an account's public-key credentials, several per account, each
//! named, registered from a signed-in browser after a recent sign-in; and the checks of an assertion, for a
//! usernameless sign-in (discoverable credentials) or as a second factor. User verification is required in
//! every ceremony. The relying party is the issuer: its host is the RP ID and its origin the only one accepted;
//! an issuer whose host is an IP address has no passkeys (WebAuthn needs a domain).
//!
//! A ceremony's state (its challenge) is kept in `passkey_ceremonies`, bound to the browser that asked (and to
//! the account or the sign-in flow), lives `mfa.challenge_ttl_secs` and is spent once by a conditional update
//! before the answer is checked, so any instance can finish it and no answer is checked twice.
//!
//! The `amr` a passkey adds (RFC 8176): `swk` when the credential is backup-eligible (a synced passkey: the key
//! can leave the device, so Tessera counts it as a software-secured key), else `hwk` (a device-bound key); and
//! `user` when the authenticator reports that it verified the user.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::super::{AuthError, FactorError, Principal, SecondFactors};
use crate::audit::{self, Event, Kind, Subject};
use crate::clock::UnixTime;
use crate::metrics::SignInResult;
use crate::store::passkeys::{self, CeremonyRow, PasskeyRow};
use crate::store::users::User;
use crate::tokens::opaque;

/// The longest name a passkey keeps (longer ones are cut).
const MAX_NAME_CHARS: usize = 64;

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyPurpose {
    /// Adding a passkey to the signed-in account.
    Register,
    /// A usernameless sign-in: any discoverable passkey.
    SignIn,
    /// The second factor of a sign-in flow: one of its account's passkeys.
    SecondFactor,
}

impl CeremonyPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::SignIn => "sign_in",
            Self::SecondFactor => "second_factor",
        }
    }
}

/// The options of a ceremony for the browser's `navigator.credentials` call, and the ceremony's id, which the
/// answer names.
#[derive(Debug)]
pub struct PasskeyChallenge {
    pub ceremony: String,
    /// `{"publicKey": …}`, binary members base64url-encoded.
    pub options: serde_json::Value,
}

/// One of an account's passkeys, as its owner sees it.
#[derive(Clone, Debug)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// An accepted assertion: the account, and the methods it proved (`hwk`/`swk`, `user`).
#[derive(Debug)]
pub(in crate::auth) struct PasskeyUse {
    pub user: User,
    pub amr: String,
    /// The ceremony, as stored (its flow, for a second factor).
    pub ceremony: CeremonyRow,
}

/// The relying party of `issuer` (its host the RP ID, its origin the only one accepted), or `None` when the
/// issuer's host is not a domain.
pub fn relying_party(issuer: &str, name: &str) -> Option<Webauthn> {
    let origin = Url::parse(issuer).ok()?;
    let rp_id = origin.domain()?.to_owned();
    let origin = Url::parse(&origin.origin().ascii_serialization()).ok()?;
    WebauthnBuilder::new(&rp_id, &origin)
        .and_then(|builder| builder.rp_name(name).build())
        .inspect_err(|e| tracing::warn!(error = %e, "passkeys are off: the issuer is no WebAuthn relying party"))
        .ok()
}

/// The user handle of an account: 16 bytes of the SHA-256 of its id (no personal data on the authenticator).
fn user_handle(user: &User) -> Uuid {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user.id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    Uuid::from_bytes(bytes)
}

fn refused(what: &'static str) -> impl FnOnce(webauthn_rs::prelude::WebauthnError) -> AuthError {
    move |e| {
        tracing::warn!(error = %e, "passkey {what} refused");
        FactorError::PasskeyRefused.into()
    }
}

fn json_error(e: serde_json::Error) -> AuthError {
    AuthError::Internal(format!("passkey state: {e}"))
}

fn stored(row: &PasskeyRow) -> Result<Passkey, AuthError> {
    serde_json::from_str(&row.credential).map_err(json_error)
}

impl SecondFactors {
    /// Whether this server can use passkeys at all (its issuer is a domain).
    pub fn passkeys_enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn, AuthError> {
        self.webauthn
            .as_deref()
            .ok_or(FactorError::MethodUnavailable("passkey").into())
    }

    /// The account's passkeys, oldest first.
    pub async fn list_passkeys(&self, user: &User) -> Result<Vec<PasskeyInfo>, AuthError> {
        let rows = passkeys::find_by_user(&self.db, user.id.clone()).await?;
        Ok(rows
            .into_iter()
            .map(|row| PasskeyInfo {
                id: row.id,
                name: row.name,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
            })
            .collect())
    }

    /// Whether the account has a passkey.
    pub(in crate::auth) async fn has_passkey(&self, user: &User) -> Result<bool, AuthError> {
        Ok(self.webauthn.is_some() && !passkeys::find_by_user(&self.db, user.id.clone()).await?.is_empty())
    }

    /// Starts adding a passkey to the caller's account, in the browser `binding`. Needs a recent sign-in; the
    /// account's passkeys are excluded (an authenticator holds one of them at most), and the credential must
    /// be discoverable, so it can sign in without a username.
    pub async fn start_passkey_registration(
        &self,
        caller: &Principal,
        binding: &str,
        now: UnixTime,
    ) -> Result<PasskeyChallenge, AuthError> {
        let webauthn = self.webauthn()?;
        self.require_recent_sign_in(caller, now)?;
        caller.require_registered()?;
        let user = &caller.user;
        let mut exclude: Vec<CredentialID> = Vec::new();
        for row in passkeys::find_by_user(&self.db, user.id.clone()).await? {
            exclude.push(stored(&row)?.cred_id().clone());
        }
        let (options, state) = webauthn
            .start_passkey_registration(user_handle(user), &user.username, user.label(), Some(exclude))
            .map_err(refused("registration"))?;
        let state = serde_json::to_string(&state).map_err(json_error)?;
        let mut options = serde_json::to_value(&options).map_err(json_error)?;
        // The library's passkeys only prefer not to be discoverable; a usernameless sign-in needs them to be.
        if let Some(selection) = options
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(serde_json::Value::as_object_mut)
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let ids = (Some(user.id.clone()), None);
        self.keep_ceremony(CeremonyPurpose::Register, binding, ids, state, options, now)
            .await
    }

    /// Finishes adding a passkey: the ceremony this browser started for this account, answered by the
    /// authenticator's `response` (JSON). The passkey is stored under `name`.
    pub async fn finish_passkey_registration(
        &self,
        caller: &Principal,
        binding: &str,
        ceremony: &str,
        response: &str,
        name: &str,
        now: UnixTime,
    ) -> Result<PasskeyInfo, AuthError> {
        let webauthn = self.webauthn()?;
        self.require_recent_sign_in(caller, now)?;
        let user = &caller.user;
        let row = self
            .spend_ceremony(CeremonyPurpose::Register, ceremony, binding, now)
            .await?;
        if row.user_id.as_deref() != Some(user.id.as_str()) {
            return Err(FactorError::PasskeyRefused.into());
        }
        let state: PasskeyRegistration = serde_json::from_str(&row.state).map_err(json_error)?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(response).map_err(|_| FactorError::PasskeyRefused)?;
        let passkey = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(refused("registration"))?;
        let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
        let row = PasskeyRow {
            id: opaque::random_id(),
            user_id: user.id.clone(),
            name: if name.is_empty() { "Passkey".into() } else { name },
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref()),
            credential: serde_json::to_string(&passkey).map_err(json_error)?,
            created_at: now,
            last_used_at: None,
        };
        if !passkeys::insert(&self.db, row.clone()).await? {
            tracing::warn!(user_id = %user.id, "passkey refused: its credential is registered already");
            return Err(FactorError::PasskeyRefused.into());
        }
        tracing::info!(user_id = %user.id, passkey_id = %row.id, "passkey added");
        let event = Event::new(Kind::PasskeyAdded)
            .about(Subject::User(user.id.clone()))
            .with("passkey_id", row.id.clone())
            .with("name", row.name.clone());
        audit::record(&self.db, event, now).await;
        self.notify_security_event(user, format!("A passkey ({}) was added to your account.", row.name));
        Ok(PasskeyInfo {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: None,
        })
    }

    /// Renames one of the caller's passkeys.
    pub async fn rename_passkey(&self, caller: &Principal, id: &str, name: &str) -> Result<(), AuthError> {
        let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
        if name.is_empty() || !passkeys::update_name(&self.db, caller.user.id.clone(), id.into(), name).await? {
            return Err(FactorError::MethodUnavailable("passkey").into());
        }
        Ok(())
    }

    /// Removes one of the caller's passkeys: after a recent sign-in, or with the account's password.
    pub async fn remove_passkey(
        &self,
        caller: &Principal,
        id: &str,
        password: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        if password.is_empty() {
            self.require_recent_sign_in(caller, now)?;
        } else {
            self.credentials
                .recheck_password(&caller.user, password, client, now)
                .await?;
        }
        let user = &caller.user;
        let removed = passkeys::delete(&self.db, user.id.clone(), id.into())
            .await?
            .ok_or(FactorError::MethodUnavailable("passkey"))?;
        tracing::info!(user_id = %user.id, passkey_id = %removed.id, "passkey removed");
        let event = Event::new(Kind::PasskeyRemoved)
            .about(Subject::User(user.id.clone()))
            .with("passkey_id", removed.id.clone())
            .with("name", removed.name.clone());
        audit::record(&self.db, event, now).await;
        self.notify_security_event(
            user,
            format!("A passkey ({}) was removed from your account.", removed.name),
        );
        Ok(())
    }

    /// Starts an assertion in the browser `binding`: for a usernameless sign-in (`user` none: any discoverable
    /// passkey) or for the second factor of the flow `flow_id` (the account's passkeys).
    pub(in crate::auth) async fn start_passkey_assertion(
        &self,
        binding: &str,
        second_factor: Option<(&User, &str)>,
        now: UnixTime,
    ) -> Result<PasskeyChallenge, AuthError> {
        let webauthn = self.webauthn()?;
        let Some((user, flow_id)) = second_factor else {
            let (options, state) = webauthn
                .start_discoverable_authentication()
                .map_err(refused("sign-in"))?;
            let state = serde_json::to_string(&state).map_err(json_error)?;
            let mut options = serde_json::to_value(&options).map_err(json_error)?;
            // A sign-in button, not the autofill UI: the browser's own dialog.
            if let Some(members) = options.as_object_mut() {
                members.remove("mediation");
            }
            return self
                .keep_ceremony(CeremonyPurpose::SignIn, binding, (None, None), state, options, now)
                .await;
        };
        let mut keys = Vec::new();
        for row in passkeys::find_by_user(&self.db, user.id.clone()).await? {
            keys.push(stored(&row)?);
        }
        if keys.is_empty() {
            return Err(FactorError::MethodUnavailable("passkey").into());
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&keys)
            .map_err(refused("second factor"))?;
        let state = serde_json::to_string(&state).map_err(json_error)?;
        let options = serde_json::to_value(&options).map_err(json_error)?;
        let ids = (Some(user.id.clone()), Some(flow_id.to_owned()));
        self.keep_ceremony(CeremonyPurpose::SecondFactor, binding, ids, state, options, now)
            .await
    }

    /// Checks the answer to an assertion this browser started for `purpose`: the ceremony is spent first, then
    /// the credential is found by its id, must be the ceremony's account's (a second factor) or name its own
    /// account (a sign-in), and its signature, challenge, origin, counter and user verification are checked.
    /// The credential's counter and flags and its last use are recorded.
    pub(in crate::auth) async fn check_passkey_assertion(
        &self,
        purpose: CeremonyPurpose,
        ceremony: &str,
        binding: &str,
        response: &str,
        now: UnixTime,
    ) -> Result<PasskeyUse, AuthError> {
        let webauthn = self.webauthn()?;
        let row = self.spend_ceremony(purpose, ceremony, binding, now).await?;
        let answer: PublicKeyCredential = serde_json::from_str(response).map_err(|_| FactorError::PasskeyRefused)?;
        let credential_id = URL_SAFE_NO_PAD.encode(answer.get_credential_id());
        let Some((key_row, user)) = passkeys::find_by_credential_id(&self.db, credential_id).await? else {
            tracing::warn!("passkey refused: unknown credential");
            return Err(FactorError::PasskeyRefused.into());
        };
        let mut passkey = stored(&key_row)?;
        let result = match purpose {
            CeremonyPurpose::SignIn => {
                let (handle, _) = webauthn
                    .identify_discoverable_authentication(&answer)
                    .map_err(refused("sign-in"))?;
                if handle != user_handle(&user) {
                    return Err(FactorError::PasskeyRefused.into());
                }
                let state: DiscoverableAuthentication = serde_json::from_str(&row.state).map_err(json_error)?;
                webauthn.finish_discoverable_authentication(&answer, state, &[DiscoverableKey::from(&passkey)])
            }
            CeremonyPurpose::SecondFactor if row.user_id.as_deref() == Some(user.id.as_str()) => {
                let state: PasskeyAuthentication = serde_json::from_str(&row.state).map_err(json_error)?;
                webauthn.finish_passkey_authentication(&answer, &state)
            }
            CeremonyPurpose::SecondFactor | CeremonyPurpose::Register => {
                return Err(FactorError::PasskeyRefused.into());
            }
        }
        .map_err(refused("assertion"))?;
        let changed = passkey.update_credential(&result) == Some(true);
        let credential = if changed {
            Some(serde_json::to_string(&passkey).map_err(json_error)?)
        } else {
            None
        };
        passkeys::update_use(&self.db, key_row.id.clone(), credential, now).await?;
        let mut amr = String::from(if result.backup_eligible() { "swk" } else { "hwk" });
        if result.user_verified() {
            amr.push_str(" user");
        }
        tracing::info!(user_id = %user.id, passkey_id = %key_row.id, "passkey accepted");
        Ok(PasskeyUse {
            user,
            amr,
            ceremony: row,
        })
    }

    /// A refused passkey sign-in, as an audit event and a counted failure.
    pub(in crate::auth) async fn audit_passkey_failure(&self, user: Option<&User>, reason: &str, now: UnixTime) {
        let mut event = Event::new(Kind::SignInFailed)
            .with("method", "passkey")
            .with("reason", reason);
        if let Some(user) = user {
            event = event.about(Subject::User(user.id.clone()));
        }
        audit::record(&self.db, event, now).await;
        self.credentials.metrics.sign_in("passkey", SignInResult::Failed);
    }

    async fn keep_ceremony(
        &self,
        purpose: CeremonyPurpose,
        binding: &str,
        (user_id, flow_id): (Option<String>, Option<String>),
        state: String,
        options: serde_json::Value,
        now: UnixTime,
    ) -> Result<PasskeyChallenge, AuthError> {
        let row = CeremonyRow {
            id: opaque::random_id(),
            purpose: purpose.as_str().into(),
            browser_binding: binding.to_owned(),
            user_id,
            flow_id,
            state,
            expires_at: now + self.policy.challenge_ttl_secs,
            used_at: None,
        };
        let ceremony = row.id.clone();
        passkeys::insert_ceremony(&self.db, row, now).await?;
        Ok(PasskeyChallenge { ceremony, options })
    }

    async fn spend_ceremony(
        &self,
        purpose: CeremonyPurpose,
        ceremony: &str,
        binding: &str,
        now: UnixTime,
    ) -> Result<CeremonyRow, AuthError> {
        passkeys::spend_ceremony(&self.db, ceremony.into(), purpose.as_str(), binding.into(), now)
            .await?
            .ok_or_else(|| {
                tracing::warn!("passkey refused: no such ceremony for this browser, or spent or expired");
                FactorError::PasskeyRefused.into()
            })
    }
}
