//! Many channels' caches, with the next deadline across all of them in O(log n).
//!
//! For SaaS back ends with thousands of channels: one [`TokenPool`] holds a
//! [`TokenCache`] per channel and a min-heap of their deadlines, so a single background loop
//! can sleep until [`TokenPool::next_deadline`], then [`TokenPool::poll_due`] the channels whose
//! time has come.
//!
//! ```
//! use line_channel_token::cache::{Credentials, TokenCache};
//! use line_channel_token::pool::TokenPool;
//! use line_channel_token::emulator::Emulator;
//! use line_channel_token::{ApiBase, ChannelSecret, OsRng, UnixTime};
//!
//! let mut line = Emulator::new();
//! let mut pool = TokenPool::new();
//! for id in ["1000000001", "1000000002"] {
//!     line.add_channel(id, ChannelSecret::new("s"));
//!     let creds = Credentials::stateless_by_secret(id, ChannelSecret::new("s"));
//!     pool.insert(id.to_string(), TokenCache::new(ApiBase::default(), creds));
//! }
//! let now = UnixTime::from_secs(1_700_000_000);
//! for (channel, refresh) in pool.poll_due(now, &mut OsRng) {
//!     let response = line.handle(now, &refresh.request);
//!     pool.handle_response(&channel, refresh.ticket, now, &response, &mut OsRng).unwrap();
//! }
//! assert!(pool.token(&"1000000001".to_string(), now).is_some());
//! // Nothing to do until the first token enters its refresh window (10 minutes from now).
//! assert_eq!(pool.next_deadline().unwrap().as_secs(), 1_700_000_000 + 600 - 30);
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

use http::Response;
use rsa::rand_core::TryCryptoRng;

use crate::lifecycle::cache::{Poll, Refresh, Ticket, TokenCache};
use crate::protocol::error::Error;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// Token caches keyed by channel (or any key), with a deadline heap.
#[derive(Debug, Clone)]
pub struct TokenPool<K> {
    caches: HashMap<K, Entry>,
    /// (deadline, generation, key): an entry is current only if its generation matches.
    heap: BinaryHeap<Reverse<(UnixTime, u64, K)>>,
    generation: u64,
}

#[derive(Debug, Clone)]
struct Entry {
    cache: TokenCache,
    generation: u64,
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
            heap: BinaryHeap::new(),
            generation: 0,
        }
    }

    /// Adds or replaces a channel's cache. Its first deadline is "now".
    pub fn insert(&mut self, key: K, cache: TokenCache) {
        // `reschedule` gives the entry its generation and heap slot.
        self.caches.insert(
            key.clone(),
            Entry {
                cache,
                generation: 0,
            },
        );
        self.reschedule(&key);
    }

    /// Removes a channel.
    pub fn remove(&mut self, key: &K) -> Option<TokenCache> {
        // Its heap entries go stale and are skipped.
        self.caches.remove(key).map(|e| e.cache)
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
    pub fn get(&self, key: &K) -> Option<&TokenCache> {
        self.caches.get(key).map(|e| &e.cache)
    }

    /// The cache hit: a valid token for the channel, if it has one. No allocation.
    pub fn token(&self, key: &K, now: UnixTime) -> Option<&AccessToken> {
        self.caches.get(key)?.cache.token(now)
    }

    /// Drops a channel's token (say the Messaging API answered 401 with it) and makes the
    /// channel due at once.
    pub fn invalidate(&mut self, key: &K) {
        if let Some(e) = self.caches.get_mut(key) {
            e.cache.invalidate();
        }
        self.reschedule(key);
    }

    /// The earliest time any channel needs attention. O(log n) amortised: stale heap entries
    /// are discarded as they surface.
    pub fn next_deadline(&mut self) -> Option<UnixTime> {
        while let Some(Reverse((deadline, generation, key))) = self.heap.peek() {
            match self.caches.get(key) {
                Some(e) if e.generation == *generation => return Some(*deadline),
                _ => {
                    self.heap.pop();
                }
            }
        }
        None
    }

    /// Every channel whose deadline has come: polls it and returns the refreshes to perform.
    /// Send each request and hand the answer to [`TokenPool::handle_response`].
    pub fn poll_due(&mut self, now: UnixTime, rng: &mut impl TryCryptoRng) -> Vec<(K, Refresh)> {
        // Take the due channels first, so each is polled once per call even if its new
        // deadline is again <= now.
        let mut due = Vec::new();
        while let Some(Reverse((deadline, generation, key))) = self.heap.peek() {
            if *deadline > now {
                break;
            }
            if self
                .caches
                .get(key)
                .is_some_and(|e| e.generation == *generation)
            {
                due.push(key.clone());
            }
            self.heap.pop();
        }
        let mut out = Vec::new();
        for key in due {
            if let Some(entry) = self.caches.get_mut(&key) {
                if let Poll::Refresh(refresh) = entry.cache.poll(now, rng) {
                    out.push((key.clone(), *refresh));
                }
            }
            self.reschedule(&key);
        }
        out
    }

    /// Hands a refresh's response to its channel and reschedules it.
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        key: &K,
        ticket: Ticket,
        now: UnixTime,
        response: &Response<B>,
        rng: &mut impl TryCryptoRng,
    ) -> Result<(), Error> {
        let result = match self.caches.get_mut(key) {
            Some(e) => e.cache.handle_response(ticket, now, response, rng),
            None => return Ok(()),
        };
        self.reschedule(key);
        result
    }

    /// A refresh got no response: the channel backs off and is rescheduled.
    pub fn handle_transport_failure(
        &mut self,
        key: &K,
        ticket: Ticket,
        now: UnixTime,
        rng: &mut impl TryCryptoRng,
    ) {
        if let Some(e) = self.caches.get_mut(key) {
            e.cache.handle_transport_failure(ticket, now, rng);
        }
        self.reschedule(key);
    }

    fn reschedule(&mut self, key: &K) {
        self.generation += 1;
        let generation = self.generation;
        if let Some(e) = self.caches.get_mut(key) {
            e.generation = generation;
            let deadline = e.cache.next_deadline().unwrap_or(UnixTime::EPOCH);
            self.heap.push(Reverse((deadline, generation, key.clone())));
        }
    }
}
