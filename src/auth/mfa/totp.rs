//! Authenticator apps (RFC 6238): SHA-1, 6 digits, 30-second steps, ±1 step of drift. The 160-bit seed is
//! sealed at rest; a step is accepted once (no code, nor an earlier one, works after it); codes are compared
//! in constant time. Confirming the first code turns the factor on and hands out ten recovery codes.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Totp};

use super::super::{AuthError, FactorError, Principal, SecondFactors};
use crate::audit::{self, Event, Kind, Subject};
use crate::auth::login::Attempt;
use crate::clock::UnixTime;
use crate::store::totp_factors::{self, NewRecoveryCode, TotpFactorRow};
use crate::store::users::User;
use crate::tokens::opaque::{self, random_bytes};
use crate::tokens::sealing::{self, Purpose};

const STEP_SECS: i64 = 30;
const DIGITS: u8 = 6;
const SEED_BYTES: usize = 20;
const RECOVERY_CODES: usize = 10;
/// Letters and digits that cannot be mistaken for one another.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A pending authenticator: what the user scans or types into the app.
#[derive(Debug)]
pub struct TotpEnrollment {
    /// Base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// A QR code of the URI, as a base64 PNG.
    pub qr_png_base64: String,
}

impl SecondFactors {
    /// `POST /api/v1/user/mfa/totp`: a new pending authenticator (replacing an unconfirmed one). Needs a
    /// recent password sign-in; an account with a confirmed one must disable it first.
    pub async fn start_totp(&self, caller: &Principal, now: UnixTime) -> Result<TotpEnrollment, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        caller.require_registered()?;
        let seed = random_bytes::<SEED_BYTES>().to_vec();
        let totp = self.totp(seed.clone(), caller.user.label())?;
        let row = TotpFactorRow {
            user_id: caller.user.id.clone(),
            secret: sealing::seal(Purpose::TotpSecret, &seed, self.secret_key.as_ref()).map_err(seal_error)?,
            created_at: now,
            confirmed_at: None,
            last_used_step: 0,
        };
        if !totp_factors::start(&self.db, row).await? {
            return Err(FactorError::TotpAlreadyEnabled.into());
        }
        tracing::info!(user_id = %caller.user.id, "authenticator enrollment started");
        Ok(TotpEnrollment {
            secret: totp.secret().to_base32(),
            otpauth_uri: totp
                .to_url()
                .map_err(|e| AuthError::Internal(format!("otpauth URI: {e}")))?,
            qr_png_base64: totp
                .to_qr_base64()
                .map_err(|e| AuthError::Internal(format!("QR code: {e}")))?,
        })
    }

    /// `POST /api/v1/user/mfa/totp/confirm`: the first code turns the authenticator on; returns the recovery
    /// codes, shown this once.
    pub async fn confirm_totp(&self, caller: &Principal, code: &str, now: UnixTime) -> Result<Vec<String>, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let user = &caller.user;
        let pending = totp_factors::find(&self.db, user.id.clone())
            .await?
            .filter(|factor| factor.confirmed_at.is_none())
            .ok_or(FactorError::TotpNotPending)?;
        let Some(step) = self.matching_step(&pending, user.label(), code, now)? else {
            self.credentials
                .count_failure(user, Attempt::Authenticator, now)
                .await?;
            return Err(FactorError::InvalidCode.into());
        };
        let (codes, rows) = recovery_codes(user, now);
        if !totp_factors::confirm(&self.db, user.id.clone(), step, rows, now).await? {
            return Err(FactorError::TotpNotPending.into());
        }
        tracing::info!(user_id = %user.id, "authenticator enabled");
        audit::record(
            &self.db,
            Event::new(Kind::TotpEnrolled).about(Subject::User(user.id.clone())),
            now,
        )
        .await;
        self.notify_security_event(user, "An authenticator app was added as a second factor.".into());
        Ok(codes)
    }

    /// `DELETE /api/v1/user/mfa/totp`: turns the authenticator off after the password and a current code.
    pub async fn disable_totp(
        &self,
        caller: &Principal,
        password: &str,
        code: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let user = self
            .credentials
            .recheck_password(&caller.user, password, client, now)
            .await?;
        if !self.check_totp(&user, code, now).await? {
            self.credentials
                .count_failure(&user, Attempt::Authenticator, now)
                .await?;
            return Err(FactorError::InvalidCode.into());
        }
        totp_factors::remove(&self.db, user.id.clone()).await?;
        tracing::info!(user_id = %user.id, "authenticator disabled");
        audit::record(
            &self.db,
            Event::new(Kind::TotpRemoved).about(Subject::User(user.id.clone())),
            now,
        )
        .await;
        self.notify_security_event(&user, "The authenticator app was removed from your account.".into());
        Ok(())
    }

    /// `POST /api/v1/user/mfa/recovery-codes`: ten new recovery codes for the old ones, after the password
    /// and a current code.
    pub async fn regenerate_recovery_codes(
        &self,
        caller: &Principal,
        password: &str,
        code: &str,
        client: &str,
        now: UnixTime,
    ) -> Result<Vec<String>, AuthError> {
        self.require_recent_sign_in(caller, now)?;
        let user = self
            .credentials
            .recheck_password(&caller.user, password, client, now)
            .await?;
        if !self.check_totp(&user, code, now).await? {
            self.credentials
                .count_failure(&user, Attempt::Authenticator, now)
                .await?;
            return Err(FactorError::InvalidCode.into());
        }
        let (codes, rows) = recovery_codes(&user, now);
        totp_factors::replace_recovery_codes(&self.db, user.id.clone(), rows).await?;
        audit::record(
            &self.db,
            Event::new(Kind::RecoveryCodesGenerated).about(Subject::User(user.id.clone())),
            now,
        )
        .await;
        self.notify_security_event(
            &user,
            "New recovery codes were made; the old ones no longer work.".into(),
        );
        Ok(codes)
    }

    /// How many unused recovery codes `user` has.
    pub async fn recovery_codes_left(&self, user: &User) -> Result<i64, AuthError> {
        Ok(totp_factors::recovery_codes_left(&self.db, user.id.clone()).await?)
    }

    /// Whether `code` is a current code of `user`'s confirmed authenticator, spending its step.
    pub(super) async fn check_totp(&self, user: &User, code: &str, now: UnixTime) -> Result<bool, AuthError> {
        let factor = totp_factors::find(&self.db, user.id.clone())
            .await?
            .filter(|factor| factor.confirmed_at.is_some());
        let Some(factor) = factor else {
            return Ok(false);
        };
        let Some(step) = self.matching_step(&factor, user.label(), code, now)? else {
            return Ok(false);
        };
        Ok(totp_factors::use_step(&self.db, user.id.clone(), step).await?)
    }

    /// Whether `code` is one of `user`'s unused recovery codes, spending it.
    pub(super) async fn use_recovery_code(&self, user: &User, code: &str, now: UnixTime) -> Result<bool, AuthError> {
        let hash = recovery_code_hash(&user.id, code);
        Ok(totp_factors::use_recovery_code(&self.db, user.id.clone(), hash, now).await?)
    }

    /// The step (of now − 1, now, now + 1) whose code `code` is. Every candidate is compared, in constant
    /// time, whatever matched before.
    fn matching_step(
        &self,
        factor: &TotpFactorRow,
        account: &str,
        code: &str,
        now: UnixTime,
    ) -> Result<Option<i64>, AuthError> {
        let seed =
            sealing::unseal(Purpose::TotpSecret, &factor.secret, self.secret_key.as_ref()).map_err(seal_error)?;
        let totp = self.totp(seed, account)?;
        let code = code.trim();
        let current = now.div_euclid(STEP_SECS);
        let mut found = None;
        for step in [current - 1, current, current + 1] {
            let expected = totp
                .generate(u64::try_from(step * STEP_SECS).unwrap_or_default())
                .to_string();
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        Ok(found)
    }

    fn totp(&self, seed: Vec<u8>, account: &str) -> Result<Totp, AuthError> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(1)
            .with_step_duration(STEP_SECS.unsigned_abs())
            .with_secret(seed)
            .with_issuer(Some(self.policy.issuer_name.as_str()))
            .with_account_name(account)
            .build()
            .map_err(|e| AuthError::Internal(format!("TOTP: {e}")))
    }
}

/// Ten fresh recovery codes (`xxxxx-xxxxx`, about 50 bits each), and the rows of their hashes.
fn recovery_codes(user: &User, now: UnixTime) -> (Vec<String>, Vec<NewRecoveryCode>) {
    (0..RECOVERY_CODES)
        .map(|_| {
            let letters: String = random_bytes::<10>()
                .iter()
                .map(|b| char::from(RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()]))
                .collect();
            let code = format!("{}-{}", &letters[..5], &letters[5..]);
            let row = NewRecoveryCode {
                id: opaque::random_id(),
                user_id: user.id.clone(),
                code_hash: recovery_code_hash(&user.id, &code),
                created_at: now,
            };
            (code, row)
        })
        .unzip()
}

/// A recovery code's stored form: case, spaces and dashes do not matter.
fn recovery_code_hash(user_id: &str, code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    opaque::hash(&format!("{user_id}:{normalized}"))
}

fn seal_error(error: sealing::SealError) -> AuthError {
    AuthError::Internal(format!("authenticator seed: {error}"))
}
