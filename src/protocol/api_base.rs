//! Where requests go: the API base URL, parsed once.

use std::fmt;

use http::Uri;

use crate::protocol::operation::Operation;

/// The LINE API base that every request is built against.
///
/// The default is `https://api.line.me`. Any `http` or `https` base works, including one with a
/// path prefix (a proxy, or the emulator mounted under a path): `https://proxy.example/line`
/// sends short-lived issuance to `https://proxy.example/line/v2/oauth/accessToken`.
///
/// The base is validated once here, so building requests afterwards cannot fail.
///
/// ```
/// use line_channel_token::ApiBase;
/// let base = ApiBase::new("http://127.0.0.1:8080/line/").unwrap();
/// assert_eq!(base.as_str(), "http://127.0.0.1:8080/line");
/// assert_eq!(ApiBase::default().as_str(), "https://api.line.me");
/// assert!(ApiBase::new("api.line.me").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiBase {
    /// Scheme, authority and path prefix, without a trailing slash.
    base: String,
}

/// LINE's production API base.
pub const LINE_API_BASE: &str = "https://api.line.me";

impl ApiBase {
    /// Parses and checks a base URL: `http` or `https`, a host, an optional path prefix, and no
    /// query or fragment.
    ///
    /// # Errors
    ///
    /// [`InvalidApiBase`], whose message names the problem, for anything else: no scheme or
    /// another scheme, no host, user credentials, a query or fragment, or text that is not a
    /// URL.
    ///
    /// ```
    /// use line_channel_token::ApiBase;
    /// let emulator = ApiBase::new("http://127.0.0.1:8080").unwrap();
    /// assert_eq!(emulator.as_str(), "http://127.0.0.1:8080");
    /// let err = ApiBase::new("https://api.line.me/?debug=1").unwrap_err();
    /// assert!(err.to_string().contains("query"));
    /// ```
    pub fn new(base: &str) -> Result<ApiBase, InvalidApiBase> {
        let invalid = |reason: &'static str| InvalidApiBase {
            given: base.chars().take(200).collect(),
            reason,
        };
        let trimmed = base.trim().trim_end_matches('/');
        if trimmed.contains(['?', '#']) {
            return Err(invalid("a base URL cannot have a query or fragment"));
        }
        let uri: Uri = trimmed
            .parse()
            .map_err(|_| invalid("it is not a valid URL"))?;
        match uri.scheme_str() {
            Some("http") | Some("https") => {}
            Some(_) => return Err(invalid("the scheme must be http or https")),
            None => return Err(invalid("it needs a scheme, like https://")),
        }
        if uri.authority().is_none_or(|a| a.host().is_empty()) {
            return Err(invalid("it needs a host"));
        }
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(invalid("credentials in the URL are not supported"));
        }
        let api = ApiBase {
            base: trimmed.to_owned(),
        };
        // Every request URI is this base + a fixed path + a form-encoded query; prove once that
        // the combination parses, so `uri()` never has to fail.
        api.uri(Operation::Verify.path(), Some("a=b+%25*-._"))
            .ok_or_else(|| invalid("it does not combine with an endpoint path"))?;
        Ok(api)
    }

    /// The base, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The full URI of an endpoint path (which starts with `/`), with an encoded query.
    pub(crate) fn uri(&self, path: &str, query: Option<&str>) -> Option<Uri> {
        let mut s =
            String::with_capacity(self.base.len() + path.len() + 1 + query.map_or(0, str::len));
        s.push_str(&self.base);
        s.push_str(path);
        if let Some(q) = query {
            s.push('?');
            s.push_str(q);
        }
        Uri::try_from(s).ok()
    }
}

impl Default for ApiBase {
    fn default() -> Self {
        ApiBase {
            base: LINE_API_BASE.to_owned(),
        }
    }
}

impl fmt::Debug for ApiBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ApiBase").field(&self.base).finish()
    }
}

impl fmt::Display for ApiBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

impl std::str::FromStr for ApiBase {
    type Err = InvalidApiBase;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiBase::new(s)
    }
}

/// A base URL that [`ApiBase::new`] refused.
///
/// ```
/// use line_channel_token::{ApiBase, InvalidApiBase};
/// let err: InvalidApiBase = "ftp://api.line.me".parse::<ApiBase>().unwrap_err();
/// assert!(err.to_string().contains("the scheme must be http or https"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidApiBase {
    given: String,
    reason: &'static str,
}

impl fmt::Display for InvalidApiBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid API base URL {:?}: {}; give something like https://api.line.me or http://127.0.0.1:8080",
            self.given, self.reason
        )
    }
}

impl std::error::Error for InvalidApiBase {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_bases_with_prefix_and_port() {
        for (given, want) in [
            ("https://api.line.me", "https://api.line.me"),
            ("https://api.line.me/", "https://api.line.me"),
            ("http://127.0.0.1:9/x/y//", "http://127.0.0.1:9/x/y"),
            (" http://[::1]:80 ", "http://[::1]:80"),
        ] {
            assert_eq!(ApiBase::new(given).unwrap().as_str(), want, "{given}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_a_base() {
        for given in [
            "",
            "api.line.me",
            "ftp://api.line.me",
            "https://",
            "https://api.line.me/?x=1",
            "https://api.line.me/#f",
            "https://user:pw@api.line.me",
            "https://api line.me",
            "/v2",
        ] {
            let err = ApiBase::new(given).unwrap_err();
            assert!(
                err.to_string().contains("invalid API base URL"),
                "{given}: {err}"
            );
        }
    }

    #[test]
    fn uri_joins_prefix_path_and_query() {
        let api = ApiBase::new("http://h:1/p").unwrap();
        let uri = api
            .uri("/oauth2/v2.1/verify", Some("access_token=a%2Bb"))
            .unwrap();
        assert_eq!(
            uri.to_string(),
            "http://h:1/p/oauth2/v2.1/verify?access_token=a%2Bb"
        );
    }
}
