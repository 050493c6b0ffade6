//! The protocol layer's error: what a LINE response can go wrong with.

use std::fmt;

use http::StatusCode;

use crate::protocol::error_body::{ErrorBody, ErrorDetail};
use crate::protocol::known_secrets::KnownSecrets;
use crate::protocol::operation::Operation;
use crate::protocol::refusal;

/// Why a LINE response did not become the typed output of its endpoint.
///
/// Either LINE answered with an error ([`ApiError`]: non-2xx status), or it answered 2xx with a
/// body that is not what the endpoint documents ([`DecodeError`]). More kinds may be added,
/// so match with a wildcard arm.
///
/// ```
/// use line_channel_token::{http, Endpoint, Error, Verify};
///
/// let response = http::Response::builder()
///     .status(400)
///     .body(br#"{"error":"invalid_request","error_description":"access token expired"}"#)
///     .unwrap();
/// let err = Verify::parse_response(&response).unwrap_err();
/// assert!(!err.is_retryable()); // the same request fails the same way again
/// assert_eq!(err.status(), 400);
/// match &err {
///     Error::Api(api) => assert_eq!(api.error(), Some("invalid_request")),
///     other => panic!("{other}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// LINE (or a proxy in front of it) answered with a non-2xx status.
    Api(ApiError),
    /// A 2xx response whose body does not parse as the endpoint's documented output.
    Decode(DecodeError),
}

impl Error {
    /// Whether trying again later may succeed: HTTP 429 (rate limited) and 5xx (server trouble).
    /// A bad secret, an unknown `kid` or a malformed token will fail the same way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(e) => e.is_retryable(),
            Error::Decode(_) => false,
        }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Api(e) => e.status,
            Error::Decode(e) => e.status,
        }
    }

    /// The `X-Line-Request-Id` of the response, if it had one: quote it to LINE support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
        }
    }

    /// The endpoint whose response this is.
    pub fn operation(&self) -> Operation {
        match self {
            Error::Api(e) => e.operation,
            Error::Decode(e) => e.operation,
        }
    }

    /// The API error, if this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            Error::Decode(_) => None,
        }
    }

    /// This error with every known secret, in any encoding, redacted from the text a server
    /// sent (its body's fields and its request id).
    pub(crate) fn redact_known(self, known: &KnownSecrets) -> Error {
        if known.is_empty() {
            return self;
        }
        let r = |s: &mut String| *s = known.redact(s);
        match self {
            Error::Api(mut e) => {
                e.request_id.iter_mut().for_each(r);
                match &mut e.body {
                    ErrorBody::OAuth {
                        error,
                        error_description,
                    } => {
                        r(error);
                        error_description.iter_mut().for_each(r);
                    }
                    ErrorBody::Message { message, details } => {
                        r(message);
                        for d in details {
                            d.message.iter_mut().for_each(r);
                            d.property.iter_mut().for_each(r);
                        }
                    }
                    ErrorBody::Unrecognized { excerpt } => r(excerpt),
                }
                Error::Api(e)
            }
            Error::Decode(mut e) => {
                e.request_id.iter_mut().for_each(r);
                e.reason = known.redact(&e.reason);
                Error::Decode(e)
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => e.fmt(f),
            Error::Decode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// LINE's answer to a request it did not accept: the status, the body in whichever of LINE's two
/// error shapes it came, and the request id.
///
/// ```
/// use line_channel_token::{http, Endpoint, IssueShortLived};
///
/// let response = http::Response::builder()
///     .status(400)
///     .header("x-line-request-id", "req-1")
///     .body(br#"{"error":"invalid_client","error_description":"invalid client_secret"}"#)
///     .unwrap();
/// let err = IssueShortLived::parse_response(&response).unwrap_err();
/// let api = err.as_api().unwrap();
/// assert_eq!(api.error_description(), Some("invalid client_secret"));
/// assert_eq!(api.request_id(), Some("req-1")); // quote it to LINE's support
/// assert!(api.hint().is_some()); // what to do, also in `Display`
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) operation: Operation,
    pub(crate) status: StatusCode,
    pub(crate) request_id: Option<String>,
    pub(crate) body: ErrorBody,
}

impl ApiError {
    /// The endpoint that answered.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `X-Line-Request-Id` header, if present.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The parsed body.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }

    /// The OAuth-style `error` code, if the body has that shape.
    pub fn error(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The OAuth-style `error_description`, if present.
    pub fn error_description(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::OAuth {
                error_description, ..
            } => error_description.as_deref(),
            _ => None,
        }
    }

    /// The Messaging-API-style `message`, if the body has that shape.
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            ErrorBody::Message { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The Messaging-API-style `details` (empty for other shapes).
    pub fn details(&self) -> &[ErrorDetail] {
        match &self.body {
            ErrorBody::Message { details, .. } => details,
            _ => &[],
        }
    }

    /// HTTP 429 or 5xx: worth retrying with backoff.
    pub fn is_retryable(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error()
    }

    /// What to do about it, for LINE's documented refusals, rate limits (429) and server
    /// trouble (5xx); `None` for a body LINE does not document.
    ///
    /// The hint comes from an exact table keyed on the status, `error` and
    /// `error_description` (or `message`), never from guessing at substrings.
    ///
    /// ```
    /// use line_channel_token::http;
    /// use line_channel_token::{Endpoint, IssueV21};
    /// let response = http::Response::builder()
    ///     .status(400)
    ///     .body(r#"{"error":"invalid_request","error_description":"Invalid token_exp"}"#)
    ///     .unwrap();
    /// let error = IssueV21::parse_response(&response).unwrap_err();
    /// assert!(error.as_api().unwrap().hint().unwrap().contains("token_exp"));
    /// ```
    pub fn hint(&self) -> Option<&'static str> {
        refusal::hint(self.status, &self.body)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LINE refused {} with HTTP {}",
            self.operation, self.status
        )?;
        match &self.body {
            ErrorBody::OAuth {
                error,
                error_description,
            } => {
                write!(f, ": {error}")?;
                if let Some(d) = error_description {
                    write!(f, ": {d}")?;
                }
            }
            ErrorBody::Message { message, details } => {
                write!(f, ": {message}")?;
                for d in details {
                    match (&d.property, &d.message) {
                        (Some(p), Some(m)) => write!(f, "; {p}: {m}")?,
                        (None, Some(m)) => write!(f, "; {m}")?,
                        (Some(p), None) => write!(f, "; {p}")?,
                        (None, None) => {}
                    }
                }
            }
            ErrorBody::Unrecognized { excerpt } if excerpt.trim().is_empty() => {
                write!(f, " and an empty body")?
            }
            ErrorBody::Unrecognized { excerpt } => write!(f, ": {:?}", excerpt.trim())?,
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A 2xx response whose body is not the endpoint's documented output.
///
/// ```
/// use line_channel_token::{http, Endpoint, Error, Verify};
///
/// // A 200 whose body is not what the endpoint documents (here, a captive portal's page).
/// let response = http::Response::builder().status(200).body(b"<html>Sign in</html>").unwrap();
/// match Verify::parse_response(&response).unwrap_err() {
///     Error::Decode(e) => assert!(!e.reason().is_empty()),
///     other => panic!("{other}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub(crate) operation: Operation,
    pub(crate) status: StatusCode,
    pub(crate) request_id: Option<String>,
    pub(crate) reason: String,
}

impl DecodeError {
    /// The endpoint whose response this is.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// What did not parse: the field and the type LINE documents for it, or where the JSON
    /// breaks. Never a value from the body (a server may echo a secret in a mistyped field).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unexpected response body from {} (HTTP {}): {}; is the API base pointing at LINE?",
            self.operation, self.status, self.reason
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeError {}
