//! Request parameters of OAuth endpoints, from a query string or a form body, keeping duplicates visible
//! (RFC 6749 §3.1, §3.2: parameters MUST NOT be included more than once; empty ones count as absent).

/// The parameters of one request, in order (also as read from a form body by serde).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Params(Vec<(String, String)>);

/// A parameter that appeared more than once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duplicated(pub &'static str);

impl Params {
    /// Parses `application/x-www-form-urlencoded` text.
    pub fn parse(raw: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The value of `name`, `None` when absent or empty, an error when given more than once.
    pub fn get(&self, name: &'static str) -> Result<Option<&str>, Duplicated> {
        let mut values = self.0.iter().filter(|(key, value)| key == name && !value.is_empty());
        match (values.next(), values.next()) {
            (Some(_), Some(_)) => Err(Duplicated(name)),
            (first, None) => Ok(first.map(|(_, value)| value.as_str())),
            (None, Some(_)) => Ok(None),
        }
    }

    /// The first parameter that appears more than once, if any.
    pub fn first_duplicate(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (name, _))| {
            self.0[..i]
                .iter()
                .any(|(earlier, _)| earlier == name)
                .then_some(name.as_str())
        })
    }

    /// Whether `name` is present at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(key, _)| key == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_reported_and_empty_values_are_absent() {
        let params = Params::parse(b"state=a&state=b&scope=&client_id=c1&x=%20y");
        assert_eq!(params.get("state"), Err(Duplicated("state")));
        assert_eq!(params.get("scope"), Ok(None));
        assert_eq!(params.get("client_id"), Ok(Some("c1")));
        assert_eq!(params.get("x"), Ok(Some(" y")));
        assert_eq!(params.first_duplicate(), Some("state"));
        assert!(params.has("scope") && !params.has("nonce"));
    }
}
