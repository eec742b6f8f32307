//! The console's form of an upstream provider: what it sends, what it shows back, and the `ProviderSpec` it
//! asks `federation` for. The client secret is write-only: never shown back, and an empty field on an edit
//! keeps the stored one.

use serde::Deserialize;

use super::PageError;
use crate::config::{ProviderConfig, Secret};
use crate::federation::{FederationError, ProviderSpec};

/// A provider as the form holds it: lists space-separated (or one a line), the checkbox `Some`.
#[derive(Default, Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    email_claim: String,
    #[serde(default)]
    username_claim: String,
    #[serde(default)]
    name_claim: String,
    #[serde(default)]
    trusted_amr: String,
    #[serde(default)]
    allowed_domains: String,
    trust_email: Option<String>,
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

impl ProviderForm {
    /// A new provider: every field as written (an empty secret is refused by `create`).
    pub(super) fn new_spec(&self) -> ProviderSpec {
        ProviderSpec {
            id: Some(self.id.trim().to_owned()),
            client_secret: Some(Secret::new(self.client_secret.clone())),
            ..self.common_spec()
        }
    }

    /// A change to an existing provider: an empty secret field keeps the stored secret.
    pub(super) fn edit_spec(&self) -> ProviderSpec {
        ProviderSpec {
            client_secret: (!self.client_secret.is_empty()).then(|| Secret::new(self.client_secret.clone())),
            ..self.common_spec()
        }
    }

    fn common_spec(&self) -> ProviderSpec {
        ProviderSpec {
            id: None,
            name: Some(self.name.clone()),
            kind: Some(self.kind.clone()),
            issuer: Some(self.issuer.clone()),
            client_id: Some(self.client_id.clone()),
            client_secret: None,
            scopes: Some(words(&self.scopes)),
            email_claim: Some(self.email_claim.clone()),
            username_claim: Some(self.username_claim.clone()),
            name_claim: Some(self.name_claim.clone()),
            trusted_amr: Some(words(&self.trusted_amr)),
            allowed_domains: Some(words(&self.allowed_domains)),
            trust_email: Some(self.trust_email.is_some()),
        }
    }
}

/// The form's values as the page shows them; never the secret.
pub(super) struct FormView {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) issuer: String,
    pub(super) client_id: String,
    pub(super) scopes: String,
    pub(super) email_claim: String,
    pub(super) username_claim: String,
    pub(super) name_claim: String,
    pub(super) trusted_amr: String,
    pub(super) allowed_domains: String,
    pub(super) trust_email: bool,
}

impl FormView {
    /// An empty form with the defaults a new provider starts with.
    pub(super) fn blank() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            kind: "oidc".into(),
            issuer: String::new(),
            client_id: String::new(),
            scopes: "email profile".into(),
            email_claim: "email".into(),
            username_claim: "preferred_username".into(),
            name_claim: "name".into(),
            trusted_amr: String::new(),
            allowed_domains: String::new(),
            trust_email: false,
        }
    }
}

impl From<&ProviderForm> for FormView {
    fn from(form: &ProviderForm) -> Self {
        Self {
            id: form.id.clone(),
            name: form.name.clone(),
            kind: form.kind.clone(),
            issuer: form.issuer.clone(),
            client_id: form.client_id.clone(),
            scopes: form.scopes.clone(),
            email_claim: form.email_claim.clone(),
            username_claim: form.username_claim.clone(),
            name_claim: form.name_claim.clone(),
            trusted_amr: form.trusted_amr.clone(),
            allowed_domains: form.allowed_domains.clone(),
            trust_email: form.trust_email.is_some(),
        }
    }
}

impl From<&ProviderConfig> for FormView {
    fn from(provider: &ProviderConfig) -> Self {
        Self {
            id: provider.id.clone(),
            name: provider.name.clone(),
            kind: provider.kind.as_str().to_owned(),
            issuer: provider.issuer.clone(),
            client_id: provider.client_id.clone(),
            scopes: provider.scopes.join(" "),
            email_claim: provider.email_claim.clone(),
            username_claim: provider.username_claim.clone(),
            name_claim: provider.name_claim.clone(),
            trusted_amr: provider.trusted_amr.join(" "),
            allowed_domains: provider.allowed_domains.join(" "),
            trust_email: provider.trust_email,
        }
    }
}

/// Each refused field as a sentence; anything else is the error page's.
pub(super) fn refusal(error: FederationError) -> Result<Vec<String>, PageError> {
    match error {
        FederationError::Invalid(problems) => Ok(super::admin::field_sentences(&problems)),
        FederationError::ProviderExists => Ok(vec!["id: another provider has it".into()]),
        other => Err(other.into()),
    }
}
