//! The cache and the pool: hits, memory per channel, the worst single call at scale.

use std::time::{Duration, Instant};

use line_channel_token::cache::{CacheState, Credentials, Poll, SharedCache, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::{Due, TokenPool};
use line_channel_token::*;

use std::sync::atomic::Ordering;

use crate::{fmt, time, LIVE};

/// A warm stateless cache: the cost of a hit.
pub(crate) fn cache_figures(budget: Duration, now: UnixTime) {
    println!("\n== token cache ==");
    let mut cache = warm_cache("1234567890", now);
    let hit = time(budget, || cache.token(now).is_some());
    println!("cache hit (TokenCache::token) {:>12}", fmt(hit));
    let poll_hit = time(budget, || matches!(cache.poll(now), Poll::Ready(_)));
    println!("cache hit (TokenCache::poll)  {:>12}", fmt(poll_hit));
}

/// Issue 10's goal: 64 threads share one cache, LINE answers after 200 ms, and every thread
/// has the token within 250 ms of the answer. The median over `rounds` of each round's worst
/// thread. (`tests/cache_threads.rs` checks the property, woken by the answer and not by the
/// 30 s in-flight timeout; the figure lives here, where a loaded machine cannot fail a test.)
pub(crate) fn shared_cache_wake(rounds: usize) {
    const THREADS: usize = 64;
    let mut worst: Vec<Duration> = (0..rounds).map(|_| wake_round(THREADS)).collect();
    worst.sort();
    println!(
        "shared_cache_wake_worst_ms: {:.1} (goal <= 250; {THREADS} threads, median of {rounds} rounds)",
        worst[rounds / 2].as_secs_f64() * 1e3
    );
}

fn wake_round(threads: usize) -> Duration {
    use std::sync::{Arc, Barrier, Mutex};
    let creds = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s"));
    let cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(1)
        .build();
    let shared = Arc::new(SharedCache::new(cache));
    let answered: Arc<Mutex<Option<Instant>>> = Arc::default();
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (shared, answered, start) = (
                Arc::clone(&shared),
                Arc::clone(&answered),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                let now = || UnixTime::from(std::time::SystemTime::now());
                start.wait();
                let token = shared.get_token(now, |_req| {
                    std::thread::sleep(Duration::from_millis(200)); // LINE takes 200 ms
                    let body = br#"{"access_token":"t","expires_in":900,"token_type":"Bearer"}"#;
                    *answered.lock().unwrap() = Some(Instant::now());
                    Ok::<_, std::convert::Infallible>(http::Response::new(body.to_vec()))
                });
                assert!(token.is_ok(), "the bench's LINE always answers");
                Instant::now()
            })
        })
        .collect();
    let got: Vec<Instant> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let answered = answered.lock().unwrap().expect("LINE answered");
    got.iter()
        .map(|at| at.saturating_duration_since(answered))
        .max()
        .unwrap_or_default()
}

/// A cache for `channel` holding a token from the emulator (177 characters, as LINE's).
pub(crate) fn warm_cache(channel: &str, now: UnixTime) -> TokenCache {
    let mut line = Emulator::new();
    line.add_channel(channel, ChannelSecret::new("s"));
    let creds = Credentials::stateless_by_secret(channel, ChannelSecret::new("s"));
    let mut cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(1)
        .build();
    if let Poll::Refresh(r) = cache.poll(now) {
        let response = line.handle(now, r.request());
        let _ = cache.handle_response(r.ticket(), now, &response);
    }
    cache
}

/// The pool at scale: bytes per channel, and the slowest single call over a full refresh
/// cycle (every channel refreshed once), including the first `next_deadline` after it.
pub(crate) fn pool_figures(budget: Duration, channels: u64, now: UnixTime) {
    println!("\n== token pool, {channels} channels ==");
    let template = warm_cache("1000000000", now).state();
    let before = LIVE.load(Ordering::Relaxed);
    let mut pool = TokenPool::with_capacity(channels as usize);
    let mut worst_insert = Duration::ZERO;
    for i in 0..channels {
        let id = format!("{}", 1_000_000_000u64 + i);
        let state = CacheState {
            channel_id: id.clone(),
            ..template.clone()
        };
        let creds = Credentials::stateless_by_secret(
            id.clone(),
            ChannelSecret::new("channel-secret-32-bytes-long-xx"),
        );
        let cache = TokenCache::builder(ApiBase::default(), creds)
            .seed(i)
            .restore(state, now)
            .build();
        let start = Instant::now();
        pool.insert(id, cache);
        worst_insert = worst_insert.max(start.elapsed());
    }
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "pool_bytes_per_channel: {} (warm 177-character token, 32-byte secret)",
        bytes / channels as isize
    );
    let key = format!("{}", 1_000_000_000u64 + channels / 2);
    let hit = time(budget, || pool.token(key.as_str(), now).is_some());
    println!("pool hit (TokenPool::token)   {:>12}", fmt(hit));
    let worst = pool_worst_call(&mut pool, now);
    let after = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "pool_bytes_per_channel after a full refresh cycle: {}",
        after / channels as isize
    );
    println!(
        "worst insert (pool sized up front) {:>7}",
        fmt(worst_insert)
    );
    println!(
        "pool_worst_call: {} ({}; over a full refresh cycle)",
        fmt(worst.0),
        worst.1
    );
}

/// Runs one full refresh cycle the way a background loop does (sleep to the next deadline,
/// poll what is due, hand each answer back) and returns the slowest single call and its name.
pub(crate) fn pool_worst_call(
    pool: &mut TokenPool<String>,
    start: UnixTime,
) -> (Duration, &'static str) {
    let mut worst = (Duration::ZERO, "");
    let mut samples = Vec::new();
    let mut timed = |name: &'static str, took: Duration| {
        samples.push(took);
        if took > worst.0 {
            worst = (took, name);
        }
    };
    let end = start + facts::STATELESS_LIFETIME;
    let mut serial = 0u64;
    let mut biggest_poll_due = (Duration::ZERO, 0);
    loop {
        let t = Instant::now();
        let next = pool.next_deadline();
        timed("next_deadline", t.elapsed());
        let Some(now) = next.filter(|n| *n < end) else {
            break;
        };
        // One channel at a time, as a loop woken at each deadline sees them.
        let t = Instant::now();
        let due = pool.poll_due(now);
        let took = t.elapsed();
        timed("poll_due, per channel due", took / due.len().max(1) as u32);
        if took > biggest_poll_due.0 {
            biggest_poll_due = (took, due.len());
        }
        for (key, d) in due {
            let Due::Refresh(r) = d else { continue };
            serial += 1;
            let body = format!(
                r#"{{"access_token":"eyJhbGciOiJIUzI1NiJ9.{serial:0>150}","expires_in":{},"token_type":"Bearer"}}"#,
                facts::STATELESS_LIFETIME.as_secs()
            );
            let response = http::Response::new(body.into_bytes());
            let t = Instant::now();
            let _ = pool.handle_response(key.as_str(), r.ticket(), now, &response);
            timed("handle_response", t.elapsed());
            // Metrics would read these; drained, they hold no memory.
            while pool.poll_event(key.as_str()).is_some() {}
        }
    }
    let t = Instant::now();
    let _ = pool.next_deadline();
    let after_cycle = t.elapsed();
    timed("next_deadline after the cycle", after_cycle);
    println!(
        "first next_deadline after the cycle {:>9}",
        fmt(after_cycle)
    );
    samples.sort_unstable();
    let pct = |p: f64| fmt(samples[((samples.len() - 1) as f64 * p) as usize]);
    println!(
        "single calls over the cycle: {} calls, median {}, p99.9 {}, p99.99 {}, {} over 1 ms \
         (a maximum on a shared machine includes preemption)",
        samples.len(),
        pct(0.5),
        pct(0.999),
        pct(0.9999),
        samples
            .iter()
            .filter(|d| **d > Duration::from_millis(1))
            .count()
    );
    println!(
        "largest poll_due call          {:>12} for {} channels due at once (O(k log n))",
        fmt(biggest_poll_due.0),
        biggest_poll_due.1
    );
    worst
}
