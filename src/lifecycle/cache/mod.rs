//! A sans-IO token cache for one channel: two-stage refresh ahead of expiry, one refresh at a
//! time, backoff with jitter, an issuance throttle, and a driver so nobody writes the loop.
//!
//! # Using it
//!
//! Most code calls a driver: [`drive`] (blocking), [`drive_async`], or [`SharedCache`] for
//! threads sharing one cache. Each takes the clock (`now`), a way to wait, and your HTTP
//! client as a closure, exactly like [`call`](crate::call) / [`call_async`](crate::call_async):
//!
//! ```
//! use line_channel_token::cache::{drive, Credentials, TokenCache};
//! use line_channel_token::emulator::Emulator;
//! use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
//!
//! let mut line = Emulator::new(); // stands in for LINE; in real code, an HTTP client
//! line.add_channel("1234567890", ChannelSecret::new("s3cret"));
//! let mut cache = TokenCache::new(
//!     ApiBase::default(),
//!     Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret")),
//! );
//! let now = || UnixTime::from_secs(1_700_000_000); // in real code: UnixTime::from(SystemTime::now())
//! let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now(), &req));
//! let token = drive(&mut cache, now, std::thread::sleep, send).unwrap();
//! assert_eq!(line.authorize(now(), token.expose_secret()), Some("1234567890"));
//! ```
//!
//! ## HTTP client adapters
//!
//! ureq 3. **Turn off `http_status_as_error`**: ureq's default agent turns LINE's 400 (a wrong
//! channel secret) into a transport error, which the cache must treat as transient and retries
//! with backoff for ever instead of reporting "check the channel secret".
//!
//! ```no_run
//! use line_channel_token::http;
//! use line_channel_token::cache::{drive, Credentials, TokenCache};
//! use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
//!
//! let agent: ureq::Agent = ureq::Agent::config_builder()
//!     .http_status_as_error(false) // LINE's 4xx bodies must reach the cache
//!     .timeout_global(Some(std::time::Duration::from_secs(30)))
//!     .build()
//!     .new_agent();
//! let send = |req| -> Result<http::Response<Vec<u8>>, ureq::Error> {
//!     let (parts, mut body) = agent.run(req)?.into_parts();
//!     Ok(http::Response::from_parts(parts, body.read_to_vec()?))
//! };
//! let secret = ChannelSecret::new(std::env::var("LINE_CHANNEL_SECRET").unwrap());
//! let mut cache = TokenCache::new(ApiBase::default(), Credentials::stateless_by_secret("1234567890", secret));
//! let now = || UnixTime::from(std::time::SystemTime::now());
//! let token = drive(&mut cache, now, std::thread::sleep, send).unwrap();
//! ```
//!
//! reqwest (async; reqwest is not a dependency of this crate, so this block is not compiled;
//! `examples/async_service.rs` runs the same adapter, `examples/support/src/reqwest_transport.rs`):
//!
//! ```ignore
//! use line_channel_token::cache::SharedCache;
//! use line_channel_token::{http, UnixTime};
//!
//! async fn send(client: &reqwest::Client, req: http::Request<Vec<u8>>)
//!     -> Result<http::Response<Vec<u8>>, reqwest::Error> {
//!     let resp = client.execute(reqwest::Request::try_from(req)?).await?; // reqwest 0.12
//!     let (status, headers) = (resp.status(), resp.headers().clone());
//!     let mut out = http::Response::new(resp.bytes().await?.to_vec());
//!     *out.status_mut() = status;
//!     *out.headers_mut() = headers;
//!     Ok(out)
//! }
//!
//! let client = reqwest::Client::new();
//! let cache = std::sync::Arc::new(SharedCache::new(cache)); // shared by every task
//! let token = cache
//!     .get_token_async(
//!         || UnixTime::from(std::time::SystemTime::now()),
//!         tokio::time::sleep,
//!         |req| send(&client, req),
//!     )
//!     .await?;
//! ```
//!
//! # The state machine
//!
//! The cache itself never reads the clock, sleeps, locks or sends. Its methods sort as
//! quinn-proto's do:
//!
//! - **getters**: [`TokenCache::token`] (the hot path: a valid token, no side effect),
//!   [`TokenCache::state`], [`TokenCache::next_deadline`], [`TokenCache::generation`];
//! - **inputs**: [`TokenCache::handle_response`], [`TokenCache::handle_transport_failure`],
//!   [`TokenCache::invalidate`];
//! - **outputs**: [`TokenCache::poll`] (what to do now), [`TokenCache::poll_event`] (what
//!   happened), [`TokenCache::take_surplus`] (counted tokens to revoke).
//!
//! [`TokenCache::poll`] answers [`Poll::Ready`] (use this token), [`Poll::Refresh`] (send this
//! request, hand the answer back), [`Poll::InFlight`] (another caller is refreshing: wait for
//! its answer), [`Poll::Wait`] (backing off or throttled) or [`Poll::Failed`] (a failure
//! retrying will not fix). Every `InFlight(t)`, `Wait(t)` and `Failed` comes with a time
//! `t > now`, equal to [`TokenCache::next_deadline`]: **the run-loop rule** is to poll again
//! at that time, or as soon as an input arrives ([`TokenCache::generation`] changes).
//!
//! - **Two-stage refresh.** In the *advisory* window ([`CacheConfig::refresh_before`], moved
//!   later by a per-instance jitter so a pool or fleet does not refresh in lockstep) one
//!   caller gets `Refresh` and everyone else keeps the valid token. In the *mandatory* window
//!   ([`CacheConfig::mandatory_before`]) a failed refresh is retried before the token runs
//!   out, whatever the backoff says.
//! - **No loops.** Every refresh that does not produce a usable token (an error, `expires_in`
//!   of zero, an empty token, a token too short to use or ending before the one held) enters
//!   backoff; at most one refresh starts per [`CacheConfig::min_issue_interval`] (10 s),
//!   except the one a first [`TokenCache::invalidate`] asks for (a 401 gets a new token in
//!   one round trip); tokens rejected again and again back off to one issuance a minute.
//! - **A dropped refresh** (the caller took `Refresh` and vanished) blocks other callers for
//!   at most [`CacheConfig::in_flight_timeout`], then counts as a failure. Report a send that
//!   failed with [`TokenCache::handle_transport_failure`] so nobody waits that long. The
//!   drivers, [`SharedCache`] and [`SharedPool`](crate::pool::SharedPool) do this
//!   themselves, also when `send` panics or an async caller is dropped mid-send (a timeout
//!   around it). Such an abandoned refresh is no failure of LINE's: the next caller takes it
//!   over at once, past the throttle; a second one in a row counts as a failure.
//! - **The clock** may jump either way. A token is only handed out before its expiry minus
//!   the skew margin *by the clock you pass*; a token that seems issued in the future (the
//!   clock went back) is dropped, since its age is unknown; markers set by a clock that has
//!   since gone back are pulled in, never waited out.
//! - **Answers** are matched by [`Ticket`]. A ticket carries its cache instance's id, so an
//!   answer is never accepted by another cache, or by a later instance restored from state.
//!
//! # Waiting for another caller's refresh
//!
//! Share one cache: [`SharedCache`]. The caller that gets `Refresh` sends it *without*
//! holding the lock, then hands the answer back and wakes the others; those that got
//! `InFlight` wait until [`TokenCache::generation`] changes (or the deadline passes):
//!
//! - threads: [`SharedCache::get_token`] waits on a `Condvar`;
//! - async tasks: [`SharedCache::get_token_async`] waits on the task's own `std::task::Waker`,
//!   with no runtime and no lock held across an `.await`; a task dropped while it sends
//!   reports the refresh abandoned, and one dropped while it waits leaves nothing behind.
//!   Pass your runtime's timer as `sleep` (`tokio::time::sleep`).
//!
//! Many channels: [`SharedPool`](crate::pool::SharedPool) does the same per channel, with a
//! refresher that keeps every channel warm.
//!
//! # Persisting
//!
//! [`CacheState`] (serde, no channel secret or key) survives restarts and crosses processes:
//! save [`TokenCache::state`] after changes, give it to [`TokenCacheBuilder::restore`] on
//! start. Restored state is checked and repaired, never trusted.

mod answer;
mod config;
mod credentials;
mod driver;
mod events;
mod failure;
mod poll;
mod random;
mod schedule;
mod shared;
mod skew;
mod state;
mod transitions;
mod wakers;

pub use answer::Handled;
pub use config::{CacheConfig, CacheConfigBuilder, CacheConfigError};
pub use credentials::{BlindingRng, BlindingSource, Credentials};
pub use driver::{drive, drive_async, DriveError};
pub(crate) use driver::{step, Sending, Settle, Step};
pub use events::Event;
pub use failure::{FailureKind, RefreshFailure};
pub use poll::{Poll, Refresh, Ticket};
pub use shared::SharedCache;
pub use state::{CacheState, CachedToken};
pub(crate) use wakers::Wakers;

use crate::protocol::api_base::ApiBase;
use crate::protocol::token::IssuedToken;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// How many tokens rejected with [`TokenCache::invalidate`] are remembered, so that no
/// answer brings one back. Bounded, as the surplus is: a replaying proxy answers with a
/// recent token, not the 33rd last rejected.
const REJECTED_LIMIT: usize = 32;

/// One channel's token, kept warm: a state machine that never reads the clock, sleeps or
/// locks. The contract, in short (the [module docs](self) have the whole of it):
///
/// - **Getters** ([`token`](Self::token), [`state`](Self::state),
///   [`next_deadline`](Self::next_deadline), [`generation`](Self::generation)) change nothing.
/// - **Inputs** ([`handle_response`](Self::handle_response),
///   [`handle_transport_failure`](Self::handle_transport_failure),
///   [`invalidate`](Self::invalidate)) each bump [`generation`](Self::generation) when they
///   change what `poll` would say.
/// - **Outputs** ([`poll`](Self::poll), [`poll_event`](Self::poll_event),
///   [`take_surplus`](Self::take_surplus)): poll again at the time `poll` gives, or when the
///   generation changes.
/// - **A dropped [`Refresh`]** holds other callers for at most
///   [`CacheConfig::in_flight_timeout`], then counts as a failure.
/// - **The clock** passed in may go backwards or jump: no token is handed out at or past its
///   expiry by that clock, and no wait outlasts the policy's longest delay.
///
/// ```
/// use line_channel_token::cache::{Credentials, Poll, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// // The loop a driver runs for you: poll, send what it asks, hand the answer back.
/// let Poll::Refresh(refresh) = cache.poll(now) else { panic!("a new cache has no token") };
/// let response = line.handle(now, refresh.request());
/// let _ = cache.handle_response(refresh.ticket(), now, &response);
/// assert!(matches!(cache.poll(now), Poll::Ready(_)));
/// assert!(cache.token(now).is_some());
/// ```
pub struct TokenCache {
    // Every field is written only in `transitions.rs`, whose methods state the invariants.
    api: ApiBase,
    credentials: Credentials,
    config: CacheConfig,
    token: Option<CachedToken>,
    /// The token's timeline (refresh window, usable end).
    timeline: Option<schedule::Window>,
    /// The refresh handed out and not yet answered: its sequence number and start.
    in_flight: Option<(u64, UnixTime)>,
    failures: u32,
    retry_at: Option<UnixTime>,
    last_failure: Option<Box<RefreshFailure>>,
    last_refresh_at: Option<UnixTime>,
    seed: u64,
    incarnation: u64,
    next_seq: u64,
    /// The first refresh number handed out after [`TokenCache::invalidate`] last dropped a
    /// token.
    stale_below: u64,
    /// Tokens rejected with [`TokenCache::invalidate`] in a row.
    rejections: u32,
    /// The next refresh skips the issuance throttle (the first rejection in a row asked for
    /// it, or the first abandoned refresh in a row).
    throttle_waived: bool,
    /// Refreshes abandoned in a row (the send panicked or its future was dropped) with no
    /// answer between them: the first is handed on at once, later ones count as failures.
    abandoned: u32,
    /// The tokens [`TokenCache::invalidate`] dropped (the last [`REJECTED_LIMIT`]): no answer
    /// may bring one back, not even the refresh in flight (a replaying proxy may answer with
    /// it again, also after a later token was rejected in turn).
    rejected: Vec<AccessToken>,
    generation: u64,
    events: events::Events,
    /// Counted tokens LINE issued that the cache does not keep: revoke them.
    surplus: Vec<IssuedToken>,
}

/// Builds a [`TokenCache`]: policy, jitter seed and restored state.
///
/// ```
/// use line_channel_token::cache::{CacheConfig, Credentials, TokenCache};
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
/// use std::time::Duration;
///
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let config = CacheConfig::builder(Duration::from_secs(15 * 60))
///     .refresh_before(Duration::from_secs(5 * 60))
///     .build()
///     .unwrap();
/// let saved = None; // the `CacheState` saved by the last run, if any
/// let mut builder = TokenCache::builder(ApiBase::default(), credentials).config(config).seed(7);
/// if let Some(state) = saved {
///     builder = builder.restore(state, UnixTime::from_secs(1_700_000_000));
/// }
/// let cache = builder.build();
/// assert_eq!(cache.config().refresh_before(), Duration::from_secs(5 * 60));
/// ```
#[derive(Debug)]
pub struct TokenCacheBuilder {
    api: ApiBase,
    credentials: Credentials,
    config: Option<CacheConfig>,
    seed: Option<u64>,
    restore: Option<(CacheState, UnixTime)>,
    record_events: bool,
}

impl TokenCacheBuilder {
    /// The timing policy; default [`CacheConfig::for_lifetime`] of the credentials' lifetime.
    pub fn config(mut self, config: CacheConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The seed of this instance's jitter (refresh point and backoff). Default: from the
    /// operating system with the `os-rng` feature; without it, give each process its own.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether to queue [`Event`]s (default `true`). A cache nobody drains holds up to 16;
    /// in a large [`TokenPool`](crate::pool::TokenPool), drain them or turn them off.
    pub fn record_events(mut self, record: bool) -> Self {
        self.record_events = record;
        self
    }

    /// Resume from saved state, checked at `now`: state of another channel or token kind is
    /// discarded, an impossible token dropped (empty, issued after it expires, longer-lived
    /// than LINE issues, issued in the future), and every marker (in flight, backoff,
    /// throttle) pulled to within the policy's longest delay of `now`. A refresh recorded in
    /// flight (by another process) is waited for, at most one in-flight timeout.
    pub fn restore(mut self, state: CacheState, now: UnixTime) -> Self {
        self.restore = Some((state, now));
        self
    }

    /// The cache.
    pub fn build(self) -> TokenCache {
        let config = self
            .config
            .unwrap_or_else(|| CacheConfig::for_lifetime(self.credentials.expected_lifetime()));
        let seed = self
            .seed
            .unwrap_or_else(|| random::default_seed(&self.credentials.channel_id));
        let mut cache =
            TokenCache::fresh(self.api, self.credentials, config, seed, self.record_events);
        if let Some((state, now)) = self.restore {
            cache.adopt(state, now);
        }
        cache
    }
}

impl TokenCache {
    /// A cache with the default policy for the credentials' token kind.
    pub fn new(api: ApiBase, credentials: Credentials) -> TokenCache {
        TokenCache::builder(api, credentials).build()
    }

    /// A builder, for a policy, a seed or restored state.
    ///
    /// ```
    /// use line_channel_token::cache::{CacheConfig, Credentials, TokenCache};
    /// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
    ///
    /// let creds = || Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s"));
    /// let cache = TokenCache::builder(ApiBase::default(), creds()).seed(7).build();
    /// let saved = cache.state();
    /// let now = UnixTime::from_secs(1_700_000_000);
    /// let again = TokenCache::builder(ApiBase::default(), creds()).restore(saved, now).build();
    /// assert!(again.token(now).is_none());
    /// ```
    pub fn builder(api: ApiBase, credentials: Credentials) -> TokenCacheBuilder {
        TokenCacheBuilder {
            api,
            credentials,
            config: None,
            seed: None,
            restore: None,
            record_events: true,
        }
    }

    /// The policy.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The credentials' channel.
    pub fn channel_id(&self) -> &str {
        &self.credentials.channel_id
    }

    /// A token usable at `now` (before its expiry minus the skew margin), without starting
    /// a refresh: the cheap check for a hot path.
    pub fn token(&self, now: UnixTime) -> Option<&AccessToken> {
        match (&self.token, &self.timeline) {
            (Some(t), Some(w)) if now < w.usable_until => Some(&t.access_token),
            _ => None,
        }
    }

    /// The last failure, until a refresh succeeds.
    pub fn last_failure(&self) -> Option<&RefreshFailure> {
        self.last_failure.as_deref()
    }

    /// Changes whenever an input (an answer, a timeout, an invalidation) changes what
    /// [`TokenCache::poll`] would say: callers waiting for another's refresh wait for it to
    /// change.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("api", &self.api)
            .field("credentials", &self.credentials)
            .field("config", &self.config)
            .field("token", &self.token)
            .field("in_flight", &self.in_flight)
            .field("failures", &self.failures)
            .field("retry_at", &self.retry_at)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}
