//! The protocol layer's error: what a LINE response can go wrong with.

use std::fmt;

use http::StatusCode;

use crate::protocol::endpoints::Operation;

/// Why a LINE response did not become the typed output of its endpoint.
///
/// Either LINE answered with an error ([`ApiError`]: non-2xx status), or it answered 2xx with a
/// body that is not what the endpoint documents ([`DecodeError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub(crate) operation: Operation,
    pub(crate) status: StatusCode,
    pub(crate) request_id: Option<String>,
    pub(crate) body: ErrorBody,
}

/// The body of a LINE error response.
///
/// The channel access token endpoints use both of LINE's shapes: OAuth-style
/// `{"error", "error_description"}` (e.g. `invalid_client`) and Messaging-API-style
/// `{"message", "details"}` (e.g. "The maximum number of access tokens has already been issued").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorBody {
    /// `{"error": "invalid_client", "error_description": "invalid client_secret"}`.
    OAuth {
        /// `error`: the error code, e.g. `invalid_request`, `invalid_client`.
        error: String,
        /// `error_description`: "Not returned in certain situations".
        error_description: Option<String>,
    },
    /// `{"message": "...", "details": [{"message": "...", "property": "..."}]}`.
    Message {
        /// `message`: the summary.
        message: String,
        /// `details`: per-property problems, often absent.
        details: Vec<ErrorDetail>,
    },
    /// A body in neither shape (an HTML 502 page from a proxy, an empty 429): the first bytes of
    /// it, lossily decoded, at most [`ErrorBody::EXCERPT_LIMIT`] bytes.
    Unrecognized {
        /// The start of the body.
        excerpt: String,
    },
}

impl ErrorBody {
    /// How much of an unrecognised body is kept.
    pub const EXCERPT_LIMIT: usize = 256;
}

/// One entry of a `details` array.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDetail {
    /// `message`.
    pub message: Option<String>,
    /// `property`: the request field at fault.
    pub property: Option<String>,
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

    /// What the caller should do about it, for the common documented cases.
    fn advice(&self) -> Option<&'static str> {
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            return Some("rate limited: retry later with backoff, and reuse tokens instead of issuing per request");
        }
        if self.status.is_server_error() {
            return Some("LINE or a proxy failed: retry later with backoff");
        }
        let text = match &self.body {
            ErrorBody::OAuth {
                error,
                error_description,
            } => format!("{error} {}", error_description.as_deref().unwrap_or("")),
            ErrorBody::Message { message, .. } => message.clone(),
            ErrorBody::Unrecognized { .. } => String::new(),
        };
        let text = text.to_ascii_lowercase();
        if text.contains("client_secret")
            || text.contains("client_id")
            || text.contains("client_credentials")
        {
            Some("check the channel ID and channel secret in the LINE Developers Console (Basic settings)")
        } else if text.contains("maximum number of access tokens") {
            Some("30 v2.1 tokens are active: revoke unused ones (list them with the key-ids endpoint) or wait for some to expire")
        } else if text.contains("channel key") || text.contains("iss and clientid") {
            Some("check the kid and the channel ID, and that the public key is registered on this channel in the LINE Developers Console")
        } else if text.contains("exp") && !text.contains("expired") {
            Some("the client assertion is expired or expires more than 30 minutes ahead: sign a fresh one with a correct clock")
        } else if text.contains("access_token") || text.contains("access token") {
            Some("the access token is invalid, expired or of another type: issue a new one")
        } else {
            None
        }
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
        if let Some(advice) = self.advice() {
            write!(f, " ({advice})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// A 2xx response whose body is not the endpoint's documented output.
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

    /// What did not parse (serde's description: the missing field or wrong type, and where).
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
