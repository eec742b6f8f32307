//! Loading and validating the configuration: defaults, the example file, the environment as written, and
//! errors that name the setting where it was written.

use super::{Config, Secret, UserCreateScope};
use crate::tokens::keys::SigningAlg;

fn valid() -> Config {
    let mut config = Config::default();
    config.validate().unwrap();
    config
}

#[test]
fn defaults_are_valid_and_derive_the_issuer() {
    assert_eq!(valid().issuer(), "http://127.0.0.1:8080");
}

#[test]
fn rejects_bad_values_naming_the_key() {
    let mut config = Config::default();
    config.server.bind = "localhost".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("server.bind") && err.contains("TESSERA_SERVER__BIND"),
        "{err}"
    );

    let mut config = Config::default();
    config.database.url = "mysql://x".into();
    assert!(config.validate().unwrap_err().to_string().contains("database.url"));

    for issuer in [
        "https://id.example.com/",
        "https://id.example.com?x=1",
        "ftp://x",
        "nonsense",
    ] {
        let mut config = Config::default();
        config.server.issuer = issuer.into();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("server.issuer"), "{issuer}: {err}");
    }

    let mut config = Config {
        secret_key: Some(Secret::new("short")),
        ..Config::default()
    };
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("TESSERA_SECRET_KEY")
    );
}

#[test]
fn all_interfaces_need_an_explicit_issuer_and_blank_secrets_are_unset() {
    let mut config = Config::default();
    config.server.bind = "0.0.0.0:8080".into();
    assert!(config.validate().unwrap_err().to_string().contains("server.issuer"));
    config.server.issuer = "https://id.example.test".into();
    config.secret_key = Some(Secret::new(""));
    config.validate().unwrap();
    assert!(config.secret_key.is_none());
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn the_example_file_documents_the_defaults() {
    figment::Jail::expect_with(|jail| {
        let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tessera.example.toml"))
            .map_err(|e| e.to_string())?;
        jail.create_file("tessera.toml", &example)?;
        let loaded = Config::load(None).map_err(|e| e.to_string())?;
        let defaults = valid();
        assert_eq!(format!("{loaded:?}"), format!("{defaults:?}"));
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn signup_limits_answer_to_their_unprefixed_names_and_proxies_parse() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("USER_SIGNUP_RATE_LIMIT_EMAIL", "3");
        jail.set_env("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS", "1000");
        jail.set_env("TESSERA_SIGNUP__RATE_LIMIT_IP", "7");
        jail.set_env("TESSERA_SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.signup.rate_limit_email, 3);
        assert_eq!(config.signup.rate_limit_ip_window_ms, 1000);
        assert_eq!(config.signup.rate_limit_ip, 7);
        let proxies: Vec<String> = config.server.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.168.1.1/32"]);
        jail.set_env("TESSERA_SERVER__TRUSTED_PROXIES", "not-a-network");
        let err = Config::load(None).unwrap_err().to_string().to_lowercase();
        assert!(err.contains("trusted_proxies"), "{err}");
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn signing_algorithms_come_as_a_list_and_keep_rs256() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TESSERA_KEYS__ALGORITHMS", "RS256, EdDSA");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.keys.algorithms, [SigningAlg::Rs256, SigningAlg::EdDsa]);
        jail.set_env("TESSERA_KEYS__ALGORITHMS", "ES256");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("TESSERA_KEYS__ALGORITHMS") && err.contains("RS256"),
            "{err}"
        );
        jail.set_env("TESSERA_KEYS__ALGORITHMS", "RS256,HS256");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("HS256"), "{err}");
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn environment_strings_stay_as_written() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TESSERA_SMS__FROM_NUMBER", "+15005550006");
        jail.set_env("TESSERA_SMS__ACCOUNT_SID", "0123");
        jail.set_env("TESSERA_CAPTCHA__SITE_KEY", "12345");
        jail.set_env("TESSERA_SECRET_KEY", "01234567890123456789012345678901234");
        jail.set_env("TESSERA_BOOTSTRAP_ADMIN_EMAIL", "true");
        jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "900");
        jail.set_env("TESSERA_TOKENS__REVOKE_PRIVATE_TOKENS_ON_DISABLE", "false");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.sms.from_number, "+15005550006");
        assert_eq!(config.sms.account_sid, "0123");
        assert_eq!(config.captcha.site_key, "12345");
        assert_eq!(
            config.secret_key.as_ref().map(Secret::expose),
            Some("01234567890123456789012345678901234")
        );
        assert_eq!(config.bootstrap_admin_email.as_deref(), Some("true"));
        assert_eq!(config.tokens.access_token_ttl_secs, 900);
        assert!(!config.tokens.revoke_private_tokens_on_disable);
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn api_user_create_scope_is_an_alias_and_unknown_values_stop_start_up() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("API_USER_CREATE_SCOPE", "admin");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.user_create_scope, UserCreateScope::Admin);
        jail.set_env("TESSERA_USER_CREATE_SCOPE", "public");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(
            config.user_create_scope,
            UserCreateScope::Public,
            "the prefixed name wins"
        );

        jail.set_env("TESSERA_USER_CREATE_SCOPE", "everyone");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("TESSERA_USER_CREATE_SCOPE") && err.contains("everyone"),
            "{err}"
        );
        jail.set_env("TESSERA_USER_CREATE_SCOPE", "");
        jail.set_env("API_USER_CREATE_SCOPE", "Admins");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("API_USER_CREATE_SCOPE"), "{err}");
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn errors_name_the_setting_where_it_was_written() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("tessera.toml", "[tokens]\naccess_token_ttl_secs = \"an hour\"\n")?;
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("tokens.access_token_ttl_secs in") && err.contains("tessera.toml"),
            "{err}"
        );
        jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "soon");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS"), "{err}");
        jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "60");

        jail.create_file("tessera.toml", "[server]\nissuer = \"https://id.example.test/\"\n")?;
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("server.issuer in") && err.contains("tessera.toml"),
            "{err}"
        );
        jail.set_env("TESSERA_SERVER__ISSUER", "https://id.example.test?x=1");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("TESSERA_SERVER__ISSUER (server.issuer)"), "{err}");
        jail.set_env("TESSERA_SERVER__ISSUER", "https://id.example.test");
        jail.set_env("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS", "0");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("USER_SIGNUP_RATE_LIMIT_IP_WINDOW_MS"), "{err}");
        jail.set_env("TESSERA_SMS__FROM_NUMBERS", "+1");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("TESSERA_SMS__FROM_NUMBERS"), "{err}");
        Ok(())
    });
}

#[test]
fn secrets_do_not_print() {
    let secret = Secret::new("hunter2-hunter2");
    assert!(!format!("{secret:?}").contains("hunter2"));
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn environment_overrides_file_and_names_bad_keys() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("tessera.toml", "[server]\nbind = \"127.0.0.1:9000\"\n")?;
        jail.set_env("TESSERA_DATABASE__URL", "postgres://db/tessera");
        jail.set_env("TESSERA_USER_CREATE_SCOPE", "admin");
        jail.set_env("TESSERA_SECRET_KEY", "12345678901234567890123456789012");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.issuer(), "http://127.0.0.1:9000");
        assert_eq!(config.database.url, "postgres://db/tessera");
        assert_eq!(config.user_create_scope, UserCreateScope::Admin);
        assert_eq!(config.secret_key.unwrap().expose(), "12345678901234567890123456789012");

        jail.set_env("TESSERA_TOKENS__ACCESS_TOKEN_TTL_SECS", "soon");
        let err = Config::load(None).unwrap_err().to_string().to_lowercase();
        assert!(err.contains("tokens.access_token_ttl_secs"), "{err}");
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn application_defaults_come_as_lists_from_the_environment() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TESSERA_APPS__DEFAULT_LOGIN_METHODS", "password, email_code");
        jail.set_env("TESSERA_APPS__DEFAULT_VERIFICATION_CHANNELS", "email");
        jail.set_env("TESSERA_EMAIL__TRANSPORT", "log");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(
            config.apps.default_login_methods,
            [
                crate::config::LoginMethod::Password,
                crate::config::LoginMethod::EmailCode
            ]
        );
        assert_eq!(
            config.apps.default_verification_channels,
            [crate::config::ContactChannel::Email]
        );
        jail.set_env("TESSERA_APPS__DEFAULT_LOGIN_METHODS", "sms_code");
        let refused = Config::load(None).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused.contains("default_login_methods"), "{refused}");
        jail.set_env("TESSERA_APPS__DEFAULT_LOGIN_METHODS", "carrier_pigeon");
        assert!(Config::load(None).is_err());
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn upstream_providers_come_from_the_file_and_are_checked() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "tessera.toml",
            r#"
            [[federation.providers]]
            id = "google"
            kind = "google"
            client_id = "abc"
            client_secret = "shh"

            [[federation.providers]]
            id = "corp"
            issuer = "https://login.example.test/tenant/v2.0"
            client_id = "def"
            client_secret = "shh"
            allowed_domains = ["example.test"]
            "#,
        )?;
        let config = Config::load(None).map_err(|e| e.to_string())?;
        let [google, corp] = config.federation.providers.as_slice() else {
            panic!("two providers");
        };
        assert_eq!(google.issuer(), crate::config::GOOGLE_ISSUER);
        assert_eq!(google.display_name(), "Google");
        assert_eq!(corp.issuer(), "https://login.example.test/tenant/v2.0");
        assert_eq!(corp.scopes, ["email", "profile"]);
        assert!(!format!("{corp:?}").contains("shh"), "the secret does not print");

        for (bad, why) in [
            (r#"id = "Corp", issuer = "https://a.test""#, "an id is"),
            (r#"id = "corp", issuer = "http://login.example.test""#, "https://"),
            (r#"id = "corp", issuer = "not a url""#, "not a URL"),
            (r#"id = "corp", kind = "oidc""#, "not a URL"),
            (
                r#"id = "corp", issuer = "https://a.test", trusted_amr = ["MFA!"]"#,
                "trusted_amr",
            ),
        ] {
            jail.create_file(
                "tessera.toml",
                &format!(
                    "[[federation.providers]]\n{}\nclient_id = \"x\"\nclient_secret = \"y\"\n",
                    bad.replace(", ", "\n")
                ),
            )?;
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("federation.providers") && err.contains(why),
                "{bad}: {err}"
            );
        }
        jail.create_file(
            "tessera.toml",
            "[[federation.providers]]\nid = \"a\"\nkind = \"google\"\nclient_id = \"x\"\nclient_secret = \"y\"\n\
             [[federation.providers]]\nid = \"a\"\nkind = \"google\"\nclient_id = \"x\"\nclient_secret = \"y\"\n",
        )?;
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("configured twice"), "{err}");
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn upstream_providers_come_from_the_environment_by_id() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TESSERA_EMAIL__TRANSPORT", "log");
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__GOOGLE__KIND", "google");
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__GOOGLE__CLIENT_ID", "abc");
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__GOOGLE__CLIENT_SECRET", "shh");
        jail.set_env(
            "TESSERA_FEDERATION__PROVIDERS__GOOGLE__ALLOWED_DOMAINS",
            "example.test, example.org",
        );
        jail.set_env(
            "TESSERA_FEDERATION__PROVIDERS__CORP_SSO__ISSUER",
            "https://login.example.test/tenant/v2.0",
        );
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__CORP_SSO__CLIENT_ID", "def");
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__CORP_SSO__CLIENT_SECRET", "0123");
        jail.set_env(
            "TESSERA_FEDERATION__PROVIDERS__CORP_SSO__SCOPES",
            "email profile groups",
        );
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__CORP_SSO__TRUST_EMAIL", "true");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        let mut providers = config.federation.providers.clone();
        providers.sort_by(|a, b| a.id.cmp(&b.id));
        let [corp, google] = providers.as_slice() else {
            panic!("two providers: {providers:?}");
        };
        assert_eq!(corp.id, "corp-sso");
        assert_eq!(corp.issuer(), "https://login.example.test/tenant/v2.0");
        assert_eq!(corp.scopes, ["email", "profile", "groups"]);
        assert_eq!(corp.client_secret.expose(), "0123");
        assert!(corp.trust_email);
        assert_eq!(google.id, "google");
        assert_eq!(google.issuer(), crate::config::GOOGLE_ISSUER);
        assert_eq!(google.allowed_domains, ["example.test", "example.org"]);
        assert_eq!(google.scopes, ["email", "profile"]);

        jail.set_env(
            "TESSERA_FEDERATION__PROVIDERS__CORP_SSO__ISSUER",
            "http://login.example.test",
        );
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("https://"), "{err}");
        jail.set_env("TESSERA_FEDERATION__PROVIDERS__CORP_SSO__ID", "other");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("says its id is"), "{err}");
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn compatibility_profiles_are_off_until_they_name_an_application() {
    figment::Jail::expect_with(|jail| {
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(config.compat.appmixer.application.is_none());
        assert!(!config.compat.cellmobs.allow_query_credentials);
        jail.set_env("TESSERA_COMPAT__APPMIXER__APPLICATION", "shop");
        jail.set_env("TESSERA_COMPAT__CELLMOBS__APPLICATION", "default");
        jail.set_env("TESSERA_COMPAT__CELLMOBS__ALLOW_QUERY_CREDENTIALS", "true");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(config.compat.appmixer.application.as_deref(), Some("shop"));
        assert_eq!(config.compat.cellmobs.application.as_deref(), Some("default"));
        assert!(config.compat.cellmobs.allow_query_credentials);
        assert!(config.compat.emnify.application.is_none());
        Ok(())
    });
}

#[test]
fn connection_timeouts_are_bounded() {
    let mut config = Config::default();
    config.server.header_timeout_secs = 0;
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("TESSERA_SERVER__HEADER_TIMEOUT_SECS")
    );
    let mut config = Config::default();
    config.server.keep_alive_secs = 301;
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("server.keep_alive_secs")
    );
    let mut config = Config::default();
    config.server.shutdown_timeout_secs = 0;
    config.validate().unwrap();
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn metrics_come_from_the_environment_and_a_bad_bind_is_named() {
    figment::Jail::expect_with(|jail| {
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(!config.metrics.enabled);
        assert_eq!(config.metrics.bind_address(), None);

        jail.set_env("TESSERA_METRICS__ENABLED", "true");
        jail.set_env("TESSERA_METRICS__BIND", "127.0.0.1:9090");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(config.metrics.enabled);
        assert_eq!(config.metrics.bind_address(), Some("127.0.0.1:9090".parse().unwrap()));

        jail.set_env("TESSERA_METRICS__BIND", "");
        assert_eq!(Config::load(None).map_err(|e| e.to_string())?.metrics.bind, None);

        for bind in ["localhost", "127.0.0.1:8080"] {
            jail.set_env("TESSERA_METRICS__BIND", bind);
            let err = Config::load(None).unwrap_err().to_string();
            assert!(
                err.contains("TESSERA_METRICS__BIND") && err.contains("metrics.bind"),
                "{err}"
            );
        }
        Ok(())
    });
}

#[test]
#[expect(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
fn webhooks_come_from_the_environment_and_a_bad_value_is_named() {
    figment::Jail::expect_with(|jail| {
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(config.webhooks.enabled && !config.webhooks.allow_http);
        assert_eq!(config.webhooks.max_attempts, 8);

        jail.set_env("TESSERA_WEBHOOKS__ALLOW_HTTP", "true");
        jail.set_env("TESSERA_WEBHOOKS__MAX_ATTEMPTS", "3");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(config.webhooks.allow_http);
        assert_eq!(config.webhooks.max_attempts, 3);

        jail.set_env("TESSERA_WEBHOOKS__TIMEOUT_SECS", "0");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(
            err.contains("TESSERA_WEBHOOKS__TIMEOUT_SECS") && err.contains("webhooks.timeout_secs"),
            "{err}"
        );
        Ok(())
    });
}
