//! The run loop, written once: poll, send, hand the answer back, wait.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use http::{Request, Response};

use super::failure::RefreshFailure;
use super::poll::{Poll, Ticket};
use super::TokenCache;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// Why a driver returned without a token. Either way the cache has recorded the failure and
/// will not refresh before `retry_at`: calling the driver again sooner answers at once.
///
/// ```
/// use line_channel_token::cache::{drive, Credentials, DriveError, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("wrong"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// match drive(&mut cache, || now, std::thread::sleep, send) {
///     Err(DriveError::Refresh { failure, retry_at }) => {
///         assert!(!failure.retryable); // a wrong secret: fix the configuration
///         assert!(retry_at > now);
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum DriveError<E> {
    /// Your `send` failed (no response) during this call.
    Transport {
        /// Your client's error.
        error: E,
        /// When the cache will try again.
        retry_at: UnixTime,
    },
    /// The refresh failed (LINE refused, an invalid answer, a signing error, a timeout) and
    /// there is no usable token.
    Refresh {
        /// Why.
        failure: RefreshFailure,
        /// When the cache will try again.
        retry_at: UnixTime,
    },
}

impl<E> DriveError<E> {
    /// When the cache will try again.
    pub fn retry_at(&self) -> UnixTime {
        match self {
            DriveError::Transport { retry_at, .. } | DriveError::Refresh { retry_at, .. } => {
                *retry_at
            }
        }
    }
}

impl<E: fmt::Display> fmt::Display for DriveError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriveError::Transport { error, retry_at } => write!(
                f,
                "could not reach the LINE API ({error}); no valid token cached; retrying at {retry_at}"
            ),
            DriveError::Refresh { failure, retry_at } => write!(
                f,
                "no valid LINE channel access token: {failure}; retrying at {retry_at}"
            ),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for DriveError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriveError::Transport { error, .. } => Some(error),
            DriveError::Refresh { failure, .. } => Some(failure),
        }
    }
}

/// What the loop does after one poll.
pub(crate) enum Step<E> {
    Done(Result<AccessToken, DriveError<E>>),
    Send(super::poll::Ticket, Request<Vec<u8>>),
    Sleep(Duration),
}

/// One turn of the loop: shared by the blocking and async drivers and [`SharedCache`].
///
/// [`SharedCache`]: super::SharedCache
pub(crate) fn step<E>(cache: &mut TokenCache, now: UnixTime, transport: &mut Option<E>) -> Step<E> {
    let waiting = match cache.poll(now) {
        Poll::Ready(token) => return Step::Done(Ok(token.clone())),
        Poll::Refresh(refresh) => {
            let (ticket, request) = refresh.into_parts();
            return Step::Send(ticket, request);
        }
        // Another caller (or process) is refreshing: wait for it.
        Poll::InFlight(until) => return Step::Sleep(until - now),
        Poll::Wait(until) => Some(until),
        Poll::Failed(_) => None,
    };
    if let (Some(until), None) = (waiting, cache.last_failure()) {
        // Throttled with no failure to report: the wait is short, wait it out.
        return Step::Sleep(until - now);
    }
    let retry_at = cache.next_deadline();
    Step::Done(Err(match (transport.take(), cache.last_failure()) {
        (Some(error), _) => DriveError::Transport { error, retry_at },
        (None, Some(failure)) => DriveError::Refresh {
            failure: failure.clone(),
            retry_at,
        },
        (None, None) => DriveError::Refresh {
            failure: RefreshFailure::timed_out(),
            retry_at,
        },
    }))
}

/// Who holds the cache a refresh came from: the cache itself ([`drive`], [`drive_async`]),
/// a [`SharedCache`] to lock and notify, or one channel of a
/// [`SharedPool`](crate::pool::SharedPool).
///
/// [`SharedCache`]: super::SharedCache
pub(crate) trait Settle {
    /// Runs `f` on the cache (if it is still there), then wakes whoever waits for it.
    fn settle(&mut self, f: impl FnOnce(&mut TokenCache));
}

impl Settle for &mut TokenCache {
    fn settle(&mut self, f: impl FnOnce(&mut TokenCache)) {
        f(self);
    }
}

/// A refresh handed to `send`: the one drop guard of every driver. Answered with
/// [`Sending::answer`]; dropped unanswered (the send panicked, or the future awaiting it was
/// dropped) it reports the refresh abandoned and wakes the waiters, so nobody waits out the
/// in-flight timeout for an answer that cannot come.
pub(crate) struct Sending<S: Settle> {
    owner: S,
    ticket: Option<Ticket>,
}

impl<S: Settle> Sending<S> {
    pub(crate) fn new(owner: S, ticket: Ticket) -> Self {
        Sending {
            owner,
            ticket: Some(ticket),
        }
    }

    /// Hands `send`'s result over; read the clock before, so a panicking `now` still leaves
    /// the guard armed.
    pub(crate) fn answer<B: AsRef<[u8]>, E>(
        mut self,
        now: UnixTime,
        answer: Result<Response<B>, E>,
        transport: &mut Option<E>,
    ) {
        if let Some(ticket) = self.ticket.take() {
            self.owner
                .settle(|cache| handle(cache, ticket, now, answer, transport));
        }
    }
}

impl<S: Settle> Drop for Sending<S> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.owner.settle(|cache| cache.abandon(ticket));
        }
    }
}

/// Hands `send`'s result to the cache; a transport error is kept for [`DriveError`].
fn handle<B: AsRef<[u8]>, E>(
    cache: &mut TokenCache,
    ticket: Ticket,
    now: UnixTime,
    answer: Result<Response<B>, E>,
    transport: &mut Option<E>,
) {
    let _ = match answer {
        Ok(response) => cache.handle_response(ticket, now, &response),
        Err(error) => {
            *transport = Some(error);
            cache.handle_transport_failure(ticket, now)
        }
    };
}

/// Gets a valid token, refreshing through `send` if needed: the blocking driver, the cache's
/// [`call`](crate::call).
///
/// - `now`: your clock (`|| UnixTime::from(SystemTime::now())`); the crate never reads one.
/// - `sleep`: how to wait (`std::thread::sleep`); used only while another caller's refresh
///   is in flight or the issuance throttle holds, never to sit out a backoff.
/// - `send`: your HTTP client; see the [module docs](super) for ureq and reqwest adapters.
///
/// Returns the token, or the failure as soon as a refresh fails with no usable token left
/// (the cache backs off; calling again before `retry_at` fails fast).
///
/// # Errors
///
/// [`DriveError::Transport`] if `send` failed in this call, else [`DriveError::Refresh`].
///
/// ```
/// use line_channel_token::cache::{drive, Credentials, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// let token = drive(&mut cache, || now, std::thread::sleep, send).unwrap();
/// assert_eq!(cache.token(now), Some(&token)); // the next call answers from the cache
/// ```
pub fn drive<B, E>(
    cache: &mut TokenCache,
    mut now: impl FnMut() -> UnixTime,
    mut sleep: impl FnMut(Duration),
    mut send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
) -> Result<AccessToken, DriveError<E>>
where
    B: AsRef<[u8]>,
{
    let mut transport = None;
    loop {
        match step(cache, now(), &mut transport) {
            Step::Done(result) => return result,
            Step::Sleep(d) => sleep(d),
            Step::Send(ticket, request) => {
                let sending = Sending::new(&mut *cache, ticket);
                let answer = send(request);
                sending.answer(now(), answer, &mut transport);
            }
        }
    }
}

/// [`drive`] for async clients: `sleep` makes a timer future (`tokio::time::sleep`), `send`
/// a response future. No runtime is involved; the crate only awaits your futures.
///
/// ```
/// use line_channel_token::http;
/// # async fn demo() {
/// use line_channel_token::cache::{drive_async, Credentials, TokenCache};
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut cache = TokenCache::new(
///     ApiBase::default(),
///     Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret")),
/// );
/// let token = drive_async(
///     &mut cache,
///     || UnixTime::from_secs(1_700_000_000),
///     |_wait| async {}, // e.g. tokio::time::sleep
///     |_req| async {
///         // e.g. reqwest: see the module docs for the whole adapter
///         Ok::<_, std::io::Error>(http::Response::new(
///             br#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":900,"token_type":"Bearer"}"#,
///         ))
///     },
/// )
/// .await
/// .unwrap();
/// # }
/// ```
///
/// # Errors
///
/// As [`drive`].
pub async fn drive_async<B, E, S, F>(
    cache: &mut TokenCache,
    mut now: impl FnMut() -> UnixTime,
    mut sleep: impl FnMut(Duration) -> S,
    mut send: impl FnMut(Request<Vec<u8>>) -> F,
) -> Result<AccessToken, DriveError<E>>
where
    B: AsRef<[u8]>,
    S: Future<Output = ()>,
    F: Future<Output = Result<Response<B>, E>>,
{
    let mut transport = None;
    loop {
        match step(cache, now(), &mut transport) {
            Step::Done(result) => return result,
            Step::Sleep(d) => sleep(d).await,
            Step::Send(ticket, request) => {
                // Dropped mid-send (a timeout around this future), it reports the refresh
                // abandoned: the next call does not wait out the in-flight timeout.
                let sending = Sending::new(&mut *cache, ticket);
                let answer = send(request).await;
                sending.answer(now(), answer, &mut transport);
            }
        }
    }
}
