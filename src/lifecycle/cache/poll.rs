//! `poll`: what the caller should do now.

use std::fmt;

use http::Request;
use zeroize::Zeroize;

use super::failure::{FailureKind, RefreshFailure};
use super::TokenCache;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// What the caller should do now. Every variant but `Ready` and `Refresh` carries (or
/// implies) a time later than the poll's `now`, equal to
/// [`TokenCache::next_deadline`](super::TokenCache::next_deadline). (At `u64::MAX` ms no
/// later time exists: there the time equals `now`, and no second refresh starts until the
/// clock is corrected.)
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
/// let Poll::Refresh(refresh) = cache.poll(now) else { panic!("a new cache has no token") };
/// // While that refresh is out, another caller is told to wait for it.
/// assert!(matches!(cache.poll(now), Poll::InFlight(t) if t > now));
/// let _ = cache.handle_response(refresh.ticket(), now, &line.handle(now, refresh.request()));
/// assert!(matches!(cache.poll(now), Poll::Ready(_)));
/// ```
#[must_use = "the answer says whether to use a token, send a refresh or wait"]
#[derive(Debug)]
pub enum Poll<'a> {
    /// Use this token: by the caller's clock it is before its expiry minus the skew margin.
    Ready(&'a AccessToken),
    /// Send this request and hand the answer back ([`TokenCache::handle_response`] or
    /// [`TokenCache::handle_transport_failure`]). One caller at a time gets this.
    /// (Boxed: rare, and it keeps the common answers small.)
    Refresh(Box<Refresh>),
    /// Another caller is refreshing and there is no usable token: wait for its answer
    /// ([`TokenCache::generation`] changes), or poll again at this time at the latest (the
    /// in-flight timeout, which only matters if that caller vanished).
    InFlight(UnixTime),
    /// No usable token, and no refresh may start before this time (backoff or the issuance
    /// throttle): poll again then. [`TokenCache::last_failure`] says why, if a failure.
    Wait(UnixTime),
    /// The last refresh failed in a way retrying will not fix (a wrong secret, an unknown
    /// `kid`) and there is no usable token. The cache tries again at
    /// [`TokenCache::next_deadline`].
    Failed(&'a RefreshFailure),
}

/// Identifies one refresh so its answer can be matched to it, by this cache instance only.
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
/// let Poll::Refresh(refresh) = cache.poll(now) else { panic!("a new cache has no token") };
/// let (ticket, request) = refresh.into_parts(); // keep the ticket while the request is out
/// assert_eq!(ticket.started(), now);
/// let _ = cache.handle_response(ticket, now, &line.handle(now, &request));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ticket {
    pub(super) incarnation: u64,
    pub(super) seq: u64,
    pub(super) started: UnixTime,
}

impl Ticket {
    /// When the refresh was handed out: the token's expiry is counted from here, so a slow
    /// answer only makes the cache refresh early.
    pub fn started(&self) -> UnixTime {
        self.started
    }
}

/// A refresh to perform. `Debug` shows no body (it holds the channel secret or a client
/// assertion), and the body is zeroed when the `Refresh` is dropped.
///
/// ```
/// use line_channel_token::cache::{Credentials, Handled, Poll, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let Poll::Refresh(refresh) = cache.poll(now) else { panic!("a new cache has no token") };
/// assert_eq!(refresh.request().uri().path(), "/oauth2/v3/token");
/// assert!(!format!("{refresh:?}").contains("s3cret"));
/// let response = line.handle(now, refresh.request());
/// assert_eq!(cache.handle_response(refresh.ticket(), now, &response), Handled::Stored);
/// ```
pub struct Refresh {
    ticket: Ticket,
    request: Request<Vec<u8>>,
}

impl Refresh {
    /// Hand this back with the answer.
    pub fn ticket(&self) -> Ticket {
        self.ticket
    }

    /// The request to send.
    pub fn request(&self) -> &Request<Vec<u8>> {
        &self.request
    }

    /// The ticket and the request, for a client that takes the request by value. The body
    /// is then the client's to protect.
    pub fn into_parts(mut self) -> (Ticket, Request<Vec<u8>>) {
        (self.ticket, std::mem::take(&mut self.request))
    }
}

impl Drop for Refresh {
    fn drop(&mut self) {
        self.request.body_mut().zeroize();
    }
}

impl fmt::Debug for Refresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refresh")
            .field("ticket", &self.ticket)
            .field("method", self.request.method())
            .field("path", &self.request.uri().path())
            .field(
                "body",
                &format_args!("<{} bytes redacted>", self.request.body().len()),
            )
            .finish()
    }
}

impl TokenCache {
    /// Decides what the caller should do at `now`: the only place a refresh starts. Cheap
    /// when there is a valid token; see [`Poll`] for each answer and the
    /// [module docs](super) for the run-loop rule.
    pub fn poll(&mut self, now: UnixTime) -> Poll<'_> {
        self.observe(now);
        if self.refresh_wanted(now) {
            match self.start_refresh(now) {
                Ok((ticket, request)) => {
                    return Poll::Refresh(Box::new(Refresh { ticket, request }));
                }
                Err(e) => {
                    let failure = RefreshFailure::new(
                        FailureKind::Signing,
                        format!("cannot sign the client assertion: {e}"),
                        false,
                    );
                    self.record_failure(now, failure);
                }
            }
        }
        if self.token(now).is_some() {
            // Re-borrow for the answer's lifetime.
            return match &self.token {
                Some(t) => Poll::Ready(&t.access_token),
                None => Poll::Wait(self.next_deadline()),
            };
        }
        if self.in_flight.is_some() {
            return Poll::InFlight(self.next_deadline());
        }
        match &self.last_failure {
            Some(f) if !f.retryable => Poll::Failed(f),
            _ => Poll::Wait(self.next_deadline()),
        }
    }
}
