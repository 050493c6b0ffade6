//! A [`TokenPool`] shared by threads and async tasks: request paths get tokens per channel
//! with one refresh in flight per channel, and a refresher keeps every channel warm (its
//! passes and loops live in `refresher.rs`).

use std::borrow::Borrow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use http::{Request, Response};

use super::{PoolError, TokenPool};
use crate::lifecycle::cache::{step, Sending, Settle, Step, TokenCache, Wakers};
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// A closure giving no cache for any channel: a pool whose channels are all added up front.
///
/// ```
/// use line_channel_token::pool::{SharedPool, TokenPool};
/// let pool: SharedPool<String> = SharedPool::new(TokenPool::new(), |_: &String| None);
/// assert!(pool.lock().is_empty());
/// ```
pub type NoTenants<K> = fn(&K) -> Option<TokenCache>;

/// Many channels' caches for many threads or async tasks: what
/// [`SharedCache`](crate::cache::SharedCache) is for one channel.
///
/// - **Request paths** call [`get_token`](Self::get_token) (threads) or
///   [`get_token_async`](Self::get_token_async) (tasks) with a channel: one caller per channel
///   refreshes, the others wait for its answer; channels never wait for each other.
/// - **A refresher** ([`keep_warm`](Self::keep_warm), [`keep_warm_async`](Self::keep_warm_async),
///   or one pass of [`refresh_due`](Self::refresh_due)) refreshes channels as their advisory
///   windows open, through [`TokenPool::poll_due_at_most`], so request paths almost never
///   wait for LINE.
/// - **Tenants come and go while it runs**: [`insert`](Self::insert),
///   [`remove`](Self::remove), or the `tenants` closure, which builds the cache of a channel
///   asked for the first time (return `None` for a channel you do not serve). It is called
///   without the pool's lock held.
///
/// The lock is never held while sending, nor across an `.await`. No runtime is involved.
///
/// ```
/// use line_channel_token::cache::{Credentials, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::pool::{SharedPool, TokenPool};
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let line = std::sync::Mutex::new(Emulator::new()); // your HTTP client in real code
/// for id in ["1000000001", "1000000002"] {
///     line.lock().unwrap().add_channel(id, ChannelSecret::new("s"));
/// }
/// // Credentials of a tenant, looked up the first time it is asked for.
/// let tenants = |id: &String| {
///     let creds = Credentials::stateless_by_secret(id.as_str(), ChannelSecret::new("s"));
///     Some(TokenCache::builder(ApiBase::default(), creds).record_events(false).build())
/// };
/// let pool = SharedPool::new(TokenPool::new(), tenants);
/// let now = || UnixTime::from_secs(1_700_000_000);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.lock().unwrap().handle(now(), &req));
/// let token = pool.get_token("1000000002", now, send).unwrap();
/// assert_eq!(line.lock().unwrap().authorize(now(), token.expose_secret()), Some("1000000002"));
/// // A refresher thread would run `pool.keep_warm(now, 64, send)`; one pass:
/// assert_eq!(pool.refresh_due(now, 64, send), 0); // nothing is due yet
/// ```
pub struct SharedPool<K, F = NoTenants<K>> {
    pool: Mutex<TokenPool<K>>,
    pub(super) changed: Condvar,
    pub(super) tasks: Wakers,
    tenants: F,
}

impl<K: fmt::Debug, F> fmt::Debug for SharedPool<K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPool")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl<K, F> SharedPool<K, F>
where
    K: Hash + Eq + Ord + Clone,
    F: Fn(&K) -> Option<TokenCache>,
{
    /// Shares `pool`; `tenants` builds the cache of a channel not in it (see the type's docs).
    pub fn new(pool: TokenPool<K>, tenants: F) -> Self {
        SharedPool {
            pool: Mutex::new(pool),
            changed: Condvar::new(),
            tasks: Wakers::default(),
            tenants,
        }
    }

    /// The pool itself, locked: to drain events or take surplus tokens. Call
    /// [`SharedPool::notify`] after changing it.
    pub fn lock(&self) -> MutexGuard<'_, TokenPool<K>> {
        // Every pool and cache method completes its change before anything can panic.
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes every waiting thread and task (request paths and refreshers), to re-poll.
    pub fn notify(&self) {
        self.changed.notify_all();
        self.tasks.wake_all();
    }

    /// Adds a channel, or replaces its cache (returning the old one).
    pub fn insert(&self, key: K, cache: TokenCache) -> Option<TokenCache> {
        let old = self.lock().insert(key, cache);
        self.notify();
        old
    }

    /// Removes a channel. A refresh in flight for it is answered to nobody; its waiters
    /// wake and ask the tenants closure again.
    pub fn remove<Q>(&self, key: &Q) -> Option<TokenCache>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let old = self.lock().remove(key);
        self.notify();
        old
    }

    /// Drops the channel's token if it is still `rejected` (a Messaging API call answered
    /// 401 with it): see [`TokenCache::invalidate`].
    pub fn invalidate<Q>(&self, key: &Q, rejected: &AccessToken) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let dropped = self.lock().invalidate(key, rejected);
        self.notify();
        dropped
    }

    /// The channel's valid token, if it has one: never waits, never refreshes.
    pub fn token<Q>(&self, key: &Q, now: UnixTime) -> Option<AccessToken>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().token(key, now).cloned()
    }

    /// How many async tasks are registered to be woken now. A task whose future is dropped
    /// while it waits is no longer counted.
    pub fn waiting_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// The channel's cache, built by the tenants closure (without the lock) if it is new.
    fn admit<Q>(&self, key: &Q) -> Result<(), ()>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.lock().get(key).is_some() {
            return Ok(());
        }
        let owned = key.to_owned();
        let cache = (self.tenants)(&owned).ok_or(())?;
        let mut pool = self.lock();
        if pool.get(key).is_none() {
            pool.insert(owned, cache);
        }
        Ok(())
    }

    /// One turn of a request path's loop, under the lock.
    fn turn<Q, E>(
        &self,
        key: &Q,
        now: UnixTime,
        transport: &mut Option<E>,
    ) -> Result<Turn<E>, PoolError<E>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(token) = self.lock().token(key, now) {
            return Ok(Turn::Step(Step::Done(Ok(token.clone()))));
        }
        self.admit(key).map_err(|()| PoolError::UnknownChannel)?;
        let mut pool = self.lock();
        let step = pool
            .update(key, |c| step(c, now, transport))
            .ok_or(PoolError::UnknownChannel)?;
        let generation = pool.get(key).map(TokenCache::generation);
        Ok(match step {
            Step::Sleep(wait) => Turn::Wait(wait, generation, self.tasks.epoch()),
            other => Turn::Step(other),
        })
    }

    /// Gets a valid token for the channel: [`SharedCache::get_token`] per channel, adding
    /// the channel through the tenants closure if it is new.
    ///
    /// [`SharedCache::get_token`]: crate::cache::SharedCache::get_token
    ///
    /// # Errors
    ///
    /// [`PoolError::UnknownChannel`] if the channel is not in the pool and the tenants
    /// closure gave none; else as [`drive`](crate::cache::drive).
    ///
    /// ```
    /// use line_channel_token::pool::{PoolError, SharedPool, TokenPool};
    /// use line_channel_token::{http, UnixTime};
    /// let pool: SharedPool<String> = SharedPool::new(TokenPool::new(), |_: &String| None);
    /// let send = |_req| Ok::<_, std::io::Error>(http::Response::new(Vec::new()));
    /// let got = pool.get_token("1234567890", || UnixTime::from_secs(0), send);
    /// assert!(matches!(got, Err(PoolError::UnknownChannel))); // not a tenant
    /// ```
    pub fn get_token<Q, B, E>(
        &self,
        key: &Q,
        now: impl Fn() -> UnixTime,
        mut send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
    ) -> Result<AccessToken, PoolError<E>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        B: AsRef<[u8]>,
    {
        let mut transport = None;
        loop {
            match self.turn(key, now(), &mut transport)? {
                Turn::Step(Step::Done(result)) => return result.map_err(PoolError::Drive),
                Turn::Step(Step::Send(ticket, request)) => {
                    let sending = Sending::new(self.channel(key), ticket);
                    let answer = send(request);
                    sending.answer(now(), answer, &mut transport);
                }
                Turn::Step(Step::Sleep(_)) => {}
                Turn::Wait(wait, seen, _) => {
                    let pool = self.lock();
                    let unchanged =
                        |p: &mut TokenPool<K>| p.get(key).map(TokenCache::generation) == seen;
                    let _ = self
                        .changed
                        .wait_timeout_while(pool, wait.max(Duration::from_millis(1)), unchanged)
                        .map_err(|p| p.into_inner());
                }
            }
        }
    }

    /// [`get_token`](Self::get_token) for async tasks: [`SharedCache::get_token_async`] per
    /// channel. `sleep` makes a timer future (`tokio::time::sleep`).
    ///
    /// [`SharedCache::get_token_async`]: crate::cache::SharedCache::get_token_async
    ///
    /// # Errors
    ///
    /// As [`get_token`](Self::get_token).
    ///
    /// ```
    /// # futures_executor::block_on(async {
    /// use line_channel_token::pool::{PoolError, SharedPool, TokenPool};
    /// use line_channel_token::{http, UnixTime};
    /// let pool: SharedPool<String> = SharedPool::new(TokenPool::new(), |_: &String| None);
    /// let send = |_req| async { Ok::<_, std::io::Error>(http::Response::new(Vec::new())) };
    /// let now = || UnixTime::from_secs(0);
    /// let got = pool.get_token_async("1234567890", now, |_wait| async {}, send).await;
    /// assert!(matches!(got, Err(PoolError::UnknownChannel)));
    /// # });
    /// ```
    pub async fn get_token_async<Q, B, E, S, Fut>(
        &self,
        key: &Q,
        now: impl Fn() -> UnixTime,
        mut sleep: impl FnMut(Duration) -> S,
        mut send: impl FnMut(Request<Vec<u8>>) -> Fut,
    ) -> Result<AccessToken, PoolError<E>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        B: AsRef<[u8]>,
        S: Future<Output = ()>,
        Fut: Future<Output = Result<Response<B>, E>>,
    {
        let mut transport = None;
        loop {
            match self.turn(key, now(), &mut transport)? {
                Turn::Step(Step::Done(result)) => return result.map_err(PoolError::Drive),
                Turn::Step(Step::Send(ticket, request)) => {
                    let sending = Sending::new(self.channel(key), ticket);
                    let answer = send(request).await;
                    sending.answer(now(), answer, &mut transport);
                }
                Turn::Step(Step::Sleep(_)) => {}
                Turn::Wait(wait, _, seen) => {
                    let timer = sleep(wait.max(Duration::from_millis(1)));
                    self.tasks.changed_or(seen, timer).await;
                }
            }
        }
    }

    fn channel<Q>(&self, key: &Q) -> Channel<'_, K, F>
    where
        Q: ToOwned<Owned = K> + ?Sized,
    {
        Channel {
            shared: self,
            key: key.to_owned(),
        }
    }

    /// One refresher pass: polls at most `max` due channels (the most overdue first) and
    /// sends their refreshes through `send`, one after another. Returns how many it sent.
    /// Failures are recorded in each channel's cache (its events and `last_failure`), and
    /// it retries them after their backoff. Several threads may run passes at once: each
    /// due channel goes to one of them.
    pub fn refresh_due<B, E>(
        &self,
        now: impl Fn() -> UnixTime,
        max: usize,
        send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
    ) -> usize
    where
        B: AsRef<[u8]>,
    {
        self.pass(now, max, send)
    }

    /// [`refresh_due`](Self::refresh_due) for async clients: the pass's refreshes are sent
    /// concurrently (at most `max` at once). Dropped mid-pass, each refresh still in flight
    /// is reported abandoned.
    pub async fn refresh_due_async<B, E, Fut>(
        &self,
        now: impl Fn() -> UnixTime,
        max: usize,
        send: impl FnMut(Request<Vec<u8>>) -> Fut,
    ) -> usize
    where
        B: AsRef<[u8]>,
        Fut: Future<Output = Result<Response<B>, E>>,
    {
        self.pass_async(now, max, send).await
    }

    /// Keeps every channel warm, for ever: [`refresh_due`](Self::refresh_due) passes of at
    /// most `max` channels, waiting in between until the next deadline or a change (a
    /// channel added, an answer, an invalidation). Run it on its own thread.
    pub fn keep_warm<B, E>(
        &self,
        now: impl Fn() -> UnixTime,
        max: usize,
        send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
    ) -> !
    where
        B: AsRef<[u8]>,
    {
        self.warm(now, max, send)
    }

    /// [`keep_warm`](Self::keep_warm) for async clients: spawn it as a task; it never
    /// returns. Drop (abort) the task to stop it: refreshes in flight are reported abandoned.
    pub async fn keep_warm_async<B, E, S, Fut>(
        &self,
        now: impl Fn() -> UnixTime,
        sleep: impl FnMut(Duration) -> S,
        max: usize,
        send: impl FnMut(Request<Vec<u8>>) -> Fut,
    ) -> Infallible
    where
        B: AsRef<[u8]>,
        S: Future<Output = ()>,
        Fut: Future<Output = Result<Response<B>, E>>,
    {
        self.warm_async(now, sleep, max, send).await
    }
}

/// What a request path does after one turn. (Lives on the stack for one turn: boxing the
/// large variant would allocate on every refresh for nothing.)
#[allow(clippy::large_enum_variant)]
enum Turn<E> {
    Step(Step<E>),
    /// Wait this long at most, for the channel's generation (threads) or the change count
    /// (tasks) to move.
    Wait(Duration, Option<u64>, u64),
}

/// One channel of a shared pool, for the drop guard: its answer goes to that channel (if
/// it is still there), which is rescheduled, and every waiter wakes.
pub(super) struct Channel<'a, K, F> {
    pub(super) shared: &'a SharedPool<K, F>,
    pub(super) key: K,
}

impl<K, F> Settle for Channel<'_, K, F>
where
    K: Hash + Eq + Ord + Clone,
    F: Fn(&K) -> Option<TokenCache>,
{
    fn settle(&mut self, f: impl FnOnce(&mut TokenCache)) {
        let _ = self.shared.lock().update(&self.key, f);
        self.shared.notify();
    }
}
