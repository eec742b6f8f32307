//! `[compat]`: the drop-in profiles of other products' documented APIs, each off until it names the application
//! its requests belong to.

use serde::Deserialize;

/// The profiles.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompatConfig {
    /// `POST /user/auth`, `POST /user`, `GET /user`.
    pub appmixer: ProfileConfig,
    /// `POST /api/v1/authenticate`, `POST` and `DELETE /api/v1/application_token`.
    pub emnify: ProfileConfig,
    /// `POST /v1/auth/login`.
    pub cellmobs: CellmobsConfig,
}

/// A profile: on when it names an application (its id or slug).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileConfig {
    pub application: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CellmobsConfig {
    pub application: Option<String>,
    /// Accept the credentials in the query string, as the documented request sends them (for migration only:
    /// the request line is then never logged with its query, and each use is warned about).
    pub allow_query_credentials: bool,
}
