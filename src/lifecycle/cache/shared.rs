//! One cache shared by threads and async tasks: a mutex, a condition variable, the tasks'
//! wakers and the cache's generation.

use std::future::Future;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use http::{Request, Response};

use super::driver::{step, DriveError, Sending, Settle, Step};
use super::wakers::Wakers;
use super::TokenCache;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// A [`TokenCache`] for many threads or async tasks: one refreshes, the others wait and wake
/// as soon as the answer is in, not at the in-flight timeout. Inside the advisory window the
/// others keep getting the current token at once.
///
/// Threads call [`get_token`](Self::get_token) (they wait on a condition variable); async
/// tasks call [`get_token_async`](Self::get_token_async) (they wait on their `Waker`, built
/// on std alone: no runtime, and it builds for `wasm32-unknown-unknown`). Both may share one
/// cache.
/// The lock is never held while sending, nor across an `.await`.
///
/// ```
/// use line_channel_token::http;
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
    tasks: Wakers,
}

impl SharedCache {
    /// Shares `cache`.
    pub fn new(cache: TokenCache) -> SharedCache {
        SharedCache {
            cache: Mutex::new(cache),
            changed: Condvar::new(),
            tasks: Wakers::default(),
        }
    }

    /// The cache itself, locked: to save its state, drain events or invalidate a token.
    /// Call [`SharedCache::notify`] after changing it.
    pub fn lock(&self) -> MutexGuard<'_, TokenCache> {
        // A panic elsewhere cannot leave the cache inconsistent: each method completes its
        // state change before anything can panic.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes every waiting thread and task, to re-poll.
    pub fn notify(&self) {
        self.changed.notify_all();
        self.tasks.wake_all();
    }

    /// How many async tasks are registered to be woken now (waiting for another's refresh).
    /// A task whose future is dropped while it waits is no longer counted.
    pub fn waiting_tasks(&self) -> usize {
        self.tasks.len()
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
    ///
    /// ```
    /// use line_channel_token::cache::{Credentials, SharedCache, TokenCache};
    /// use line_channel_token::emulator::Emulator;
    /// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
    ///
    /// let line = std::sync::Mutex::new(Emulator::new()); // your HTTP client in real code
    /// line.lock().unwrap().add_channel("1234567890", ChannelSecret::new("s3cret"));
    /// let creds = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
    /// let cache = SharedCache::new(TokenCache::new(ApiBase::default(), creds));
    /// let now = || UnixTime::from_secs(1_700_000_000);
    /// let send = |req| Ok::<_, std::io::Error>(line.lock().unwrap().handle(now(), &req));
    /// let token = cache.get_token(now, send).unwrap();
    /// assert_eq!(cache.get_token(now, send).unwrap(), token); // cached: no second request
    /// ```
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
                    let sending = Sending::new(self, ticket);
                    let answer = send(request);
                    sending.answer(now(), answer, &mut transport);
                    cache = self.lock();
                }
            }
        }
    }

    /// Gets a valid token: [`drive_async`](super::drive_async) for tasks sharing one cache.
    /// One task refreshes through `send`; the others wait for its answer (or `sleep`'s timer,
    /// which only matters if that task vanished) without holding any lock. No runtime is
    /// involved and nothing here must be `Send`: the future is `Send` when your `sleep` and
    /// `send` futures are.
    ///
    /// - A task dropped while it sends (a timeout around it, an aborted task) reports the
    ///   refresh abandoned and wakes the others at once: one of them sends it, past the
    ///   issuance throttle, and the rest wait for that answer. A second abandonment in a row
    ///   counts as a failure (backed off).
    /// - A task dropped while it waits leaves nothing registered.
    ///
    /// ```
    /// # futures_executor::block_on(async {
    /// use line_channel_token::cache::{Credentials, SharedCache, TokenCache};
    /// use line_channel_token::emulator::Emulator;
    /// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
    ///
    /// let line = std::sync::Mutex::new(Emulator::new()); // in real code: reqwest, see the module docs
    /// line.lock().unwrap().add_channel("1234567890", ChannelSecret::new("s3cret"));
    /// let cache = SharedCache::new(TokenCache::new(
    ///     ApiBase::default(),
    ///     Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret")),
    /// ));
    /// let now = || UnixTime::from_secs(1_700_000_000); // UnixTime::from(SystemTime::now())
    /// let token = cache
    ///     .get_token_async(
    ///         now,
    ///         |_wait| async {}, // e.g. tokio::time::sleep
    ///         |req| {
    ///             let response = line.lock().unwrap().handle(now(), &req);
    ///             async { Ok::<_, std::io::Error>(response) }
    ///         },
    ///     )
    ///     .await
    ///     .unwrap();
    /// assert_eq!(line.lock().unwrap().authorize(now(), token.expose_secret()), Some("1234567890"));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`drive`](super::drive).
    pub async fn get_token_async<B, E, S, F>(
        &self,
        now: impl Fn() -> UnixTime,
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
            // The guard lives in this block only: no lock is held across an `.await`.
            let next = {
                let mut cache = self.lock();
                match step(&mut cache, now(), &mut transport) {
                    Step::Done(result) => return result,
                    Step::Sleep(wait) => Err((wait, self.tasks.epoch())),
                    Step::Send(ticket, request) => Ok((ticket, request)),
                }
            };
            match next {
                Err((wait, seen)) => {
                    let timer = sleep(wait.max(Duration::from_millis(1)));
                    self.tasks.changed_or(seen, timer).await;
                }
                Ok((ticket, request)) => {
                    let sending = Sending::new(self, ticket);
                    let answer = send(request).await;
                    sending.answer(now(), answer, &mut transport);
                }
            }
        }
    }
}

impl Settle for &SharedCache {
    fn settle(&mut self, f: impl FnOnce(&mut TokenCache)) {
        f(&mut self.lock());
        self.notify();
    }
}
