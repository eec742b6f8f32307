//! The drop-in profiles of other products' APIs that are on, each with the application its requests belong to
//! (named in `[compat]` by id or slug, checked at start-up: a profile that names no application stops it).

use super::{AppError, AppService, AppSpec};
use crate::clock::UnixTime;
use crate::config::CompatConfig;

/// The access-token lifetime the emnify profile's documents give (240 minutes), which its application takes
/// while it has the server's default.
pub const EMNIFY_ACCESS_TOKEN_TTL_SECS: i64 = 240 * 60;

/// A drop-in profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Appmixer,
    Emnify,
    Cellmobs,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Appmixer => "appmixer",
            Self::Emnify => "emnify",
            Self::Cellmobs => "cellmobs",
        }
    }
}

/// The profiles that are on: the id of each one's application.
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    appmixer: Option<String>,
    emnify: Option<String>,
    cellmobs: Option<String>,
    /// The cellmobs profile accepts credentials in the query string (migration only).
    pub cellmobs_query_credentials: bool,
}

impl Profiles {
    /// The application of `profile`, when it is on.
    pub fn application(&self, profile: Profile) -> Option<&str> {
        match profile {
            Profile::Appmixer => self.appmixer.as_deref(),
            Profile::Emnify => self.emnify.as_deref(),
            Profile::Cellmobs => self.cellmobs.as_deref(),
        }
    }
}

impl AppService {
    /// The profiles `config` turns on, each with its application's id. The emnify profile's application takes
    /// [`EMNIFY_ACCESS_TOKEN_TTL_SECS`] while its access-token lifetime is the server's default.
    pub async fn profiles(&self, config: &CompatConfig, now: UnixTime) -> Result<Profiles, (Profile, AppError)> {
        let resolve = |profile: Profile, named: Option<String>| async move {
            match named {
                None => Ok(None),
                Some(name) => self.get(&name).await.map(Some).map_err(|e| (profile, e)),
            }
        };
        let appmixer = resolve(Profile::Appmixer, config.appmixer.application.clone()).await?;
        let mut emnify = resolve(Profile::Emnify, config.emnify.application.clone()).await?;
        let cellmobs = resolve(Profile::Cellmobs, config.cellmobs.application.clone()).await?;
        if let Some(app) = &emnify
            && app.access_token_ttl_secs == self.defaults.access_token_ttl_secs
        {
            let spec = AppSpec {
                access_token_ttl_secs: Some(EMNIFY_ACCESS_TOKEN_TTL_SECS),
                ..AppSpec::default()
            };
            let updated = self
                .update(&app.id, spec, now)
                .await
                .map_err(|e| (Profile::Emnify, e))?;
            tracing::info!(application_id = %updated.id, "emnify profile: access tokens of its application live 240 minutes");
            emnify = Some(updated);
        }
        for (profile, app) in [
            (Profile::Appmixer, &appmixer),
            (Profile::Emnify, &emnify),
            (Profile::Cellmobs, &cellmobs),
        ] {
            if let Some(app) = app {
                tracing::info!(profile = profile.as_str(), application = %app.slug, "compatibility profile on");
            }
        }
        if cellmobs.is_some() && config.cellmobs.allow_query_credentials {
            tracing::warn!(
                "compat.cellmobs.allow_query_credentials is on: passwords are accepted in the URL of \
                 /v1/auth/login, where proxies and browsers may keep them. Use it only while clients move to the body."
            );
        }
        Ok(Profiles {
            appmixer: appmixer.map(|a| a.id),
            emnify: emnify.map(|a| a.id),
            cellmobs: cellmobs.map(|a| a.id),
            cellmobs_query_credentials: config.cellmobs.allow_query_credentials,
        })
    }
}
