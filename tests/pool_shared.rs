//! `SharedPool`: many channels for threads and tasks. One refresh in flight per channel,
//! channels that do not wait for each other, tenants added and removed while refreshes are
//! in flight, and a refresher that keeps every channel warm.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::{pending, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll as TaskPoll, Waker};
use std::time::{Duration, SystemTime};

use common::cache::T0;
use line_channel_token::cache::{Credentials, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::{PoolError, SharedPool, TokenPool};
use line_channel_token::Operation;
use line_channel_token::{AccessToken, ApiBase, ChannelSecret, UnixTime};

fn id(n: usize) -> String {
    format!("{}", 1_000_000_000 + n)
}

fn line_with(channels: usize) -> Emulator {
    let mut line = Emulator::with_seed(3);
    for n in 0..channels {
        line.add_channel(&id(n), ChannelSecret::new("s"));
    }
    line
}

fn cache(channel: &str) -> TokenCache {
    let creds = Credentials::stateless_by_secret(channel, ChannelSecret::new("s"));
    TokenCache::builder(ApiBase::default(), creds)
        .seed(9)
        .record_events(false)
        .build()
}

/// Tenants known to the service: the first `n` channel ids. Counts its calls.
fn tenants(n: usize, calls: &Arc<AtomicUsize>) -> impl Fn(&String) -> Option<TokenCache> {
    let calls = calls.clone();
    move |channel: &String| {
        calls.fetch_add(1, Ordering::SeqCst);
        let k: usize = channel.parse::<usize>().ok()?.checked_sub(1_000_000_000)?;
        (k < n).then(|| cache(channel))
    }
}

#[test]
fn threads_on_one_channel_share_one_issuance_and_new_tenants_come_from_the_closure() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pool = Arc::new(SharedPool::new(TokenPool::new(), tenants(4, &calls)));
    let line = Arc::new(Mutex::new(line_with(4)));
    let start = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let (pool, line, start) = (pool.clone(), line.clone(), start.clone());
            std::thread::spawn(move || {
                let now = || UnixTime::from(SystemTime::now());
                start.wait();
                let channel = id(i % 2);
                let token = pool
                    .get_token(channel.as_str(), now, |req| {
                        std::thread::sleep(Duration::from_millis(100));
                        Ok::<_, std::convert::Infallible>(line.lock().unwrap().handle(now(), &req))
                    })
                    .unwrap();
                (channel, token)
            })
        })
        .collect();
    let mut seen: HashMap<String, AccessToken> = HashMap::new();
    for t in threads {
        let (channel, token) = t.join().unwrap();
        assert_eq!(seen.entry(channel).or_insert(token.clone()), &token);
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(
        line.lock().unwrap().calls(Operation::IssueStateless),
        2,
        "one issuance per channel"
    );
    assert_eq!(pool.lock().len(), 2);
    let now = || UnixTime::from(SystemTime::now());
    let never = |_req| -> Result<http::Response<Vec<u8>>, std::io::Error> {
        panic!("an unknown channel is never sent for")
    };
    assert!(matches!(
        pool.get_token("9999999999", now, never),
        Err(PoolError::UnknownChannel)
    ));
    assert_eq!(pool.lock().len(), 2);
}

/// Per channel: whether its gate is open, and the task to wake when it opens.
type GateMap = HashMap<String, (bool, Option<Waker>)>;

/// A `send` whose answers wait for the test to open the channel's gate; counts the sends.
#[derive(Clone, Default)]
struct Gates(Rc<RefCell<GateMap>>, Rc<Cell<usize>>);

type Answer = Result<http::Response<Vec<u8>>, std::io::Error>;

impl Gates {
    fn open(&self, channel: &str) {
        let mut gates = self.0.borrow_mut();
        let gate = gates.entry(channel.to_string()).or_default();
        gate.0 = true;
        if let Some(w) = gate.1.take() {
            w.wake();
        }
    }
    fn send(
        &self,
        line: &Rc<RefCell<Emulator>>,
        now: UnixTime,
    ) -> impl FnMut(http::Request<Vec<u8>>) -> Pin<Box<dyn Future<Output = Answer>>> {
        let (gates, line) = (self.clone(), line.clone());
        move |req| {
            gates.1.set(gates.1.get() + 1);
            let body = String::from_utf8_lossy(req.body()).into_owned();
            let channel = body
                .split('&')
                .find_map(|kv| kv.strip_prefix("client_id="))
                .unwrap_or_default()
                .to_string();
            let (gates, line) = (gates.clone(), line.clone());
            Box::pin(std::future::poll_fn(move |cx| {
                let mut all = gates.0.borrow_mut();
                let gate = all.entry(channel.clone()).or_default();
                if gate.0 {
                    TaskPoll::Ready(Ok(line.borrow_mut().handle(now, &req)))
                } else {
                    gate.1 = Some(cx.waker().clone());
                    TaskPoll::Pending
                }
            }))
        }
    }
}

type Got<'a> = Pin<Box<dyn Future<Output = Result<AccessToken, PoolError<std::io::Error>>> + 'a>>;

/// A task getting `channel`'s token at T0, answered through `gates`; its timer never fires.
fn fetch<'a, F: Fn(&String) -> Option<TokenCache>>(
    pool: &'a SharedPool<String, F>,
    gates: &Gates,
    line: &Rc<RefCell<Emulator>>,
    channel: String,
) -> Got<'a> {
    let send = gates.send(line, T0);
    Box::pin(async move {
        pool.get_token_async(channel.as_str(), || T0, |_| pending(), send)
            .await
    })
}

fn poll_once<T>(f: &mut Pin<Box<dyn Future<Output = T> + '_>>) -> TaskPoll<T> {
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn channels_do_not_wait_for_each_other_and_each_has_one_refresh_in_flight() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pool = SharedPool::new(TokenPool::new(), tenants(2, &calls));
    let (gates, line) = (Gates::default(), Rc::new(RefCell::new(line_with(2))));
    let get = |channel: String| fetch(&pool, &gates, &line, channel);
    let mut a: Vec<Got> = (0..5).map(|_| get(id(0))).collect();
    for f in &mut a {
        assert!(poll_once(f).is_pending());
    }
    assert_eq!(gates.1.get(), 1, "one refresh for channel 0");
    assert_eq!(pool.waiting_tasks(), 4);
    // Channel 1 is not held up by channel 0's refresh.
    gates.open(&id(1));
    let mut b = get(id(1));
    assert!(matches!(poll_once(&mut b), TaskPoll::Ready(Ok(_))));
    // Its answer woke channel 0's waiters; they look and go back to waiting.
    for f in &mut a {
        assert!(poll_once(f).is_pending());
    }
    gates.open(&id(0));
    let tokens: Vec<AccessToken> = a
        .iter_mut()
        .map(|f| match poll_once(f) {
            TaskPoll::Ready(Ok(t)) => t,
            _ => panic!("not answered"),
        })
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(gates.1.get(), 2);
    assert_eq!(pool.waiting_tasks(), 0);
}

#[test]
fn a_channel_removed_while_refreshing_wakes_its_waiters_and_comes_back_through_the_closure() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pool = SharedPool::new(TokenPool::new(), tenants(2, &calls));
    let (gates, line) = (Gates::default(), Rc::new(RefCell::new(line_with(2))));
    let get = |channel: String| fetch(&pool, &gates, &line, channel);
    let mut refresher = get(id(0));
    let mut waiter = get(id(0));
    assert!(poll_once(&mut refresher).is_pending());
    assert!(poll_once(&mut waiter).is_pending());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The tenant is removed mid-refresh (its plan changed), then asked for again.
    assert!(pool.remove(id(0).as_str()).is_some());
    assert!(pool.lock().is_empty());
    // The waiter woke: it re-adds the channel through the closure and refreshes itself.
    assert!(poll_once(&mut waiter).is_pending());
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(gates.1.get(), 2, "the new cache has its own refresh");
    // Channels added while others refresh.
    let fresh = cache(&id(1));
    assert!(pool.insert(id(1), fresh).is_none());
    gates.open(&id(0));
    // The removed cache's answer goes nowhere: its caller waits for the new cache's.
    assert!(poll_once(&mut refresher).is_pending());
    let TaskPoll::Ready(Ok(t)) = poll_once(&mut waiter) else {
        panic!("the new cache's refresh is answered");
    };
    let TaskPoll::Ready(Ok(same)) = poll_once(&mut refresher) else {
        panic!("woken by the new cache's answer");
    };
    assert_eq!(same, t);
    assert_eq!(pool.token(id(0).as_str(), T0).as_ref(), Some(&t));
    assert_eq!(pool.lock().len(), 2);
    assert_eq!(pool.waiting_tasks(), 0);
}

#[test]
fn a_refresh_dropped_mid_send_is_taken_over_by_its_waiter() {
    let calls = Arc::new(AtomicUsize::new(0));
    let pool = SharedPool::new(TokenPool::new(), tenants(1, &calls));
    let (gates, line) = (Gates::default(), Rc::new(RefCell::new(line_with(1))));
    let get = |channel: String| fetch(&pool, &gates, &line, channel);
    let mut refresher = get(id(0));
    let mut waiter = get(id(0));
    assert!(poll_once(&mut refresher).is_pending());
    assert!(poll_once(&mut waiter).is_pending());
    drop(refresher);
    assert_eq!(pool.waiting_tasks(), 0);
    // Not a failure: the waiter sends the refresh itself, at once.
    assert!(poll_once(&mut waiter).is_pending());
    assert_eq!(gates.1.get(), 2);
    gates.open(&id(0));
    assert!(matches!(poll_once(&mut waiter), TaskPoll::Ready(Ok(_))));
}

/// A clock the refresher and the requesters share, moved by the test.
#[derive(Clone)]
struct Clock(Arc<Mutex<UnixTime>>);

impl Clock {
    fn now(&self) -> UnixTime {
        *self.0.lock().unwrap()
    }
}

#[test]
fn the_refresher_keeps_every_channel_warm_so_requests_never_wait() {
    const CHANNELS: usize = 2_000;
    let pool = SharedPool::new(
        TokenPool::with_capacity(CHANNELS),
        tenants(0, &Arc::default()),
    );
    for n in 0..CHANNELS {
        pool.insert(id(n), cache(&id(n)));
    }
    let line = Mutex::new(line_with(CHANNELS));
    let clock = Clock(Arc::new(Mutex::new(T0)));
    let send = |req: http::Request<Vec<u8>>| {
        Ok::<_, std::convert::Infallible>(line.lock().unwrap().handle(clock.now(), &req))
    };
    let now = || clock.now();
    // Warm up: passes of at most 256 channels.
    while pool.refresh_due(now, 256, send) > 0 {}
    let issued = line.lock().unwrap().calls(Operation::IssueStateless);
    assert_eq!(issued, CHANNELS as u64);
    // Two refresh periods (15-minute tokens, refreshed 5 minutes ahead), in 1 s steps.
    let mut misses = 0;
    let mut rng = 12345u64;
    for _ in 0..(2 * 15 * 60) {
        *clock.0.lock().unwrap() = clock.now() + Duration::from_secs(1);
        while pool.refresh_due(now, 256, send) > 0 {}
        for _ in 0..20 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let channel = id((rng >> 33) as usize % CHANNELS);
            if pool.token(channel.as_str(), clock.now()).is_none() {
                misses += 1;
            }
        }
    }
    assert_eq!(misses, 0, "requests that had to wait for LINE");
    let issued = line.lock().unwrap().calls(Operation::IssueStateless);
    // Each channel refreshed about once per 10 minutes: 2-4 more issuances each in 30 min.
    assert!(
        issued >= 3 * CHANNELS as u64 && issued <= 5 * CHANNELS as u64,
        "{issued}"
    );
}

#[test]
fn keep_warm_async_runs_on_tokio_picks_up_added_channels_and_stops_when_aborted() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = Arc::new(SharedPool::new(
            TokenPool::new(),
            tenants(0, &Arc::default()),
        ));
        let line = Arc::new(Mutex::new(line_with(8)));
        let now = || UnixTime::from(SystemTime::now());
        let send = {
            let line = line.clone();
            move |req: http::Request<Vec<u8>>| {
                let response = line.lock().unwrap().handle(now(), &req);
                async move { Ok::<_, std::io::Error>(response) }
            }
        };
        let refresher = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.keep_warm_async(now, tokio::time::sleep, 64, send)
                    .await
            }
        });
        for n in 0..8 {
            pool.insert(id(n), cache(&id(n)));
        }
        // The refresher wakes on the insertions, not after its idle minute.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while (0..8).any(|n| pool.token(id(n).as_str(), now()).is_none()) {
            assert!(std::time::Instant::now() < deadline, "channels not warmed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        refresher.abort();
        assert!(refresher.await.unwrap_err().is_cancelled());
        assert_eq!(line.lock().unwrap().calls(Operation::IssueStateless), 8);
        assert_eq!(pool.waiting_tasks(), 0);
    });
}

#[test]
fn keep_warm_on_a_thread_wakes_for_channels_added_while_it_waits() {
    let pool = Arc::new(SharedPool::new(
        TokenPool::new(),
        tenants(0, &Arc::default()),
    ));
    let line = Arc::new(Mutex::new(line_with(4)));
    let now = || UnixTime::from(SystemTime::now());
    pool.insert(id(0), cache(&id(0)));
    // The refresher runs for the rest of the test process (it never returns).
    std::thread::spawn({
        let (pool, line) = (pool.clone(), line.clone());
        move || {
            pool.keep_warm(now, 64, |req| {
                Ok::<_, std::convert::Infallible>(line.lock().unwrap().handle(now(), &req))
            })
        }
    });
    let warm = |n: usize| pool.token(id(n).as_str(), now()).is_some();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !warm(0) {
        assert!(std::time::Instant::now() < deadline, "channel 0 not warmed");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Its next deadline is minutes away: the insertions must wake it, not its timer.
    for n in 1..4 {
        pool.insert(id(n), cache(&id(n)));
    }
    while !(1..4).all(warm) {
        assert!(
            std::time::Instant::now() < deadline,
            "added channels not warmed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(line.lock().unwrap().calls(Operation::IssueStateless), 4);
}
