//! What happened to a cache, for metrics and logs: drained with
//! [`TokenCache::poll_event`](super::TokenCache::poll_event). No event holds a secret.

use std::collections::VecDeque;

use super::failure::RefreshFailure;
use crate::time::UnixTime;

/// Something that happened to the cache's token. Queued (the oldest dropped beyond 16)
/// until drained.
///
/// ```
/// use line_channel_token::cache::{drive, Credentials, Event, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::builder(ApiBase::default(), credentials).record_events(true).build();
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// drive(&mut cache, || now, std::thread::sleep, send).unwrap();
/// assert!(matches!(cache.poll_event(), Some(Event::Issued { .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A token was stored where there was none.
    Issued {
        /// Its expiry.
        expires_at: UnixTime,
    },
    /// A token replaced an older one.
    Refreshed {
        /// The new token's expiry.
        expires_at: UnixTime,
    },
    /// A refresh failed; the cache retries at `retry_at`.
    RefreshFailed {
        /// Why.
        failure: RefreshFailure,
        /// When the next refresh may start.
        retry_at: UnixTime,
    },
    /// The token reached the end of its usable life with no replacement, or the clock went
    /// back past its issuance so its age is unknown: it is no longer handed out.
    Expired {
        /// When it stopped being handed out.
        at: UnixTime,
    },
    /// [`TokenCache::invalidate`](super::TokenCache::invalidate) dropped the current token.
    Invalidated,
    /// LINE issued a counted token the cache does not keep (a late, duplicate or shorter
    /// answer): take it with [`TokenCache::take_surplus`](super::TokenCache::take_surplus)
    /// and revoke it, or it holds one of LINE's 30 slots until it expires.
    Surplus {
        /// Its v2.1 `key_id`, if any.
        key_id: Option<String>,
    },
    /// LINE's answer stated (in its `Date` header) a time further from `now` than
    /// [`CacheConfig::clock_skew`](super::CacheConfig::clock_skew): fix the clock (NTP).
    /// While `now` is ahead, a token's expiry counts from LINE's clock, so it ends sooner by
    /// `now` and is refreshed after half the life it arrives with; ahead by about a lifetime,
    /// no token is usable and the refresh fails saying so.
    ClockSkew {
        /// The clock passed in, when the answer came.
        now: UnixTime,
        /// LINE's clock, as the answer's `Date` stated it (to the second).
        line: UnixTime,
    },
    /// A restored state was repaired or discarded (another channel, an impossible token, a
    /// marker from the future).
    StateRepaired,
}

/// A bounded queue of events, or `None` when the cache records none.
#[derive(Debug)]
pub(super) struct Events(Option<VecDeque<Event>>);

impl Events {
    /// Events kept while nobody drains them.
    pub(super) const CAPACITY: usize = 16;

    pub(super) fn new(record: bool) -> Events {
        Events(record.then(VecDeque::new))
    }

    pub(super) fn push(&mut self, event: Event) {
        if let Some(queue) = &mut self.0 {
            if queue.len() >= Self::CAPACITY {
                queue.pop_front();
            }
            queue.push_back(event);
        }
    }

    pub(super) fn pop(&mut self) -> Option<Event> {
        let queue = self.0.as_mut()?;
        let event = queue.pop_front();
        if queue.is_empty() && queue.capacity() > 0 {
            // A drained cache holds no queue memory: it adds up in a pool.
            *queue = VecDeque::new();
        }
        event
    }
}
