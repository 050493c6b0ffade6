//! One cache shared by threads: a mutex, a condition variable and the cache's generation.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use http::{Request, Response};

use super::driver::{handle, step, DriveError, Step};
use super::poll::Ticket;
use super::TokenCache;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// A [`TokenCache`] for many threads: one refreshes, the others wait on a condition variable
/// and wake as soon as the answer is in, not at the in-flight timeout.
///
/// The lock is never held while sending. The waiting is the pattern the
/// [module docs](super) describe for async code with `tokio::sync::Notify`.
///
/// ```
/// use std::sync::Arc;
/// use line_channel_token::cache::{Credentials, SharedCache, TokenCache};
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let cache = Arc::new(SharedCache::new(TokenCache::new(
///     ApiBase::default(),
///     Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret")),
/// )));
/// let now = || UnixTime::from_secs(1_700_000_000);
/// let line = |_req| Ok::<_, std::io::Error>(http::Response::new(
///     br#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":900,"token_type":"Bearer"}"#,
/// ));
/// let threads: Vec<_> = (0..4)
///     .map(|_| { let c = Arc::clone(&cache); std::thread::spawn(move || c.get_token(now, line).unwrap()) })
///     .collect();
/// for t in threads { assert_eq!(t.join().unwrap().expose_secret(), "eyJhbGciOiJIUz....."); }
/// ```
#[derive(Debug)]
pub struct SharedCache {
    cache: Mutex<TokenCache>,
    changed: Condvar,
}

impl SharedCache {
    /// Shares `cache`.
    pub fn new(cache: TokenCache) -> SharedCache {
        SharedCache {
            cache: Mutex::new(cache),
            changed: Condvar::new(),
        }
    }

    /// The cache itself, locked: to save its state, drain events or invalidate a token.
    /// Call [`SharedCache::notify`] after changing it.
    pub fn lock(&self) -> MutexGuard<'_, TokenCache> {
        // A panic elsewhere cannot leave the cache inconsistent: each method completes its
        // state change before anything can panic.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes every waiting thread, to re-poll.
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Drops `rejected` if it is still the current token (a Messaging API call answered 401).
    pub fn invalidate(&self, rejected: &AccessToken) -> bool {
        let dropped = self.lock().invalidate(rejected);
        self.notify();
        dropped
    }

    /// Gets a valid token: [`drive`](super::drive) for threads. Waiting uses the condition
    /// variable's own timeout, so it needs no `sleep`.
    ///
    /// # Errors
    ///
    /// As [`drive`](super::drive).
    pub fn get_token<B, E>(
        &self,
        now: impl Fn() -> UnixTime,
        mut send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
    ) -> Result<AccessToken, DriveError<E>>
    where
        B: AsRef<[u8]>,
    {
        let mut transport = None;
        let mut cache = self.lock();
        loop {
            match step(&mut cache, now(), &mut transport) {
                Step::Done(result) => return result,
                Step::Sleep(wait) => {
                    let seen = cache.generation();
                    cache = self
                        .changed
                        .wait_timeout_while(cache, wait.max(Duration::from_millis(1)), |c| {
                            c.generation() == seen
                        })
                        .map(|(guard, _)| guard)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
                Step::Send(ticket, request) => {
                    drop(cache);
                    let sending = Sending {
                        shared: self,
                        ticket,
                        armed: true,
                    };
                    let answer = send(request);
                    // Read the clock before locking: should `now` panic, the guard's drop
                    // takes the lock itself.
                    let at = now();
                    cache = self.lock();
                    handle(&mut cache, sending.disarm(), at, answer, &mut transport);
                    self.notify();
                }
            }
        }
    }
}

/// A refresh one thread is sending without the lock. If `send` panics, the drop reports the
/// refresh abandoned and wakes the waiting threads: they must not wait out the in-flight
/// timeout for an answer that cannot come.
struct Sending<'a> {
    shared: &'a SharedCache,
    ticket: Ticket,
    armed: bool,
}

impl Sending<'_> {
    /// `send` returned: its answer is handed over by the caller.
    fn disarm(mut self) -> Ticket {
        self.armed = false;
        self.ticket
    }
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.lock().abandon(self.ticket);
            self.shared.notify();
        }
    }
}
