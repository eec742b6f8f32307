//! How an authorization response travels back to the client: in the redirect URI's query (RFC 6749 §4.1.2),
//! in its fragment (OAuth 2.0 Multiple Response Type Encoding Practices §2.1), or as an auto-submitted HTML
//! form POSTed to it (OAuth 2.0 Form Post Response Mode). Errors travel the same way as codes.

use serde::{Deserialize, Serialize};

/// A `response_mode` Tessera answers in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// The parameters in the redirect URI's query (the default for `response_type=code`).
    #[default]
    Query,
    /// The parameters in the redirect URI's fragment.
    Fragment,
    /// The parameters in a form the browser POSTs to the redirect URI.
    FormPost,
}

impl ResponseMode {
    pub const ALL: [Self; 3] = [Self::Query, Self::Fragment, Self::FormPost];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == text)
    }
}

/// An authorization response (a code or an error) on its way to a registered redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The redirect URI exactly as registered and requested.
    pub redirect_uri: String,
    pub mode: ResponseMode,
    /// The response parameters, in order (`code` or `error`…, `state`, `iss`).
    pub params: Vec<(&'static str, String)>,
}

impl AuthorizationResponse {
    /// Where the browser goes for `query` and `fragment`; `None` for `form_post`, which is a page instead.
    /// RFC 6749 §3.1.2: a query the redirect URI already has is kept.
    pub fn location(&self) -> Option<String> {
        let encoded = || {
            let mut serializer = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in &self.params {
                serializer.append_pair(name, value);
            }
            serializer.finish()
        };
        match self.mode {
            ResponseMode::Query => {
                let separator = if self.redirect_uri.contains('?') { '&' } else { '?' };
                Some(format!("{}{separator}{}", self.redirect_uri, encoded()))
            }
            ResponseMode::Fragment => Some(format!("{}#{}", self.redirect_uri, encoded())),
            ResponseMode::FormPost => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(mode: ResponseMode, redirect_uri: &str) -> AuthorizationResponse {
        AuthorizationResponse {
            redirect_uri: redirect_uri.into(),
            mode,
            params: vec![("code", "a b&c".into()), ("state", "S".into())],
        }
    }

    #[test]
    fn query_and_fragment_encode_the_parameters_on_the_redirect_uri() {
        assert_eq!(
            response(ResponseMode::Query, "https://rp.test/cb").location().unwrap(),
            "https://rp.test/cb?code=a+b%26c&state=S"
        );
        assert_eq!(
            response(ResponseMode::Query, "https://rp.test/cb?x=1")
                .location()
                .unwrap(),
            "https://rp.test/cb?x=1&code=a+b%26c&state=S"
        );
        assert_eq!(
            response(ResponseMode::Fragment, "https://rp.test/cb?x=1")
                .location()
                .unwrap(),
            "https://rp.test/cb?x=1#code=a+b%26c&state=S"
        );
        assert_eq!(response(ResponseMode::FormPost, "https://rp.test/cb").location(), None);
    }

    #[test]
    fn modes_parse_by_their_wire_names_only() {
        for mode in ResponseMode::ALL {
            assert_eq!(ResponseMode::parse(mode.as_str()), Some(mode));
        }
        for other in ["Query", "form-post", "jwt", "query.jwt", ""] {
            assert_eq!(ResponseMode::parse(other), None, "{other}");
        }
    }
}
