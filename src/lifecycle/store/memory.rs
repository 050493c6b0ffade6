//! A store in this process's memory: one key, for tests and for a fleet on one machine.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use zeroize::Zeroizing;

use super::drive::{AsyncStore, Store};
use super::read::{Body, Read};
use super::record::MAX_RECORD_LEN;
use super::write::Write;
use crate::time::UnixTime;

/// One store key in this process's memory: a version and a body, read and compare-and-swapped
/// atomically, expiring after [`Write::keep_for`]. Implements [`Store`] and [`AsyncStore`].
///
/// It serves one process: tests, and deployments whose processes are threads of one program
/// on one machine. Its clones are handles to the same key behind a `Mutex` (held for one
/// read or swap, never across a call to LINE or an `.await`): give each thread or task a
/// clone. A fleet of several processes needs a store they share (Redis, SQL: see the
/// [module](super)).
///
/// The library never reads the clock: `clock` is the store's time, handed out with every
/// read (the fleet's one clock) and used for the key's expiry; pass the machine's clock
/// (`UnixTime::from(SystemTime::now())`) or a test's.
///
/// The body holds the shared access token: `Debug` shows only the version and the body's
/// length, and the body is wiped from memory when replaced or dropped.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{Body, MemoryStore, Store};
/// use line_channel_token::UnixTime;
///
/// let mut store = MemoryStore::new(|| UnixTime::from_secs(1_700_000_000));
/// let read = store.read().unwrap(); // never fails
/// assert_eq!((read.now, read.version, read.body), (UnixTime::from_secs(1_700_000_000), 0, Body::Absent));
/// let other_thread = store.clone(); // the same key
/// # use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};
/// # use line_channel_token::TokenKind;
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let (record, _) = Record::from_store(0, None, read.now, &config)?;
/// # let Decision::TakeLease(take) = decide(&record, read.now, OwnerId::new(7), &config) else { panic!() };
/// assert!(store.swap(&take)?); // `take` expects version 0: applied
/// assert!(!store.swap(&take)?); // the key is at another version now: refused
/// assert_eq!(other_thread.version(), take.new_version());
/// println!("{store:?}"); // the version and the body's length, never the body
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemoryStore<C> {
    key: Arc<Mutex<Key<C>>>,
}

struct Key<C> {
    clock: C,
    version: u64,
    body: Option<Zeroizing<String>>,
    expires_at: UnixTime,
}

impl<C: FnMut() -> UnixTime> MemoryStore<C> {
    /// An absent key (version 0) whose store time is `clock`.
    pub fn new(clock: C) -> MemoryStore<C> {
        MemoryStore {
            key: Arc::new(Mutex::new(Key {
                clock,
                version: 0,
                body: None,
                expires_at: UnixTime::from_secs(0),
            })),
        }
    }

    /// The key's version now, `0` if it does not exist (or has expired).
    pub fn version(&self) -> u64 {
        let mut key = self.lock();
        let now = (key.clock)();
        key.expire(now);
        key.version
    }

    /// One read: the store's time, the version and the body, or [`Body::TooLarge`] for a body
    /// over [`MAX_RECORD_LEN`] (which a [`Write`] never holds).
    fn get(&self) -> Read {
        let mut key = self.lock();
        let now = (key.clock)();
        key.expire(now);
        let body = match &key.body {
            None => Body::Absent,
            Some(b) if b.len() > MAX_RECORD_LEN => Body::TooLarge(b.len()),
            Some(b) => Body::Present(b.as_bytes().to_vec()),
        };
        Read {
            now,
            version: key.version,
            body,
        }
    }

    /// The compare-and-swap: applies `write` if the key is at its expected version.
    fn put(&self, write: &Write) -> bool {
        let mut key = self.lock();
        let now = (key.clock)();
        key.expire(now);
        if key.version != write.expected_version() {
            return false;
        }
        key.version = write.new_version();
        key.body = Some(Zeroizing::new(write.body()));
        key.expires_at = now + write.keep_for();
        true
    }

    /// Nothing panics while the lock is held, so a poisoned lock still guards a whole key.
    fn lock(&self) -> MutexGuard<'_, Key<C>> {
        self.key.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<C> Key<C> {
    /// The key is gone once its expiry has passed, as a store's TTL would have it.
    fn expire(&mut self, now: UnixTime) {
        if self.body.is_some() && now >= self.expires_at {
            self.version = 0;
            self.body = None;
        }
    }
}

impl<C> Clone for MemoryStore<C> {
    /// Another handle to the same key.
    fn clone(&self) -> Self {
        MemoryStore {
            key: Arc::clone(&self.key),
        }
    }
}

impl<C> fmt::Debug for MemoryStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("MemoryStore")
            .field("version", &key.version)
            .field("body_len", &key.body.as_ref().map(|b| b.len()))
            .field("expires_at", &key.expires_at)
            .finish_non_exhaustive()
    }
}

impl<C: FnMut() -> UnixTime> Store for MemoryStore<C> {
    /// A store in memory does not fail.
    type Error = std::convert::Infallible;
    fn read(&mut self) -> Result<Read, Self::Error> {
        Ok(self.get())
    }
    fn swap(&mut self, write: &Write) -> Result<bool, Self::Error> {
        Ok(self.put(write))
    }
}

impl<C: FnMut() -> UnixTime> AsyncStore for MemoryStore<C> {
    /// A store in memory does not fail.
    type Error = std::convert::Infallible;
    async fn read(&mut self) -> Result<Read, Self::Error> {
        Ok(self.get())
    }
    async fn swap(&mut self, write: &Write) -> Result<bool, Self::Error> {
        Ok(self.put(write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_the_limit_is_refused_unread() {
        let store = MemoryStore::new(|| UnixTime::from_secs(1));
        {
            let mut key = store.lock();
            key.version = 3;
            key.body = Some(Zeroizing::new("x".repeat(MAX_RECORD_LEN + 1)));
            key.expires_at = UnixTime::from_secs(10);
        }
        assert_eq!(store.get().body, Body::TooLarge(MAX_RECORD_LEN + 1));
        store.lock().body = Some(Zeroizing::new("x".repeat(MAX_RECORD_LEN)));
        assert!(matches!(store.get().body, Body::Present(b) if b.len() == MAX_RECORD_LEN));
    }
}
