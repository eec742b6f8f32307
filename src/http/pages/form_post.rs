//! The Form Post Response Mode (OAuth 2.0 Form Post Response Mode §2): the authorization response as a page
//! whose form the browser POSTs to the client's redirect URI — at once by a one-line script, or by a button
//! when scripts are off. The page's CSP allows exactly that script (by its hash) and a form to exactly that
//! redirect URI.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{PageError, render};
use crate::oidc::response_mode::AuthorizationResponse;

/// The whole script of the page: submit the one form.
const SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

/// `'sha256-…'` of [`SUBMIT_SCRIPT`], the only script the page's CSP allows.
static SCRIPT_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, SUBMIT_SCRIPT.as_bytes());
    format!("'sha256-{}'", STANDARD.encode(digest.as_ref()))
});

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    params: &'a [(&'static str, String)],
}

/// The page that POSTs `response` to its redirect URI.
pub fn respond(response: &AuthorizationResponse) -> Result<HttpResponse, PageError> {
    let csp = format!(
        "default-src 'none'; style-src 'self'; script-src {}; form-action {}; frame-ancestors 'none'; \
         base-uri 'none'",
        *SCRIPT_HASH,
        csp_source(&response.redirect_uri)
    );
    let mut builder = HttpResponse::build(StatusCode::OK);
    builder
        .insert_header(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, csp));
    render(
        builder,
        &FormPostPage {
            action: &response.redirect_uri,
            params: &response.params,
        },
    )
}

/// The redirect URI as a CSP source expression: scheme, host, port and path, without the query (CSP matches
/// paths only) and with the characters that separate CSP values percent-encoded.
fn csp_source(redirect_uri: &str) -> String {
    let Ok(url) = url::Url::parse(redirect_uri) else {
        return "'none'".into();
    };
    let origin = url.origin().ascii_serialization();
    let path: String = url
        .path()
        .chars()
        .map(|c| match c {
            ';' => "%3B".to_owned(),
            ',' => "%2C".to_owned(),
            '\'' => "%27".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!("{origin}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_may_go_to_the_redirect_uri_only() {
        assert_eq!(csp_source("https://rp.test/cb?x=1"), "https://rp.test/cb");
        assert_eq!(csp_source("http://127.0.0.1:8000/cb"), "http://127.0.0.1:8000/cb");
        assert_eq!(csp_source("https://rp.test:443/a;b,c"), "https://rp.test/a%3Bb%2Cc");
        assert_eq!(csp_source("not a uri"), "'none'");
    }

    #[test]
    fn the_script_hash_is_of_the_script() {
        assert!(SCRIPT_HASH.starts_with("'sha256-") && SCRIPT_HASH.ends_with("='"));
    }
}
