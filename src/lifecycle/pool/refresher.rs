//! The refresher half of a [`SharedPool`]: passes that refresh the channels whose time has
//! come ([`SharedPool::refresh_due`]) and the loops that keep every channel warm for ever
//! ([`SharedPool::keep_warm`]), for threads and async tasks.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::hash::Hash;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use http::{Request, Response};

use super::shared::{Channel, SharedPool};
use super::Due;
use crate::lifecycle::cache::{Sending, TokenCache};
use crate::time::UnixTime;

/// How long an idle refresher (an empty pool) waits before looking again, unless a change
/// wakes it first.
const IDLE: Duration = Duration::from_secs(60);

/// What a refresher waits after a pass that sent nothing while a deadline has come, unless a
/// change wakes it first. A deadline that never moves past `now` (a clock at the end of
/// time, passes of zero channels) would otherwise make it spin, and an async one would never
/// yield to its executor.
const AT_LEAST: Duration = Duration::from_secs(1);

impl<K, F> SharedPool<K, F>
where
    K: Hash + Eq + Ord + Clone,
    F: Fn(&K) -> Option<TokenCache>,
{
    /// The body of [`SharedPool::refresh_due`].
    pub(super) fn pass<B, E>(
        &self,
        now: impl Fn() -> UnixTime,
        max: usize,
        mut send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
    ) -> usize
    where
        B: AsRef<[u8]>,
    {
        let mut sent = 0;
        for (sending, request) in self.due(now(), max) {
            let answer = send(request);
            sending.answer(now(), answer, &mut None);
            sent += 1;
        }
        sent
    }

    /// The body of [`SharedPool::refresh_due_async`].
    pub(super) async fn pass_async<B, E, Fut>(
        &self,
        now: impl Fn() -> UnixTime,
        max: usize,
        mut send: impl FnMut(Request<Vec<u8>>) -> Fut,
    ) -> usize
    where
        B: AsRef<[u8]>,
        Fut: Future<Output = Result<Response<B>, E>>,
    {
        let now = &now;
        let sends: Vec<_> = self
            .due(now(), max)
            .into_iter()
            .map(|(sending, request)| {
                let answer = send(request);
                async move {
                    let answer = answer.await;
                    sending.answer(now(), answer, &mut None);
                }
            })
            .collect();
        let sent = sends.len();
        join_all(sends).await;
        sent
    }

    /// The body of [`SharedPool::keep_warm`].
    pub(super) fn warm<B, E>(
        &self,
        now: impl Fn() -> UnixTime,
        max: usize,
        mut send: impl FnMut(Request<Vec<u8>>) -> Result<Response<B>, E>,
    ) -> !
    where
        B: AsRef<[u8]>,
    {
        loop {
            let sent = self.pass(&now, max, &mut send);
            let (wait, _) = self.idle(now(), sent);
            if !wait.is_zero() {
                let pool = self.lock();
                let next = pool.next_deadline();
                let _ = self
                    .changed
                    .wait_timeout_while(pool, wait, |p| p.next_deadline() == next)
                    .map_err(|p| p.into_inner());
            }
        }
    }

    /// The body of [`SharedPool::keep_warm_async`].
    pub(super) async fn warm_async<B, E, S, Fut>(
        &self,
        now: impl Fn() -> UnixTime,
        mut sleep: impl FnMut(Duration) -> S,
        max: usize,
        mut send: impl FnMut(Request<Vec<u8>>) -> Fut,
    ) -> Infallible
    where
        B: AsRef<[u8]>,
        S: Future<Output = ()>,
        Fut: Future<Output = Result<Response<B>, E>>,
    {
        loop {
            let sent = self.pass_async(&now, max, &mut send).await;
            let (wait, seen) = self.idle(now(), sent);
            if !wait.is_zero() {
                self.tasks.changed_or(seen, sleep(wait)).await;
            }
        }
    }

    /// How long a refresher may wait at `now` after a pass that sent `sent` refreshes, and
    /// the change count to wait on. Only a pass that sent something goes on at once (to the
    /// next `max` due channels).
    fn idle(&self, now: UnixTime, sent: usize) -> (Duration, u64) {
        let pool = self.lock();
        let wait = pool.next_deadline().map_or(IDLE, |d| d - now);
        let wait = if sent == 0 && wait.is_zero() {
            AT_LEAST
        } else {
            wait
        };
        (wait, self.tasks.epoch())
    }

    /// Polls the due channels and takes their refreshes, each under its drop guard at once: a
    /// `send` that panics partway through a pass leaves none of the pass's other channels in
    /// flight until the in-flight timeout.
    fn due(&self, now: UnixTime, max: usize) -> Vec<Taken<'_, K, F>> {
        let due = self.lock().poll_due_at_most(now, max);
        due.into_iter()
            .filter_map(|(key, due)| match due {
                Due::Refresh(refresh) => {
                    let (ticket, request) = refresh.into_parts();
                    let sending = Sending::new(Channel { shared: self, key }, ticket);
                    Some((sending, request))
                }
                Due::Failed(_) => None,
            })
            .collect()
    }
}

/// A refresh a refresher pass took: its drop guard and the request to send.
type Taken<'a, K, F> = (Sending<Channel<'a, K, F>>, Request<Vec<u8>>);

/// Runs every future to completion, polling all of them on each wake (a pass is small).
async fn join_all<T: Future<Output = ()>>(futures: Vec<T>) {
    let mut futures: Vec<Option<Pin<Box<T>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for slot in &mut futures {
            if let Some(future) = slot {
                if future.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
}
