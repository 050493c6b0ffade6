//! Many channels' caches, with the next deadline across all of them; no call is O(n).
//!
//! For SaaS back ends with thousands to millions of channels: one [`TokenPool`] holds a boxed
//! [`TokenCache`] per channel and an ordered set of `(deadline, key)`, so one background loop
//! sleeps until [`TokenPool::next_deadline`], then [`TokenPool::poll_due`] the channels whose
//! time has come. Every call costs O(log n) per channel it touches: a rescheduled channel's
//! old deadline is removed at once, so nothing stale piles up. At a million channels a pool
//! holds about 850 bytes per channel (a warm 177-character token); size it up front with
//! [`TokenPool::with_capacity`], and drain each channel's events ([`TokenPool::poll_event`])
//! or build its cache with [`record_events(false)`](crate::cache::TokenCacheBuilder::record_events),
//! or undrained events add up to 16 per channel.
//!
//! Threads and async tasks share a pool through [`SharedPool`]: `get_token(&channel, ..)` with
//! one refresh in flight per channel, a refresher ([`SharedPool::keep_warm`],
//! [`SharedPool::keep_warm_async`]) that keeps every channel warm through
//! [`TokenPool::poll_due_at_most`], and tenants added and removed while it runs. The loop
//! below is what it runs for you.
//!
//! ```
//! use line_channel_token::cache::{Credentials, TokenCache};
//! use line_channel_token::pool::{Due, TokenPool};
//! use line_channel_token::emulator::Emulator;
//! use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
//!
//! let mut line = Emulator::new();
//! let mut pool = TokenPool::new();
//! for id in ["1000000001", "1000000002"] {
//!     line.add_channel(id, ChannelSecret::new("s"));
//!     let creds = Credentials::stateless_by_secret(id, ChannelSecret::new("s"));
//!     pool.insert(id.to_string(), TokenCache::builder(ApiBase::default(), creds).seed(1).build());
//! }
//! let now = UnixTime::from_secs(1_700_000_000);
//! for (channel, due) in pool.poll_due(now) {
//!     match due {
//!         Due::Refresh(refresh) => {
//!             let response = line.handle(now, refresh.request()); // your HTTP client here
//!             let _ = pool.handle_response(&channel, refresh.ticket(), now, &response);
//!         }
//!         Due::Failed(failure) => eprintln!("{channel}: {failure}"),
//!     }
//! }
//! assert!(pool.token("1000000001", now).is_some()); // lookups by &str
//! // Nothing to do until the first token enters its refresh window (about 10 minutes on).
//! let next = pool.next_deadline().unwrap();
//! assert!(next > now + std::time::Duration::from_secs(9 * 60));
//! ```

mod error;
mod refresher;
mod shared;

pub use error::PoolError;
pub use shared::{NoTenants, SharedPool};

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use http::Response;

use crate::lifecycle::cache::{Event, Handled, Poll, Refresh, RefreshFailure, Ticket, TokenCache};
use crate::protocol::token::IssuedToken;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// Token caches keyed by channel (or any key), ordered by deadline.
///
/// ```
/// use line_channel_token::cache::{Credentials, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::pool::{Due, TokenPool};
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new();
/// let mut pool = TokenPool::new();
/// for id in ["1000000001", "1000000002"] {
///     line.add_channel(id, ChannelSecret::new("s"));
///     let creds = Credentials::stateless_by_secret(id, ChannelSecret::new("s"));
///     pool.insert(id.to_owned(), TokenCache::new(ApiBase::default(), creds));
/// }
/// let now = UnixTime::from_secs(1_700_000_000);
/// for (id, due) in pool.poll_due(now) {
///     if let Due::Refresh(refresh) = due {
///         let response = line.handle(now, refresh.request());
///         let _ = pool.handle_response(&id, refresh.ticket(), now, &response);
///     }
/// }
/// assert!(pool.token("1000000001", now).is_some() && pool.token("1000000002", now).is_some());
/// ```
#[derive(Debug)]
pub struct TokenPool<K> {
    caches: HashMap<K, Slot>,
    /// Exactly one `(deadline, key)` per channel: its current deadline.
    queue: BTreeSet<(UnixTime, K)>,
}

#[derive(Debug)]
struct Slot {
    cache: Box<TokenCache>,
    deadline: UnixTime,
}

/// What a due channel needs.
///
/// ```
/// use line_channel_token::cache::{Credentials, TokenCache};
/// use line_channel_token::pool::{Due, TokenPool};
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut pool = TokenPool::new();
/// let creds = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s"));
/// pool.insert("1234567890", TokenCache::new(ApiBase::default(), creds));
/// let due = pool.poll_due(UnixTime::from_secs(1_700_000_000));
/// assert!(matches!(due.as_slice(), [("1234567890", Due::Refresh(_))])); // no token yet
/// ```
#[derive(Debug)]
pub enum Due {
    /// Send this refresh; hand the answer to [`TokenPool::handle_response`]. (Boxed: rare.)
    Refresh(Box<Refresh>),
    /// The channel has no usable token and its last refresh failed: the cache retries at its
    /// next deadline, but someone should know.
    Failed(RefreshFailure),
}

impl<K: Hash + Eq + Ord + Clone> Default for TokenPool<K> {
    fn default() -> Self {
        TokenPool::new()
    }
}

impl<K: Hash + Eq + Ord + Clone> TokenPool<K> {
    /// An empty pool.
    pub fn new() -> Self {
        TokenPool {
            caches: HashMap::new(),
            queue: BTreeSet::new(),
        }
    }

    /// An empty pool with room for `channels` without rehashing: an insert that grows the
    /// table moves every entry once (amortised O(1), but one slow call), which a pool sized
    /// up front never does.
    pub fn with_capacity(channels: usize) -> Self {
        TokenPool {
            caches: HashMap::with_capacity(channels),
            queue: BTreeSet::new(),
        }
    }

    /// Adds a channel, or replaces its cache (returning the old one). Answers to refreshes
    /// the old cache handed out are ignored by the new one: tickets do not cross caches.
    pub fn insert(&mut self, key: K, cache: TokenCache) -> Option<TokenCache> {
        let deadline = cache.next_deadline();
        let old = self.caches.insert(
            key.clone(),
            Slot {
                cache: Box::new(cache),
                deadline,
            },
        );
        if let Some(old) = &old {
            self.queue.remove(&(old.deadline, key.clone()));
        }
        self.queue.insert((deadline, key));
        old.map(|s| *s.cache)
    }

    /// Removes a channel.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<TokenCache>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (key, slot) = self.caches.remove_entry(key)?;
        self.queue.remove(&(slot.deadline, key));
        Some(*slot.cache)
    }

    /// How many channels.
    pub fn len(&self) -> usize {
        self.caches.len()
    }

    /// No channels?
    pub fn is_empty(&self) -> bool {
        self.caches.is_empty()
    }

    /// A channel's cache, read-only.
    pub fn get<Q>(&self, key: &Q) -> Option<&TokenCache>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.caches.get(key).map(|s| &*s.cache)
    }

    /// The cache hit: a valid token for the channel, if it has one. No allocation.
    pub fn token<Q>(&self, key: &Q, now: UnixTime) -> Option<&AccessToken>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.caches.get(key)?.cache.token(now)
    }

    /// Changes a channel's cache and reschedules it: to invalidate a token, drain its events
    /// or take its surplus tokens.
    pub fn update<Q, R>(&mut self, key: &Q, f: impl FnOnce(&mut TokenCache) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let key = self.caches.get_key_value(key)?.0.clone();
        let slot = self.caches.get_mut::<K>(&key)?;
        let result = f(&mut slot.cache);
        self.reschedule(&key);
        Some(result)
    }

    /// Drops the channel's token if it is still `rejected` (the Messaging API answered 401
    /// with it); the channel becomes due for one refresh.
    pub fn invalidate<Q>(&mut self, key: &Q, rejected: &AccessToken) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.update(key, |c| c.invalidate(rejected))
            .unwrap_or(false)
    }

    /// The channel's oldest undrained [`Event`].
    pub fn poll_event<Q>(&mut self, key: &Q) -> Option<Event>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.caches.get_mut(key)?.cache.poll_event()
    }

    /// The channel's counted tokens not kept: revoke them (see [`TokenCache::take_surplus`]).
    pub fn take_surplus<Q>(&mut self, key: &Q) -> Vec<IssuedToken>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.caches
            .get_mut(key)
            .map(|s| s.cache.take_surplus())
            .unwrap_or_default()
    }

    /// The earliest time any channel needs attention, in O(log n).
    pub fn next_deadline(&self) -> Option<UnixTime> {
        self.queue.first().map(|(deadline, _)| *deadline)
    }

    /// Every channel whose deadline has come: polls each once and returns what it needs (a
    /// refresh to send, or a failure to report). O(k log n) for k due channels: after a cold
    /// start of a large pool, k is every channel; use [`TokenPool::poll_due_at_most`] to
    /// bound each call.
    pub fn poll_due(&mut self, now: UnixTime) -> Vec<(K, Due)> {
        self.poll_due_at_most(now, usize::MAX)
    }

    /// [`TokenPool::poll_due`] for at most `max` channels, the most overdue first: each call
    /// is O(max log n) whatever the pool's size. The rest stay due; [`next_deadline`]
    /// (`<= now`) says to call again.
    ///
    /// [`next_deadline`]: TokenPool::next_deadline
    pub fn poll_due_at_most(&mut self, now: UnixTime, max: usize) -> Vec<(K, Due)> {
        let mut due = Vec::new();
        while let Some((deadline, _)) = self.queue.first() {
            if *deadline > now || due.len() >= max {
                break;
            }
            if let Some((_, key)) = self.queue.pop_first() {
                due.push(key);
            }
        }
        let mut out = Vec::new();
        for key in due {
            let Some(slot) = self.caches.get_mut(&key) else {
                continue;
            };
            let need = match slot.cache.poll(now) {
                Poll::Refresh(refresh) => Some(Due::Refresh(refresh)),
                Poll::Ready(_) => None,
                Poll::Failed(_) | Poll::Wait(_) | Poll::InFlight(_) => {
                    slot.cache.last_failure().cloned().map(Due::Failed)
                }
            };
            // Popped above: put it back at its new deadline.
            slot.deadline = slot.cache.next_deadline();
            self.queue.insert((slot.deadline, key.clone()));
            if let Some(need) = need {
                out.push((key, need));
            }
        }
        out
    }

    /// Hands a refresh's answer to its channel and reschedules it.
    pub fn handle_response<Q, B: AsRef<[u8]>>(
        &mut self,
        key: &Q,
        ticket: Ticket,
        now: UnixTime,
        response: &Response<B>,
    ) -> Handled
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.update(key, |c| c.handle_response(ticket, now, response))
            .unwrap_or(Handled::Ignored)
    }

    /// A refresh got no response: the channel backs off and is rescheduled.
    pub fn handle_transport_failure<Q>(&mut self, key: &Q, ticket: Ticket, now: UnixTime) -> Handled
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.update(key, |c| c.handle_transport_failure(ticket, now))
            .unwrap_or(Handled::Ignored)
    }

    fn reschedule(&mut self, key: &K) {
        if let Some(slot) = self.caches.get_mut(key) {
            let deadline = slot.cache.next_deadline();
            if deadline != slot.deadline {
                self.queue.remove(&(slot.deadline, key.clone()));
                slot.deadline = deadline;
                self.queue.insert((deadline, key.clone()));
            }
        }
    }
}
