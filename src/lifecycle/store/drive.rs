//! The store as a trait, and the two drivers that run a [`Fetch`] against it: [`drive`] for
//! blocking code, [`drive_async`] for any async runtime. An adapter implements [`Store`] (or
//! [`AsyncStore`]) and [`Refresher`] and calls one of them.

use std::future::Future;
use std::time::Duration;

use super::config::StoreConfig;
use super::failure::Failure;
use super::fetch::{Events, Fetch, Input, Outcome, Step};
use super::ids::OwnerId;
use super::read::Read;
use super::write::Write;
use crate::protocol::token::IssuedToken;

/// A store a fleet shares: one key's record, read and compare-and-swapped.
///
/// The whole adapter for a store in memory (the library ships one,
/// [`MemoryStore`](super::MemoryStore); Redis: `examples/support/src/redis_store.rs`):
///
/// ```
/// use line_channel_token::store::{Body, Read, Store, Write};
/// use line_channel_token::UnixTime;
///
/// struct Memory { now: UnixTime, version: u64, body: Option<String> }
///
/// impl Store for Memory {
///     type Error = std::convert::Infallible;
///     fn read(&mut self) -> Result<Read, Self::Error> {
///         let body = self.body.clone().map_or(Body::Absent, |b| Body::Present(b.into_bytes()));
///         Ok(Read { now: self.now, version: self.version, body })
///     }
///     fn swap(&mut self, write: &Write) -> Result<bool, Self::Error> {
///         if self.version != write.expected_version() {
///             return Ok(false); // another process wrote first
///         }
///         (self.version, self.body) = (write.new_version(), Some(write.body()));
///         Ok(true)
///     }
/// }
/// let mut store = Memory { now: UnixTime::from_secs(1_700_000_000), version: 0, body: None };
/// assert_eq!(store.read().unwrap().body, Body::Absent);
/// ```
pub trait Store {
    /// Why the store failed (the driver only counts failures; the caller keeps the error).
    type Error;
    /// One round trip: the store's time, the version and the body, refusing to transfer a
    /// body over [`MAX_RECORD_LEN`](super::MAX_RECORD_LEN) ([`Body::TooLarge`](super::Body)).
    ///
    /// # Errors
    /// The store could not be read.
    fn read(&mut self) -> Result<Read, Self::Error>;
    /// Writes `write` if the key is still at [`Write::expected_version`]; `Ok(true)` if it
    /// applied. Sets the key's expiry to [`Write::keep_for`].
    ///
    /// # Errors
    /// The store could not be written (whether the write applied is unknown).
    fn swap(&mut self, write: &Write) -> Result<bool, Self::Error>;
}

/// [`Store`] for async code: the same two operations, as futures.
///
/// ```
/// use line_channel_token::store::{AsyncStore, Body, Read, Write};
/// use line_channel_token::UnixTime;
///
/// struct Memory { version: u64, body: Option<String> }
///
/// impl AsyncStore for Memory {
///     type Error = std::convert::Infallible;
///     async fn read(&mut self) -> Result<Read, Self::Error> {
///         let body = self.body.clone().map_or(Body::Absent, |b| Body::Present(b.into_bytes()));
///         Ok(Read { now: UnixTime::from_secs(1_700_000_000), version: self.version, body })
///     }
///     async fn swap(&mut self, write: &Write) -> Result<bool, Self::Error> {
///         let applied = self.version == write.expected_version();
///         if applied {
///             (self.version, self.body) = (write.new_version(), Some(write.body()));
///         }
///         Ok(applied)
///     }
/// }
/// let mut store = Memory { version: 0, body: None };
/// let read = futures_executor::block_on(store.read()).unwrap();
/// assert_eq!(read.version, 0);
/// ```
pub trait AsyncStore {
    /// Why the store failed.
    type Error;
    /// See [`Store::read`].
    fn read(&mut self) -> impl Future<Output = Result<Read, Self::Error>>;
    /// See [`Store::swap`].
    fn swap(&mut self, write: &Write) -> impl Future<Output = Result<bool, Self::Error>>;
}

/// The calls to LINE a fetch may make, each bounded by `timeout` (the lease ends soon after).
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{Failure, Refresher};
/// use line_channel_token::{ApiBase, ChannelSecret, Endpoint, Error, IssueStateless, IssuedToken};
/// # fn send(_: &http::Request<Vec<u8>>, _: Duration) -> http::Response<Vec<u8>> { // LINE's answer
/// #     http::Response::new(br#"{"access_token":"t0k","expires_in":900,"token_type":"Bearer"}"#.to_vec())
/// # }
///
/// /// LINE through your HTTP client.
/// struct Line { api: ApiBase, secret: ChannelSecret }
///
/// impl Refresher for Line {
///     type Error = Error;
///     fn issue(&mut self, timeout: Duration) -> Result<IssuedToken, (Failure, Error)> {
///         let request = IssueStateless::by_secret("1234567890", &self.secret).to_request(&self.api);
///         // Your client sends it with `timeout`; a timeout is `Failure::unanswered()`.
///         let response = send(&request, timeout);
///         IssueStateless::parse_response(&response)
///             .map_err(|e| (Failure::answered(e.status().as_u16()), e))
///     }
///     fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, Error)> {
///         Ok(Vec::new()) // asked for v2.1 only
///     }
/// }
/// let mut line = Line { api: ApiBase::default(), secret: ChannelSecret::new("s3cret") };
/// assert_eq!(line.issue(Duration::from_secs(5)).unwrap().expires_in, 900);
/// ```
pub trait Refresher {
    /// This process's own error, handed back when the fetch ends on it.
    type Error;
    /// Issues a token (`IssueStateless`, `IssueShortLived`, `IssueV21`).
    ///
    /// # Errors
    /// The failure for the fleet (see [`Failure::answered`]) and this process's error.
    fn issue(&mut self, timeout: Duration) -> Result<IssuedToken, (Failure, Self::Error)>;
    /// v2.1: LINE's valid key ids (`KeyIdsV21`); never called for other kinds.
    ///
    /// # Errors
    /// As [`Refresher::issue`].
    fn key_ids(&mut self, timeout: Duration) -> Result<Vec<String>, (Failure, Self::Error)>;
}

/// How [`drive`] ended without a token, or with one the store did not record.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{drive, DriveError, Failure, MemoryStore, OwnerId, Refresher};
/// use line_channel_token::UnixTime;
/// # use line_channel_token::IssuedToken;
/// # use line_channel_token::{store::StoreConfig, TokenKind};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
///
/// struct Refused; // LINE says 400: the channel secret is wrong
/// impl Refresher for Refused {
///     type Error = &'static str;
///     fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, &'static str)> {
///         Err((Failure::answered(400), "invalid client_secret"))
///     }
///     # fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, &'static str)> { Ok(vec![]) }
/// }
/// let clock = || UnixTime::from_secs(1_700_000_000);
/// let mut store = MemoryStore::new(clock);
/// let fetched = drive(&mut store, &mut Refused, &config, OwnerId::new(7), Duration::ZERO, clock, |_| {});
/// match fetched {
///     Err(DriveError::Refresh(failure, e)) => assert!(!failure.retryable && e.contains("secret")),
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DriveError<S, E> {
    /// The store failed; `S` is its last error.
    Store(S),
    /// This process's call to LINE failed.
    Refresh(Failure, E),
    /// Something the fetch cannot finish: another process refreshes, a backoff, the budget,
    /// or a record that is not this fleet's.
    Ended(Outcome),
}

/// A token from [`drive`], and what happened on the way.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use line_channel_token::store::{drive, MemoryStore, OwnerId};
/// use line_channel_token::UnixTime;
/// # use line_channel_token::{store::StoreConfig, TokenKind};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # use line_channel_token::{store::{Failure, Refresher}, IssuedToken};
/// # struct Line; // LINE, issuing on every call
/// # impl Refresher for Line {
/// #     type Error = ();
/// #     fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, ())> {
/// #         Ok(serde_json::from_str(r#"{"access_token":"t0k","expires_in":900}"#).unwrap())
/// #     }
/// #     fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, ())> { Ok(vec![]) }
/// # }
///
/// let clock = || UnixTime::from(SystemTime::now());
/// let mut store = MemoryStore::new(clock);
/// let fetched = drive(&mut store, &mut Line, &config, OwnerId::new(7), Duration::ZERO, clock, |_| {}).unwrap();
/// assert!(fetched.committed); // the store holds it: every process of the fleet gets it
/// assert_eq!(fetched.events.clock_off_ms, None);
/// let bearer = fetched.token.access_token.expose_secret();
/// # assert_eq!(bearer, "t0k");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Fetched {
    /// The token.
    pub token: crate::lifecycle::cache::CachedToken,
    /// False when this process issued it and the store failed before recording it: use it,
    /// and warn (the fleet will issue again).
    pub committed: bool,
    /// What the fetch noticed (a clock off from the store's, commit retries).
    pub events: Events,
}

/// Runs one fetch against a blocking store: reads, decides, sits out another process's
/// refresh for at most `max_wait`, takes the lease and refreshes when it is this process's
/// turn. `local_clock` is this machine's clock, used to report how far it is off and to bound
/// the wait on it too (a store clock that stands still); `sleep` waits. Every decision uses the
/// store's time.
///
/// # Errors
/// [`DriveError`]: the store failed, this process's refresh failed, or the fleet cannot
/// serve a token within `max_wait`.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use line_channel_token::store::{drive, MemoryStore, OwnerId};
/// use line_channel_token::UnixTime;
/// # use line_channel_token::{store::StoreConfig, TokenKind};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # use line_channel_token::{store::{Failure, Refresher}, IssuedToken};
/// # struct Line; // LINE, issuing on every call
/// # impl Refresher for Line {
/// #     type Error = ();
/// #     fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, ())> {
/// #         Ok(serde_json::from_str(r#"{"access_token":"t0k","expires_in":900}"#).unwrap())
/// #     }
/// #     fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, ())> { Ok(vec![]) }
/// # }
///
/// // One per process start, random: the fleet tells its processes apart by it.
/// let me = OwnerId::new(0x5eed_1234_abcd_0042);
/// let local_clock = || UnixTime::from(SystemTime::now());
/// let mut store = MemoryStore::new(local_clock); // one machine's; a fleet's is your adapter
/// let first = drive(&mut store, &mut Line, &config, me, Duration::from_secs(2), local_clock, std::thread::sleep).unwrap();
/// // Another process of the fleet: one read, the same token, no call to LINE.
/// let other = OwnerId::new(0x5eed_9876_0000_0001);
/// let again = drive(&mut store, &mut Line, &config, other, Duration::from_secs(2), local_clock, std::thread::sleep).unwrap();
/// assert_eq!(first.token, again.token);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn drive<S: Store, R: Refresher>(
    store: &mut S,
    refresher: &mut R,
    config: &StoreConfig,
    me: OwnerId,
    max_wait: Duration,
    mut local_clock: impl FnMut() -> crate::time::UnixTime,
    mut sleep: impl FnMut(Duration),
) -> Result<Fetched, DriveError<S::Error, R::Error>> {
    let (mut fetch, mut step) = Fetch::new(config, me, max_wait);
    let mut store_error = None;
    let mut refresh_error = None;
    loop {
        let input = match step {
            Step::Read => match store.read() {
                Ok(read) => Input::Read(read, local_clock()),
                Err(e) => {
                    store_error = Some(e);
                    Input::StoreFailed
                }
            },
            Step::Swap(write) => match store.swap(&write) {
                Ok(applied) => Input::Swapped(applied),
                Err(e) => {
                    store_error = Some(e);
                    Input::StoreFailed
                }
            },
            Step::Issue { timeout } => match refresher.issue(timeout) {
                Ok(token) => Input::Issued(token),
                Err((failure, e)) => {
                    refresh_error = Some(e);
                    Input::IssueFailed(failure)
                }
            },
            Step::ListKeys { timeout } => match refresher.key_ids(timeout) {
                Ok(kids) => Input::Listed(kids),
                Err((failure, e)) => {
                    refresh_error = Some(e);
                    Input::IssueFailed(failure)
                }
            },
            Step::Sleep(d) => {
                sleep(d);
                Input::Waited
            }
            Step::Done(outcome) => {
                return finish(outcome, fetch.events(), store_error, refresh_error)
            }
        };
        step = fetch.next(input);
    }
}

/// [`drive`] for async code: the same fetch, with an [`AsyncStore`], an async `issue` and
/// `key_ids`, and an async `sleep` from your runtime.
///
/// # Errors
/// As [`drive`].
///
/// ```
/// use std::future::ready;
/// use std::time::{Duration, SystemTime};
/// use line_channel_token::store::{drive_async, Failure, MemoryStore, OwnerId};
/// use line_channel_token::UnixTime;
/// # use line_channel_token::{store::StoreConfig, IssuedToken, TokenKind};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let issued = |_| serde_json::from_str::<IssuedToken>(r#"{"access_token":"t0k","expires_in":900}"#).unwrap();
///
/// let clock = || UnixTime::from(SystemTime::now());
/// let mut store = MemoryStore::new(clock); // an AsyncStore
/// let fetched = futures_executor::block_on(drive_async(
///     &mut store,
///     &config,
///     OwnerId::new(7),
///     Duration::from_secs(2),
///     clock,
///     |timeout| ready(Ok::<_, (Failure, String)>(issued(timeout))), // your client's issue call
///     |_timeout| ready(Ok(Vec::new())),                           // v2.1 only
///     |_wait| ready(()),                                          // your runtime's sleep
/// ))
/// .unwrap();
/// assert_eq!(fetched.token.access_token.expose_secret(), "t0k");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub async fn drive_async<S, E, I, IF, K, KF, W, WF>(
    store: &mut S,
    config: &StoreConfig,
    me: OwnerId,
    max_wait: Duration,
    mut local_clock: impl FnMut() -> crate::time::UnixTime,
    mut issue: I,
    mut key_ids: K,
    mut sleep: W,
) -> Result<Fetched, DriveError<S::Error, E>>
where
    S: AsyncStore,
    I: FnMut(Duration) -> IF,
    IF: Future<Output = Result<IssuedToken, (Failure, E)>>,
    K: FnMut(Duration) -> KF,
    KF: Future<Output = Result<Vec<String>, (Failure, E)>>,
    W: FnMut(Duration) -> WF,
    WF: Future<Output = ()>,
{
    let (mut fetch, mut step) = Fetch::new(config, me, max_wait);
    let mut store_error = None;
    let mut refresh_error = None;
    loop {
        let input = match step {
            Step::Read => match store.read().await {
                Ok(read) => Input::Read(read, local_clock()),
                Err(e) => {
                    store_error = Some(e);
                    Input::StoreFailed
                }
            },
            Step::Swap(write) => match store.swap(&write).await {
                Ok(applied) => Input::Swapped(applied),
                Err(e) => {
                    store_error = Some(e);
                    Input::StoreFailed
                }
            },
            Step::Issue { timeout } => match issue(timeout).await {
                Ok(token) => Input::Issued(token),
                Err((failure, e)) => {
                    refresh_error = Some(e);
                    Input::IssueFailed(failure)
                }
            },
            Step::ListKeys { timeout } => match key_ids(timeout).await {
                Ok(kids) => Input::Listed(kids),
                Err((failure, e)) => {
                    refresh_error = Some(e);
                    Input::IssueFailed(failure)
                }
            },
            Step::Sleep(d) => {
                sleep(d).await;
                Input::Waited
            }
            Step::Done(outcome) => {
                return finish(outcome, fetch.events(), store_error, refresh_error)
            }
        };
        step = fetch.next(input);
    }
}

fn finish<S, E>(
    outcome: Outcome,
    events: Events,
    store_error: Option<S>,
    refresh_error: Option<E>,
) -> Result<Fetched, DriveError<S, E>> {
    match (outcome, store_error, refresh_error) {
        (Outcome::Token { token, committed }, ..) => Ok(Fetched {
            token,
            committed,
            events,
        }),
        (Outcome::IssueFailed(f), _, Some(e)) => Err(DriveError::Refresh(f, e)),
        (Outcome::StoreFailed, Some(e), _) => Err(DriveError::Store(e)),
        (other, ..) => Err(DriveError::Ended(other)),
    }
}
