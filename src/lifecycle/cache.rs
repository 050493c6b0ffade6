//! A sans-IO token cache for one channel: refresh ahead of expiry, single flight, backoff.
//!
//! The cache never reads the clock, sleeps or sends anything. The caller drives it the way
//! quinn-proto and str0m are driven:
//!
//! 1. [`TokenCache::poll`] with `now` answers [`Poll::Ready`] (use this token),
//!    [`Poll::Refresh`] (send this request, then hand the response back),
//!    [`Poll::Wait`] (nothing usable yet: poll again at that time) or [`Poll::Failed`].
//! 2. The response goes back in through [`TokenCache::handle_response`] (or
//!    [`TokenCache::handle_transport_failure`] if there was none).
//! 3. [`TokenCache::next_deadline`] says when polling again can change anything.
//!
//! ```
//! use line_channel_token::cache::{Credentials, Poll, TokenCache};
//! use line_channel_token::emulator::Emulator;
//! use line_channel_token::{ApiBase, ChannelSecret, OsRng, UnixTime};
//!
//! let mut line = Emulator::new();
//! line.add_channel("1234567890", ChannelSecret::new("s3cret"));
//! let mut cache = TokenCache::new(
//!     ApiBase::default(),
//!     Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret")),
//! );
//! let now = UnixTime::from_secs(1_700_000_000);
//! let token = loop {
//!     match cache.poll(now, &mut OsRng) {
//!         Poll::Ready(token) => break token.clone(),
//!         Poll::Refresh(refresh) => {
//!             let response = line.handle(now, &refresh.request); // your HTTP client here
//!             let _ = cache.handle_response(refresh.ticket, now, &response, &mut OsRng);
//!         }
//!         Poll::Wait(until) => unreachable!("in real code: sleep until {until}"),
//!         Poll::Failed(failure) => panic!("{failure}"),
//!     }
//! };
//! assert_eq!(line.authorize(now, token.expose_secret()), Some("1234567890"));
//! ```
//!
//! State that matters across restarts and processes (the token, its expiry, the failure
//! count, the in-flight marker) is a serde value, [`CacheState`], with no channel secret or
//! key inside. Save it after every change ([`TokenCache::state`]) and [`TokenCache::restore`]
//! it on start.

use std::fmt;
use std::time::Duration;

use http::{Request, Response};
use rsa::rand_core::TryCryptoRng;

use crate::facts::{SHORT_LIVED_LIFETIME, STATELESS_LIFETIME};
use crate::jose::assertion::AssertionBuilder;
use crate::jose::key::SigningKey;
use crate::protocol::api_base::ApiBase;
use crate::protocol::endpoints::{Endpoint, IssueShortLived, IssueStateless, IssueV21};
use crate::protocol::error::Error;
use crate::protocol::token::IssuedToken;
use crate::secret::{AccessToken, ChannelSecret, ClientAssertion};
use crate::time::UnixTime;

/// Which kind of token the cache keeps: LINE's one token-kind enum. The cache keeps
/// stateless, short-lived and v2.1 tokens; [`Credentials`] cannot be built for long-lived ones.
pub use crate::facts::TokenKind as TokenType;

/// How the cache gets a token. Holds the channel secret or the signing key, which is why it
/// is not part of the persisted [`CacheState`].
#[derive(Debug, Clone)]
pub struct Credentials {
    channel_id: String,
    kind: CredentialKind,
}

#[derive(Debug, Clone)]
enum CredentialKind {
    StatelessSecret(ChannelSecret),
    StatelessJwt(AssertionBuilder, SigningKey),
    ShortLived(ChannelSecret),
    V21(AssertionBuilder, SigningKey),
}

impl Credentials {
    /// Stateless tokens, authenticated with the channel secret.
    pub fn stateless_by_secret(channel_id: impl Into<String>, secret: ChannelSecret) -> Self {
        Credentials {
            channel_id: channel_id.into(),
            kind: CredentialKind::StatelessSecret(secret),
        }
    }

    /// Stateless tokens, authenticated with a client assertion signed by `key` (kid `kid`).
    pub fn stateless_by_jwt(
        channel_id: impl Into<String>,
        kid: impl Into<String>,
        key: SigningKey,
    ) -> Self {
        let channel_id = channel_id.into();
        Credentials {
            kind: CredentialKind::StatelessJwt(AssertionBuilder::new(channel_id.clone(), kid), key),
            channel_id,
        }
    }

    /// Short-lived tokens (30 days), authenticated with the channel secret.
    pub fn short_lived(channel_id: impl Into<String>, secret: ChannelSecret) -> Self {
        Credentials {
            channel_id: channel_id.into(),
            kind: CredentialKind::ShortLived(secret),
        }
    }

    /// v2.1 tokens living `token_exp` (at most 30 days), authenticated with a client assertion.
    pub fn v2_1(
        channel_id: impl Into<String>,
        kid: impl Into<String>,
        key: SigningKey,
        token_exp: Duration,
    ) -> Self {
        let channel_id = channel_id.into();
        Credentials {
            kind: CredentialKind::V21(
                AssertionBuilder::new(channel_id.clone(), kid).token_exp(token_exp),
                key,
            ),
            channel_id,
        }
    }

    /// The channel.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// The token type these credentials issue.
    pub fn token_type(&self) -> TokenType {
        match self.kind {
            CredentialKind::StatelessSecret(_) | CredentialKind::StatelessJwt(..) => {
                TokenType::Stateless
            }
            CredentialKind::ShortLived(_) => TokenType::ShortLived,
            CredentialKind::V21(..) => TokenType::V21,
        }
    }

    /// The lifetime LINE gives this type of token.
    pub fn expected_lifetime(&self) -> Duration {
        match &self.kind {
            CredentialKind::StatelessSecret(_) | CredentialKind::StatelessJwt(..) => {
                STATELESS_LIFETIME
            }
            CredentialKind::ShortLived(_) => SHORT_LIVED_LIFETIME,
            CredentialKind::V21(b, _) => b
                .claims(UnixTime::EPOCH)
                .ok()
                .and_then(|c| c.token_exp)
                .map_or(Duration::ZERO, Duration::from_secs),
        }
    }
}

/// Timing policy. [`CacheConfig::for_lifetime`] gives sensible defaults per token type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheConfig {
    /// Refresh when the token has less than this left: 5 minutes for a 15-minute stateless
    /// token, one day for a 30-day token. (Never before half the token's life has passed.)
    pub refresh_before: Duration,
    /// Assume the caller's clock may be this far behind LINE's: a token is never handed out
    /// within this margin of its expiry.
    pub clock_skew: Duration,
    /// First retry delay after a retryable failure (429, 5xx, transport).
    pub backoff_base: Duration,
    /// The longest retry delay.
    pub backoff_cap: Duration,
    /// After a non-retryable failure (bad secret, unknown kid), how long before trying again.
    pub failure_pause: Duration,
    /// A refresh that has not reported back after this long is abandoned, so nothing wedges.
    pub in_flight_timeout: Duration,
}

impl CacheConfig {
    /// Defaults for a token of this lifetime: refresh when a third of it is left (at least one
    /// minute, at most one day), 30 s skew, backoff 1 s doubling to 60 s with jitter, 5 minutes
    /// after a non-retryable error, 30 s in-flight timeout.
    pub fn for_lifetime(lifetime: Duration) -> CacheConfig {
        CacheConfig {
            refresh_before: (lifetime / 3)
                .clamp(Duration::from_secs(60), Duration::from_secs(24 * 3600)),
            clock_skew: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            failure_pause: Duration::from_secs(300),
            in_flight_timeout: Duration::from_secs(30),
        }
    }
}

/// The token the cache holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedToken {
    /// The token (a secret: it is persisted, so protect the file).
    pub access_token: AccessToken,
    /// When it was issued, as far as the cache can tell: when the refresh was handed out.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
    /// The v2.1 `key_id`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// A refresh that did not produce a token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshFailure {
    /// What went wrong, for humans (never contains secrets).
    pub message: String,
    /// The HTTP status LINE answered with, if it answered.
    pub status: Option<u16>,
    /// Whether the cache retries with backoff (429, 5xx, transport) or pauses
    /// [`CacheConfig::failure_pause`] (anything else: fix the configuration).
    pub retryable: bool,
}

impl fmt::Display for RefreshFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Everything the cache knows that is worth persisting. No secrets but the access token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheState {
    /// The channel this state belongs to.
    pub channel_id: String,
    /// The token type this state belongs to.
    pub token_type: TokenType,
    /// The current token, if any.
    pub token: Option<CachedToken>,
    /// A refresh handed to some caller and not yet answered.
    pub in_flight: Option<InFlight>,
    /// Consecutive failed refreshes.
    pub failures: u32,
    /// No refresh before this time (backoff).
    pub retry_at: Option<UnixTime>,
    /// The last failure, until a refresh succeeds.
    pub last_failure: Option<RefreshFailure>,
    /// Issue counter for tickets.
    pub next_ticket: u64,
}

/// A refresh handed out by [`TokenCache::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InFlight {
    /// Its ticket.
    pub ticket: Ticket,
    /// When it was handed out.
    pub started: UnixTime,
}

/// Identifies one refresh, so its answer can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Ticket(pub u64);

/// What the caller should do now.
#[derive(Debug)]
pub enum Poll<'a> {
    /// Use this token. It is valid for at least the clock-skew margin.
    Ready(&'a AccessToken),
    /// Send this request and hand the response back. Only one caller gets this at a time.
    /// (Boxed: it is rare, and keeps the common answers small.)
    Refresh(Box<Refresh>),
    /// No usable token yet (a refresh is in flight or backing off): poll again at this time.
    Wait(UnixTime),
    /// The last refresh failed in a way retrying will not fix, and there is no valid token.
    /// The cache tries again after [`CacheConfig::failure_pause`]; see [`TokenCache::next_deadline`].
    Failed(&'a RefreshFailure),
}

/// A refresh to perform. Meanwhile, [`TokenCache::token`] still returns the current token
/// while it is valid.
///
/// The request's body holds the channel secret or a client assertion: `Debug` shows only the
/// method and URI, and the body is wiped when the `Refresh` is dropped. Take the request with
/// `std::mem::take(&mut refresh.request)` to send it; from then on it is yours.
pub struct Refresh {
    /// Hand this back with the response.
    pub ticket: Ticket,
    /// The request to send.
    pub request: Request<Vec<u8>>,
}

impl fmt::Debug for Refresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refresh")
            .field("ticket", &self.ticket)
            .field("method", self.request.method())
            .field("path", &self.request.uri().path())
            .field("body", &"<redacted>")
            .finish()
    }
}

impl Drop for Refresh {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(self.request.body_mut());
    }
}

/// One channel's token, kept warm. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct TokenCache {
    api: ApiBase,
    credentials: Credentials,
    config: CacheConfig,
    state: CacheState,
    /// The last signed assertion and its expiry: reused rather than signing per refresh.
    assertion: Option<(ClientAssertion, UnixTime)>,
}

impl TokenCache {
    /// A cache with the default [`CacheConfig`] for the credentials' token type.
    pub fn new(api: ApiBase, credentials: Credentials) -> TokenCache {
        let config = CacheConfig::for_lifetime(credentials.expected_lifetime());
        TokenCache::with_config(api, credentials, config)
    }

    /// A cache with an explicit policy.
    pub fn with_config(api: ApiBase, credentials: Credentials, config: CacheConfig) -> TokenCache {
        let state = CacheState {
            channel_id: credentials.channel_id.clone(),
            token_type: credentials.token_type(),
            token: None,
            in_flight: None,
            failures: 0,
            retry_at: None,
            last_failure: None,
            next_ticket: 1,
        };
        TokenCache {
            api,
            credentials,
            config,
            state,
            assertion: None,
        }
    }

    /// A cache resuming from saved state. State saved for another channel or token type is
    /// ignored (the cache starts empty): it would hold the wrong token.
    pub fn restore(
        api: ApiBase,
        credentials: Credentials,
        config: CacheConfig,
        state: CacheState,
    ) -> TokenCache {
        let mut cache = TokenCache::with_config(api, credentials, config);
        if state.channel_id == cache.state.channel_id && state.token_type == cache.state.token_type
        {
            cache.state = state;
        }
        cache
    }

    /// The persistable state.
    pub fn state(&self) -> &CacheState {
        &self.state
    }

    /// The policy.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// A token valid at `now` (with the skew margin), without starting a refresh: the cheap
    /// check for a hot path.
    pub fn token(&self, now: UnixTime) -> Option<&AccessToken> {
        self.valid(now).map(|t| &t.access_token)
    }

    fn valid(&self, now: UnixTime) -> Option<&CachedToken> {
        self.state
            .token
            .as_ref()
            .filter(|t| now + self.config.clock_skew < t.expires_at)
    }

    /// When the token is due for refresh (or `None` if there is no token): `refresh_before`
    /// plus the clock skew ahead of expiry, but never before half the token's life has
    /// passed, so no configuration can make the cache issue tokens in a loop.
    pub fn refresh_due_at(&self) -> Option<UnixTime> {
        let t = self.state.token.as_ref()?;
        let window = t.expires_at - self.config.refresh_before - self.config.clock_skew;
        let half_life = t.issued_at + (t.expires_at - t.issued_at) / 2;
        Some(window.max(half_life))
    }

    /// The next time polling can change anything: the refresh time, the end of a backoff, or
    /// the in-flight timeout. `None` means "poll now" (there is nothing to wait for).
    pub fn next_deadline(&self) -> Option<UnixTime> {
        if let Some(f) = &self.state.in_flight {
            return Some(f.started + self.config.in_flight_timeout);
        }
        let due = self.refresh_due_at();
        match (due, self.state.retry_at) {
            (Some(d), Some(r)) => Some(d.max(r)),
            (None, r) => r,
            (d, None) => d,
        }
    }

    /// Drops the current token (say a Messaging API call answered 401 with it), so the next
    /// poll refreshes.
    pub fn invalidate(&mut self) {
        self.state.token = None;
        self.state.retry_at = None;
    }

    /// Decides what the caller should do at `now`. `rng` blinds assertion signatures.
    pub fn poll(&mut self, now: UnixTime, rng: &mut impl TryCryptoRng) -> Poll<'_> {
        if let Some(f) = self.state.in_flight {
            if now >= f.started + self.config.in_flight_timeout {
                // Nobody reported back: count it as a retryable failure and move on.
                self.state.in_flight = None;
                self.record_failure(
                    now,
                    RefreshFailure {
                        message: "the refresh request never reported back (timed out)".into(),
                        status: None,
                        retryable: true,
                    },
                    rng,
                );
            }
        }
        let due = self.refresh_due_at().is_none_or(|d| now >= d);
        let backing_off = self.state.retry_at.is_some_and(|r| now < r);
        if !due || backing_off || self.state.in_flight.is_some() {
            return match self.valid(now) {
                Some(t) => Poll::Ready(&t.access_token),
                None => self.not_ready(now),
            };
        }
        match self.build_request(now, rng) {
            Ok(request) => {
                let ticket = Ticket(self.state.next_ticket);
                self.state.next_ticket += 1;
                self.state.in_flight = Some(InFlight {
                    ticket,
                    started: now,
                });
                Poll::Refresh(Box::new(Refresh { ticket, request }))
            }
            Err(failure) => {
                self.record_failure(now, failure, rng);
                match self.valid(now) {
                    Some(t) => Poll::Ready(&t.access_token),
                    None => self.not_ready(now),
                }
            }
        }
    }

    fn not_ready(&self, now: UnixTime) -> Poll<'_> {
        match (&self.state.last_failure, self.state.in_flight) {
            (_, Some(f)) => Poll::Wait(f.started + self.config.in_flight_timeout),
            (Some(failure), None) if !failure.retryable => Poll::Failed(failure),
            _ => Poll::Wait(self.state.retry_at.unwrap_or(now).max(now)),
        }
    }

    fn build_request(
        &mut self,
        now: UnixTime,
        rng: &mut impl TryCryptoRng,
    ) -> Result<Request<Vec<u8>>, RefreshFailure> {
        let channel_id = self.credentials.channel_id.as_str();
        Ok(match &self.credentials.kind {
            CredentialKind::StatelessSecret(secret) => {
                IssueStateless::by_secret(channel_id, secret).to_request(&self.api)
            }
            CredentialKind::ShortLived(secret) => {
                IssueShortLived::new(channel_id, secret).to_request(&self.api)
            }
            CredentialKind::StatelessJwt(builder, key) | CredentialKind::V21(builder, key) => {
                // Reuse the last assertion while it outlives this refresh; otherwise sign anew.
                let margin = self.config.clock_skew + self.config.in_flight_timeout;
                let (assertion, expires_at) =
                    match self.assertion.take().filter(|(_, exp)| now + margin < *exp) {
                        Some(reusable) => reusable,
                        None => {
                            let signed =
                                builder.sign(key, now, rng).map_err(|e| RefreshFailure {
                                    message: e.to_string(),
                                    status: None,
                                    retryable: false,
                                })?;
                            (signed, builder.expires_at(now))
                        }
                    };
                let request = match self.credentials.kind {
                    CredentialKind::V21(..) => IssueV21::new(&assertion).to_request(&self.api),
                    _ => IssueStateless::by_assertion(&assertion).to_request(&self.api),
                };
                self.assertion = Some((assertion, expires_at));
                request
            }
        })
    }

    /// Takes LINE's answer to a refresh. The token's expiry is counted from when the request
    /// was handed out, not from when the answer arrived, so a slow network can only make the
    /// cache refresh early, never hand out an expired token. An answer to a refresh that has
    /// already timed out is ignored: its token's age is unknown. Returns the protocol error,
    /// if any, for logging.
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        ticket: Ticket,
        now: UnixTime,
        response: &Response<B>,
        rng: &mut impl TryCryptoRng,
    ) -> Result<(), Error> {
        let parsed = match &self.credentials.kind {
            CredentialKind::StatelessSecret(_) | CredentialKind::StatelessJwt(..) => {
                IssueStateless::parse_response(response)
            }
            CredentialKind::ShortLived(_) => IssueShortLived::parse_response(response),
            CredentialKind::V21(..) => IssueV21::parse_response(response),
        };
        match parsed {
            Ok(token) => {
                if let Some(flight) = self.state.in_flight.filter(|f| f.ticket == ticket) {
                    self.accept(flight.started.min(now), token);
                }
                Ok(())
            }
            Err(error) => {
                if self.is_current(ticket) {
                    self.state.in_flight = None;
                    if error
                        .as_api()
                        .is_some_and(|e| e.status() == 401 || e.status() == 400)
                    {
                        // A bad assertion must not be reused.
                        self.assertion = None;
                    }
                    let failure = RefreshFailure {
                        message: error.to_string(),
                        status: Some(error.status().as_u16()),
                        retryable: error.is_retryable(),
                    };
                    self.record_failure(now, failure, rng);
                }
                Err(error)
            }
        }
    }

    /// The refresh got no response at all (DNS, connection, timeout): retry with backoff.
    pub fn handle_transport_failure(
        &mut self,
        ticket: Ticket,
        now: UnixTime,
        rng: &mut impl TryCryptoRng,
    ) {
        if self.is_current(ticket) {
            self.state.in_flight = None;
            let failure = RefreshFailure {
                message: "could not reach the LINE API".into(),
                status: None,
                retryable: true,
            };
            self.record_failure(now, failure, rng);
        }
    }

    fn is_current(&self, ticket: Ticket) -> bool {
        self.state.in_flight.is_some_and(|f| f.ticket == ticket)
    }

    fn accept(&mut self, issued_at: UnixTime, token: IssuedToken) {
        let expires_at = token.expires_at(issued_at);
        let newer = self
            .state
            .token
            .as_ref()
            .is_none_or(|t| expires_at >= t.expires_at);
        if newer {
            self.state.token = Some(CachedToken {
                access_token: token.access_token,
                issued_at,
                expires_at,
                key_id: token.key_id,
            });
        }
        self.state.in_flight = None;
        self.state.failures = 0;
        self.state.retry_at = None;
        self.state.last_failure = None;
    }

    fn record_failure(
        &mut self,
        now: UnixTime,
        failure: RefreshFailure,
        rng: &mut impl TryCryptoRng,
    ) {
        self.state.failures = self.state.failures.saturating_add(1);
        let delay = if failure.retryable {
            backoff_delay(
                &self.config,
                self.state.failures,
                rng.try_next_u64().unwrap_or(0),
            )
        } else {
            self.config.failure_pause
        };
        self.state.retry_at = Some(now + delay);
        self.state.last_failure = Some(failure);
    }
}

/// "Equal jitter": half the exponential delay, plus a random part of the other half; never
/// above the cap, never below half of it once the cap is reached.
pub fn backoff_delay(config: &CacheConfig, failures: u32, random: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(32);
    let full = config
        .backoff_base
        .checked_mul(1u32 << exp.min(31))
        .unwrap_or(config.backoff_cap)
        .min(config.backoff_cap);
    let half = full / 2;
    let span = u64::try_from((full - half).as_millis()).unwrap_or(u64::MAX);
    let jitter = if span == 0 { 0 } else { random % (span + 1) };
    half + Duration::from_millis(jitter)
}
