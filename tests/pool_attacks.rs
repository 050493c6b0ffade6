//! Hostile inputs to `SharedPool`'s refresher: a clock at the end of representable time, a
//! pass size of zero. The refresher must wait between passes, not spin: an async refresher
//! that never returns `Pending` freezes a single-threaded runtime for good.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll as TaskPoll, Waker};
use std::time::Duration;

use line_channel_token::cache::{Credentials, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::{SharedPool, TokenPool};
use line_channel_token::{ApiBase, ChannelSecret, UnixTime};

const CHANNEL: &str = "1000000000";
const END: UnixTime = UnixTime::from_millis(u64::MAX);
const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

/// How many clock readings one poll of a refresher may take: a few per pass.
const SPIN: usize = 10_000;

fn pool() -> SharedPool<String> {
    let pool: SharedPool<String> = SharedPool::new(TokenPool::new(), |_| None);
    let creds = Credentials::stateless_by_secret(CHANNEL, ChannelSecret::new("s"));
    let cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(9)
        .build();
    pool.insert(CHANNEL.to_string(), cache);
    pool
}

/// Polls `keep_warm_async` once at `now` with passes of `max`: it must return `Pending`
/// (waiting for its timer) rather than loop for ever inside one poll.
fn refresher_yields(now: UnixTime, max: usize) {
    let pool = pool();
    let mut line = Emulator::with_seed(3);
    line.add_channel(CHANNEL, ChannelSecret::new("s"));
    let line = std::cell::RefCell::new(line);
    let readings = Cell::new(0usize);
    let clock = || {
        readings.set(readings.get() + 1);
        assert!(readings.get() < SPIN, "the refresher never yields at {now}");
        now
    };
    let send = |req| {
        let response = line.borrow_mut().handle(now, &req);
        std::future::ready(Ok::<_, std::io::Error>(response))
    };
    let refresher = pool.keep_warm_async(clock, |_| std::future::pending::<()>(), max, send);
    let mut refresher = pin!(refresher);
    let polled = refresher
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(matches!(polled, TaskPoll::Pending));
}

#[test]
fn an_async_refresher_at_the_end_of_time_waits_instead_of_spinning() {
    refresher_yields(END, 64);
}

#[test]
fn an_async_refresher_with_passes_of_zero_waits_instead_of_spinning() {
    refresher_yields(T0, 0);
}

#[test]
fn a_refresher_thread_at_the_end_of_time_waits_instead_of_spinning() {
    let pool = Arc::new(pool());
    let readings = Arc::new(AtomicUsize::new(0));
    let (p, r) = (pool.clone(), readings.clone());
    let refresher = std::thread::spawn(move || {
        p.keep_warm(
            || {
                assert!(r.fetch_add(1, Ordering::SeqCst) < SPIN, "spinning");
                END
            },
            64,
            |_req| Err::<http::Response<Vec<u8>>, _>(std::io::Error::other("offline")),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    // A refresher that waits between passes reads the clock a few times; a spinning one
    // reaches the limit (and panics) within microseconds.
    assert!(!refresher.is_finished(), "the refresher thread spun");
    assert!(readings.load(Ordering::SeqCst) < SPIN);
}

/// A pool of `n` new channels, all due at once.
fn due_pool(n: usize) -> SharedPool<String> {
    let pool: SharedPool<String> = SharedPool::new(TokenPool::new(), |_| None);
    for k in 0..n {
        let channel = format!("{}", 1_000_000_000 + k);
        let creds = Credentials::stateless_by_secret(channel.as_str(), ChannelSecret::new("s"));
        let cache = TokenCache::builder(ApiBase::default(), creds)
            .seed(9)
            .build();
        pool.insert(channel, cache);
    }
    pool
}

/// No channel of the pool is left with a refresh in flight that nobody will answer.
fn none_in_flight(pool: &SharedPool<String>, n: usize) {
    let locked = pool.lock();
    for k in 0..n {
        let channel = format!("{}", 1_000_000_000 + k);
        let state = locked.get(channel.as_str()).unwrap().state();
        assert!(
            state.in_flight_since.is_none(),
            "channel {k} left in flight for the in-flight timeout"
        );
    }
    drop(locked);
}

#[test]
fn a_send_that_panics_mid_pass_leaves_no_channel_of_the_pass_in_flight() {
    let pool = due_pool(4);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.refresh_due(
            || T0,
            64,
            |_req| -> Result<http::Response<Vec<u8>>, std::io::Error> { panic!("client bug") },
        )
    }));
    assert!(panicked.is_err());
    none_in_flight(&pool, 4);

    let pool = due_pool(4);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let pass = pool.refresh_due_async(
            || T0,
            64,
            |_req| -> std::future::Ready<Result<http::Response<Vec<u8>>, std::io::Error>> {
                panic!("client bug")
            },
        );
        let mut pass = pin!(pass);
        let _ = pass.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    }));
    assert!(panicked.is_err());
    none_in_flight(&pool, 4);
}
