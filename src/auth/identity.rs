//! Usernames and e-mail addresses: how they are normalised (so look-alikes collide) and which are valid.

use unicode_normalization::UnicodeNormalization;

/// Shortest and longest username.
pub const USERNAME_LEN: std::ops::RangeInclusive<usize> = 3..=32;
/// Longest e-mail address (RFC 5321 §4.5.3.1.3 path limit, less the brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// NFKC + lower case: `ＡＬＩＣＥ` and `Alice` become `alice`.
pub fn normalize_username(raw: &str) -> String {
    raw.trim().nfkc().collect::<String>().to_lowercase()
}

/// Why a normalised username is refused, if it is.
pub fn username_problem(username: &str) -> Option<String> {
    let len = username.chars().count();
    if !USERNAME_LEN.contains(&len) {
        return Some(format!(
            "must be {} to {} characters",
            USERNAME_LEN.start(),
            USERNAME_LEN.end()
        ));
    }
    // ASCII only: confusable scripts (Cyrillic `а` for Latin `a`) cannot impersonate anyone.
    if !username
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Some("may contain only letters a-z, digits, '.', '_' and '-'".into());
    }
    if !username.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("must start with a letter or a digit".into());
    }
    None
}

/// Why the normalised `username` of an account whose normalised address is `email` is refused, if it is: a
/// username may contain `@` only when it is that address (as some products' accounts are named), so a sign-in by
/// either still names one account.
pub fn account_username_problem(username: &str, email: Option<&str>) -> Option<String> {
    if !username.contains('@') {
        return username_problem(username);
    }
    if email == Some(username) {
        None
    } else {
        Some("may contain '@' only when it is the account's e-mail address".into())
    }
}

/// NFKC + lower case of the whole address.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().nfkc().collect::<String>().to_lowercase()
}

/// Whether `login` — a username, or an e-mail address when it has an `@` (as at sign-in), or the account's
/// id — names `user`.
pub fn names(user: &crate::store::users::User, login: &str) -> bool {
    if login.contains('@') {
        user.email.as_deref() == Some(normalize_email(login).as_str())
    } else {
        normalize_username(login) == user.username || login == user.id
    }
}

/// The form an address is counted under by signup limits: normalised, without a `+tag` (so `Alice+1@X` and
/// `alice@x` count as one).
pub fn counting_key(raw: &str) -> String {
    let email = normalize_email(raw);
    match email.split_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            format!("{local}@{}", domain.trim_end_matches('.'))
        }
        None => email,
    }
}

/// Why a normalised e-mail address is refused, if it is.
pub fn email_problem(email: &str) -> Option<String> {
    if email.len() > MAX_EMAIL_LEN {
        return Some(format!("must be at most {MAX_EMAIL_LEN} characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("is not an e-mail address".into());
    };
    let local_ok = (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let domain_ok = !domain.is_empty()
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if local_ok && domain_ok {
        None
    } else {
        Some("is not an e-mail address".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_normalise_together_or_are_refused() {
        assert_eq!(normalize_username("  ALICE "), "alice");
        assert_eq!(normalize_username("ａｌｉｃｅ"), "alice");
        // Cyrillic "а" survives normalisation and is refused.
        assert!(username_problem(&normalize_username("аlice")).is_some());
    }

    #[test]
    fn usernames() {
        for ok in ["bob", "alice.smith", "a_b-c", "007"] {
            assert_eq!(username_problem(ok), None, "{ok}");
        }
        for bad in ["ab", "a@b.example", "-bob", "bob smith", &"x".repeat(33)] {
            assert!(username_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn signup_limits_count_variants_of_an_address_as_one() {
        for variant in [
            "alice@example.org",
            "Alice@Example.org",
            "alice+1@example.org",
            "ALICE+news@EXAMPLE.ORG.",
        ] {
            assert_eq!(counting_key(variant), "alice@example.org", "{variant}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(normalize_email(" Alice@Example.ORG "), "alice@example.org");
        for ok in ["alice@example.org", "a.b+tag@sub.example.co", "admin@localhost"] {
            assert_eq!(email_problem(ok), None, "{ok}");
        }
        for bad in [
            "alice",
            "@example.org",
            "alice@",
            "a..b@example.org",
            "alice@x.",
            "al ice@x.org",
            "a@-x.org",
        ] {
            assert!(email_problem(bad).is_some(), "{bad}");
        }
    }
}
