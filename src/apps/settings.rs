//! An application's settings as an administrator sets them (name, slug, budget, token lifetimes, and the access
//! policy `policy` checks): each field checked once, every problem naming its field.

use super::policy::{self, Reach};
use super::{ACCESS_TOKEN_TTL_RANGE, AppError, AppSpec, Application, DEFAULT_SLUG, Defaults};
use crate::clock::UnixTime;
use crate::error::FieldError;
use crate::tokens::opaque;

/// Checks settings; `current` is the application being changed, if any.
pub(super) fn validate(
    spec: AppSpec,
    current: Option<&Application>,
    defaults: &Defaults,
    reach: &Reach,
    now: UnixTime,
) -> Result<Application, AppError> {
    let mut problems = Vec::new();
    let policy = policy::resolve(
        spec.policy,
        current.map_or(&defaults.policy, |c| &c.policy),
        reach,
        &mut problems,
    );
    let mut problem = |field: &'static str, message: &str| {
        problems.push(FieldError {
            field,
            message: message.into(),
        })
    };
    let name = spec
        .name
        .or_else(|| current.map(|c| c.name.clone()))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !(1..=100).contains(&name.chars().count()) {
        problem("name", "must be 1 to 100 characters");
    }
    let slug = spec
        .slug
        .or_else(|| current.map(|c| c.slug.clone()))
        .unwrap_or_else(|| slugify(&name));
    let slug_ok = (2..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !slug_ok {
        problem("slug", "must be 2 to 40 characters of a-z, 0-9 and '-'");
    }
    if let Some(current) = current
        && current.slug == DEFAULT_SLUG
        && slug != DEFAULT_SLUG
    {
        problem("slug", "the default application keeps its slug");
    }
    let rate = spec
        .rate_limit_per_minute
        .or(current.map(|c| c.rate_limit_per_minute))
        .unwrap_or(defaults.rate_limit_per_minute);
    if !(1..=10_000_000).contains(&rate) {
        problem("rate_limit_per_minute", "must be between 1 and 10,000,000");
    }
    let access = spec
        .access_token_ttl_secs
        .or(current.map(|c| c.access_token_ttl_secs))
        .unwrap_or(defaults.access_token_ttl_secs);
    if !ACCESS_TOKEN_TTL_RANGE.contains(&access) {
        problem("access_token_ttl_secs", "must be between 60 and 86,400 seconds");
    }
    let refresh = spec
        .refresh_token_ttl_secs
        .or(current.map(|c| c.refresh_token_ttl_secs))
        .unwrap_or(defaults.refresh_token_ttl_secs);
    if !(60..=366 * 24 * 3600).contains(&refresh) {
        problem("refresh_token_ttl_secs", "must be between 60 seconds and 366 days");
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    Ok(Application {
        id: current.map_or_else(opaque::random_id, |c| c.id.clone()),
        name,
        slug,
        rate_limit_per_minute: rate,
        access_token_ttl_secs: access,
        refresh_token_ttl_secs: refresh,
        policy,
        created_at: current.map_or(now, |c| c.created_at),
        updated_at: now,
    })
}

/// `My App 2` → `my-app-2`.
fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_names() {
        assert_eq!(slugify("My App  2!"), "my-app-2");
        assert_eq!(slugify("  Ünïcode app"), "n-code-app");
    }
}
