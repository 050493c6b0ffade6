//! Why a refresh did not produce a usable token: typed, persisted, free of secrets.

use std::fmt;

use crate::protocol::error::Error;
use crate::protocol::known_secrets::KnownSecrets;

/// What kind of failure a refresh met.
///
/// ```
/// use line_channel_token::cache::{drive, Credentials, FailureKind, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("wrong"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// let _ = drive(&mut cache, || now, std::thread::sleep, send);
/// let failure = cache.last_failure().unwrap();
/// assert!(matches!(failure.kind, FailureKind::Refused { status: 400, .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// LINE answered with an error status: `status` and its `error` code (`invalid_client`)
    /// or `message`, when the body had one.
    Refused {
        /// The HTTP status.
        status: u16,
        /// `error`, or else `message`, of LINE's error body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// No response: DNS, connection, TLS or client timeout
    /// ([`TokenCache::handle_transport_failure`](super::TokenCache::handle_transport_failure)).
    Transport,
    /// The refresh was never reported back within the in-flight timeout.
    TimedOut,
    /// The client assertion could not be signed.
    Signing,
    /// LINE answered 2xx with something that is not a usable token: an unparsable body, an
    /// empty `access_token`, `expires_in` of zero, or a token that would be unusable (too
    /// short, or ending before the one already held).
    InvalidResponse {
        /// The HTTP status.
        status: u16,
    },
}

/// A refresh that did not produce a usable token. Its message never holds a secret.
///
/// ```
/// use line_channel_token::cache::{drive, Credentials, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("wrong"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// let _ = drive(&mut cache, || now, std::thread::sleep, send);
/// let failure = cache.last_failure().unwrap();
/// assert_eq!(failure.status(), Some(400));
/// assert!(!failure.message.contains("wrong")); // never the secret
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshFailure {
    /// The kind (in JSON, `kind` and its fields sit beside `message`).
    #[serde(flatten)]
    pub kind: FailureKind,
    /// What went wrong and what to do, for humans.
    pub message: String,
    /// Whether the cache retries with backoff (429, 5xx, transport, timeout, a token that
    /// arrived too late to use, unless the clock is ahead of LINE's by about its lifetime)
    /// or pauses for
    /// [`CacheConfig::failure_pause`](super::CacheConfig::failure_pause): fix the
    /// configuration.
    pub retryable: bool,
}

impl RefreshFailure {
    pub(super) fn new(kind: FailureKind, message: impl Into<String>, retryable: bool) -> Self {
        RefreshFailure {
            kind,
            message: message.into(),
            retryable,
        }
    }

    pub(super) fn transport() -> Self {
        RefreshFailure::new(
            FailureKind::Transport,
            "could not reach the LINE API (no response); retrying with backoff",
            true,
        )
    }

    pub(super) fn timed_out() -> Self {
        RefreshFailure::new(
            FailureKind::TimedOut,
            "the refresh was never reported back (in-flight timeout); retrying with backoff",
            true,
        )
    }

    pub(super) fn abandoned() -> Self {
        RefreshFailure::new(
            FailureKind::Transport,
            "the refresh was abandoned before LINE answered (the send panicked or its future \
             was dropped); retrying with backoff",
            true,
        )
    }

    pub(super) fn invalid(status: u16, why: &str) -> Self {
        RefreshFailure::new(
            FailureKind::InvalidResponse { status },
            format!("LINE's answer holds no usable token: {why}"),
            false,
        )
    }

    /// Replaces each secret, in any common encoding (text, URL-encoded, base64, hex, split
    /// into groups), with `[redacted]`, as the protocol layer marks credential-like text it
    /// redacts from error bodies: a server, or a proxy, may echo the request's secret in its
    /// error, and a failure is shown, logged and persisted.
    pub(super) fn redact(mut self, known: &KnownSecrets) -> Self {
        self.message = known.redact(&self.message);
        if let FailureKind::Refused { error: Some(e), .. } = &mut self.kind {
            *e = known.redact(e);
        }
        self
    }

    /// The HTTP status LINE answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            FailureKind::Refused { status, .. } | FailureKind::InvalidResponse { status } => {
                Some(status)
            }
            _ => None,
        }
    }
}

impl From<&Error> for RefreshFailure {
    /// Classifies a protocol error: an API error is a refusal, a bad 2xx body an invalid
    /// response.
    fn from(error: &Error) -> Self {
        let status = error.status().as_u16();
        let kind = match error.as_api() {
            Some(api) => FailureKind::Refused {
                status,
                error: api.error().or(api.message()).map(str::to_owned),
            },
            None => FailureKind::InvalidResponse { status },
        };
        RefreshFailure::new(kind, error.to_string(), error.is_retryable())
    }
}

impl fmt::Display for RefreshFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RefreshFailure {}
