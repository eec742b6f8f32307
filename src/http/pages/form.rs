//! Form bodies of the pages: `application/x-www-form-urlencoded`, at most 16 KiB, read within the body
//! timeout, without NUL characters; every refusal is an HTML error page with the fitting status.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::PageError;
use crate::http::body::read_form;

/// Largest form a page reads.
const MAX_PAGE_FORM: usize = 16 * 1024;

/// A page's form, as `T`.
pub struct PageForm<T>(pub T);

impl<T> std::ops::Deref for PageForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for PageForm<T> {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            // A bare POST with nothing in it (no content type, no body) is an empty form.
            let headers = req.headers();
            let bare = headers.get(header::CONTENT_TYPE).is_none()
                && headers
                    .get(header::CONTENT_LENGTH)
                    .is_none_or(|length| length.as_bytes() == b"0");
            let body = if bare {
                Bytes::new()
            } else {
                read_form(&req, &mut payload, MAX_PAGE_FORM)
                    .await
                    .map_err(PageError::from)?
            };
            serde_urlencoded::from_bytes(&body)
                .map(PageForm)
                .map_err(|_| PageError::bad_request("The form could not be read. Please go back and try again."))
        })
    }
}
