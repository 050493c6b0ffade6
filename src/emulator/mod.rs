//! A sans-IO emulator of LINE's channel access token API, for offline tests and demos.
//!
//! [`Emulator::handle`] takes the caller's `now` and an `http::Request` and returns the
//! `http::Response` LINE would: the same paths, bodies, limits and error shapes (as LINE
//! documents them at <https://developers.line.biz/en/reference/messaging-api/#channel-access-token>).
//! All state is in the value; there is no clock, socket or thread. Serve it over HTTP with
//! the `line-emulator` program (`examples/line-token`), or call it in-process.
//!
//! ```
//! use line_channel_token::emulator::Emulator;
//! use line_channel_token::{ApiBase, ChannelSecret, Endpoint, IssueShortLived, UnixTime};
//!
//! let mut line = Emulator::new();
//! line.add_channel("1234567890", ChannelSecret::new("s3cret"));
//! let secret = ChannelSecret::new("s3cret");
//! let request = IssueShortLived::new("1234567890", &secret).to_request(&ApiBase::default());
//! let response = line.handle(UnixTime::from_secs(1_700_000_000), &request);
//! let token = IssueShortLived::parse_response(&response).unwrap();
//! assert_eq!(token.expires_in, 30 * 24 * 3600);
//! ```
//!
//! Tokens are deterministic for a given seed ([`Emulator::with_seed`]), so tests are
//! reproducible. Stateless tokens are self-describing (channel, expiry and a MAC), like LINE's:
//! the emulator keeps no record of them and cannot revoke them.
//!
//! Inside, a request flows through `routing` (route, fault injection, parameters), then its
//! operation's handler in `handlers`, which authenticates with `auth`, mints with `material` and
//! answers with `reply`. `samples` holds one sample request per operation for tests. Every refusal is a row of the protocol layer's refusal table, so the client's hints
//! and the emulator's bodies come from the same place.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use http::header::HeaderValue;
use http::{Request, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::facts::{TokenKind, REQUEST_ID_HEADER};
use crate::jose::error::KeyError;
use crate::jose::jwk::PublicJwk;
use crate::protocol::http_date;
use crate::protocol::operation::Operation;
use crate::secret::ChannelSecret;
use crate::time::UnixTime;

mod auth;
mod handlers;
mod material;
mod reply;
mod routing;
mod samples;
#[cfg(all(test, feature = "os-rng"))]
mod tests;

pub use samples::{parse_response_as, sample_request, sample_response, SampleInputs};

/// The emulated LINE token server. See the [module docs](self).
///
/// ```
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{call, http, ApiBase, ChannelSecret, IssueStateless, Operation, UnixTime};
///
/// let mut line = Emulator::with_seed(42);
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// line.fail_next(Operation::IssueStateless, 1, http::StatusCode::SERVICE_UNAVAILABLE);
/// let now = UnixTime::from_secs(1_700_000_000);
/// let secret = ChannelSecret::new("s3cret");
/// let issue = IssueStateless::by_secret("1234567890", &secret);
/// let mut send = |req| Ok::<_, std::io::Error>(line.handle(now, &req));
/// assert!(call(&ApiBase::default(), &issue, &mut send).unwrap_err().is_retryable()); // the 503
/// let token = call(&ApiBase::default(), &issue, &mut send).unwrap();
/// assert_eq!(line.authorize(now, token.access_token.expose_secret()), Some("1234567890"));
/// ```
#[derive(Debug, Clone)]
pub struct Emulator {
    seed: [u8; 32],
    counter: u64,
    channels: BTreeMap<String, Channel>,
    /// kid -> channel id, as the Console assigns them.
    kids: HashMap<String, String>,
    /// Injected failures: the next `count` calls of an operation answer `status`.
    faults: HashMap<Operation, (u32, StatusCode)>,
    calls: HashMap<Operation, u64>,
}

#[derive(Debug, Clone)]
struct Channel {
    secret: ChannelSecret,
    keys: BTreeMap<String, PublicJwk>,
    /// Records of the tokens LINE keeps state for (all but stateless), oldest first.
    tokens: Vec<StoredToken>,
}

#[derive(Debug, Clone)]
struct StoredToken {
    access_token: String,
    kind: TokenKind,
    /// The `key_id` returned at issuance (v2.1 only).
    key_id: Option<String>,
    expires_at: Option<UnixTime>,
    revoked: bool,
}

impl StoredToken {
    fn active(&self, now: UnixTime) -> bool {
        !self.revoked && self.expires_at.is_none_or(|t| now < t)
    }
}

impl Channel {
    fn active(&self, kind: TokenKind, now: UnixTime) -> impl Iterator<Item = &StoredToken> {
        self.tokens
            .iter()
            .filter(move |t| t.kind == kind && t.active(now))
    }

    /// Forgets records that no answer depends on any more (each issuance prunes), so issuing
    /// over and over does not grow the emulator with dead records. A revoked or expired token
    /// answers "invalid" whether its record is kept or not, with one exception: v2.1 verify
    /// tells an expired token ("The access token expired") from an unknown one, so expired,
    /// unrevoked v2.1 records stay. Those grow by one per v2.1 token issued (the cap counts
    /// only active ones), which is bounded by what a test or demo issues; revoking frees them.
    fn prune(&mut self, now: UnixTime) {
        self.tokens
            .retain(|t| t.active(now) || (t.kind == TokenKind::V21 && !t.revoked));
    }
}

/// A refused administrative call (adding channels, registering keys).
///
/// ```
/// use line_channel_token::emulator::{Emulator, EmulatorError};
///
/// let err = Emulator::new().register_public_key("1234567890", "{}").unwrap_err();
/// assert!(matches!(err, EmulatorError::Key(_)));
/// println!("{err}"); // "the Console would refuse this public key: ..."
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmulatorError {
    /// No channel with that ID was added.
    UnknownChannel(String),
    /// The public key is not acceptable to the Console.
    Key(KeyError),
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmulatorError::UnknownChannel(id) => {
                write!(
                    f,
                    "no channel {id:?} in the emulator: add it with add_channel first"
                )
            }
            EmulatorError::Key(e) => write!(f, "the Console would refuse this public key: {e}"),
        }
    }
}

impl std::error::Error for EmulatorError {}

impl Default for Emulator {
    fn default() -> Self {
        Emulator::new()
    }
}

impl Emulator {
    /// An emulator with no channels and a fixed seed.
    pub fn new() -> Emulator {
        Emulator::with_seed(0)
    }

    /// An emulator whose tokens, key ids and request ids derive from `seed`.
    pub fn with_seed(seed: u64) -> Emulator {
        let mut s = [0u8; 32];
        s.copy_from_slice(&Sha256::digest(seed.to_be_bytes()));
        Emulator {
            seed: s,
            counter: 0,
            channels: BTreeMap::new(),
            kids: HashMap::new(),
            faults: HashMap::new(),
            calls: HashMap::new(),
        }
    }

    /// Adds (or replaces the secret of) a channel.
    pub fn add_channel(&mut self, channel_id: &str, secret: ChannelSecret) {
        match self.channels.get_mut(channel_id) {
            Some(c) => c.secret = secret,
            None => {
                self.channels.insert(
                    channel_id.to_owned(),
                    Channel {
                        secret,
                        keys: BTreeMap::new(),
                        tokens: Vec::new(),
                    },
                );
            }
        }
    }

    /// Registers a public key as the Console does (**Basic settings → Assertion Signing Key**)
    /// and returns the `kid` it assigns. Refuses what the Console refuses: a JWK with a `kid`,
    /// private members, another algorithm, or a modulus other than 2048 bits.
    ///
    /// # Errors
    ///
    /// [`EmulatorError::Key`] for a key the Console refuses, [`EmulatorError::UnknownChannel`]
    /// for a channel not added with [`Emulator::add_channel`].
    ///
    /// ```
    /// # #[cfg(feature = "os-rng")] {
    /// use line_channel_token::emulator::{Emulator, EmulatorError};
    /// use line_channel_token::{ChannelSecret, SigningKey};
    ///
    /// let key = SigningKey::parse(include_str!("../../tests/keys/line-docs-pyjwt.jwk.json")).unwrap();
    /// let mut line = Emulator::new();
    /// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
    /// let kid = line.register_public_key("1234567890", &key.public_jwk().to_json()).unwrap();
    /// assert!(!kid.is_empty()); // sign assertions with this `kid`
    /// let err = line.register_public_key("1234567890", &key.to_private_jwk()).unwrap_err();
    /// assert!(matches!(err, EmulatorError::Key(_))); // the Console refuses a private key
    /// # }
    /// ```
    pub fn register_public_key(
        &mut self,
        channel_id: &str,
        public_jwk_json: &str,
    ) -> Result<String, EmulatorError> {
        let jwk = PublicJwk::from_console_json(public_jwk_json).map_err(EmulatorError::Key)?;
        if !self.channels.contains_key(channel_id) {
            return Err(EmulatorError::UnknownChannel(channel_id.to_owned()));
        }
        let kid = self.uuid();
        self.kids.insert(kid.clone(), channel_id.to_owned());
        if let Some(c) = self.channels.get_mut(channel_id) {
            c.keys.insert(kid.clone(), jwk);
        }
        Ok(kid)
    }

    /// Issues a long-lived token, as only the Console can (one per channel: a new one replaces
    /// the old).
    ///
    /// # Errors
    ///
    /// [`EmulatorError::UnknownChannel`] for a channel not added with
    /// [`Emulator::add_channel`].
    ///
    /// ```
    /// use line_channel_token::emulator::{Emulator, EmulatorError};
    /// use line_channel_token::{ChannelSecret, UnixTime};
    ///
    /// let mut line = Emulator::new();
    /// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
    /// let token = line.issue_long_lived("1234567890").unwrap();
    /// assert_eq!(line.authorize(UnixTime::from_secs(0), &token), Some("1234567890"));
    /// let err = line.issue_long_lived("999").unwrap_err();
    /// assert_eq!(err, EmulatorError::UnknownChannel("999".into()));
    /// ```
    pub fn issue_long_lived(&mut self, channel_id: &str) -> Result<String, EmulatorError> {
        if !self.channels.contains_key(channel_id) {
            return Err(EmulatorError::UnknownChannel(channel_id.to_owned()));
        }
        let token = self.opaque_token();
        let channel = self
            .channels
            .get_mut(channel_id)
            .ok_or_else(|| EmulatorError::UnknownChannel(channel_id.to_owned()))?;
        for t in channel
            .tokens
            .iter_mut()
            .filter(|t| t.kind == TokenKind::LongLived)
        {
            t.revoked = true;
        }
        channel.tokens.push(StoredToken {
            access_token: token.clone(),
            kind: TokenKind::LongLived,
            key_id: None,
            expires_at: None,
            revoked: false,
        });
        Ok(token)
    }

    /// Makes the next `count` calls of `operation` answer `status` (e.g. 429 or 500) without
    /// touching any state, to exercise retries and backoff.
    pub fn fail_next(&mut self, operation: Operation, count: u32, status: StatusCode) {
        self.faults.insert(operation, (count, status));
    }

    /// How many requests for `operation` have been handled (including injected failures).
    pub fn calls(&self, operation: Operation) -> u64 {
        self.calls.get(&operation).copied().unwrap_or(0)
    }

    /// The active tokens of a channel at `now`: (kind, expiry) pairs, oldest first. Stateless
    /// tokens are not listed: LINE keeps no record of them.
    pub fn active_tokens(
        &self,
        channel_id: &str,
        now: UnixTime,
    ) -> Vec<(TokenKind, Option<UnixTime>)> {
        self.channels
            .get(channel_id)
            .map(|c| {
                c.tokens
                    .iter()
                    .filter(|t| t.active(now))
                    .map(|t| (t.kind, t.expires_at))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The channel a bearer token authorises at `now`, if any: what a Messaging API endpoint
    /// would check. Works for every token type, stateless included.
    pub fn authorize(&self, now: UnixTime, bearer_token: &str) -> Option<&str> {
        if let Some((channel, expires_at)) = self.open_stateless(bearer_token) {
            return (now < expires_at).then_some(self.channels.get_key_value(&channel)?.0.as_str());
        }
        self.channels.iter().find_map(|(id, c)| {
            c.tokens
                .iter()
                .any(|t| t.access_token == bearer_token && t.active(now))
                .then_some(id.as_str())
        })
    }

    /// Handles one request at `now`, exactly as LINE would answer it, with an
    /// `X-Line-Request-Id` and a `Date` (`now`, as an IMF-fixdate) on every answer. Never
    /// panics.
    pub fn handle<B: AsRef<[u8]>>(
        &mut self,
        now: UnixTime,
        request: &Request<B>,
    ) -> Response<Vec<u8>> {
        self.counter = self.counter.wrapping_add(1);
        let request_id = self.request_id();
        let mut reply = self.route(now, request);
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            reply.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        if let Ok(v) = HeaderValue::from_str(&http_date::format(now)) {
            reply.headers_mut().insert(http::header::DATE, v);
        }
        reply
    }
}
