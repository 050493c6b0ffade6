//! Benchmarks, reported as ratios against references measured in the same run.
//!
//! ```text
//! cargo run --release --example bench            # about a minute (a pool of 1M channels)
//! cargo run --release --example bench -- --quick # a few seconds, for CI (100k channels)
//! ```
//!
//! Prints one line per measurement and, for signing, `sign_vs_openssl: X.XX`: our RS256
//! signature time divided by `openssl speed rsa2048`'s private-key time on this machine.
//! The fleet store prints `store_decide_hit_ns` (goal <= 1000) and, with a `redis-server` on
//! PATH, `store_round_trips_per_hit` (goal 1).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use line_channel_token::cache::{CacheState, Credentials, Poll, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::Due;
use line_channel_token::pool::TokenPool;
use line_channel_token::*;

#[path = "support/redis_store.rs"]
#[allow(dead_code)] // the benchmark uses the read path only
mod redis_store;

/// Counts live heap bytes, to measure memory per channel. (The library itself forbids
/// `unsafe`; a global allocator cannot be written without it.)
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` repeatedly for about `budget` and returns the mean time per call.
fn time<R>(budget: Duration, mut f: impl FnMut() -> R) -> Duration {
    // Warm up, then size the batch.
    black_box(f());
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        let took = start.elapsed();
        if took >= budget / 2 || n >= 1 << 30 {
            return took / n as u32;
        }
        n *= if took < budget / 16 { 8 } else { 2 };
    }
}

fn fmt(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 1_000_000 {
        format!("{:.3} ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.2} µs", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

/// `openssl speed rsa2048`'s time per private-key operation (sign), if openssl is there.
fn openssl_sign_time(seconds: u32) -> Option<Duration> {
    let out = Command::new("openssl")
        .args(["speed", "-mr", "-seconds", &seconds.to_string(), "rsa2048"])
        .output()
        .ok()?;
    // OpenSSL 3 prints the machine-readable lines on stderr, older versions on stdout.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // "+R1:<count>:2048:<seconds>": private-key operations done in that many seconds.
    let line = text.lines().find(|l| l.starts_with("+R1:"))?;
    let mut parts = line.split(':').skip(1);
    let count: f64 = parts.next()?.parse().ok()?;
    let _bits = parts.next()?;
    let secs: f64 = parts.next()?.parse().ok()?;
    (count > 0.0).then(|| Duration::from_secs_f64(secs / count))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful numbers");
    }
    let budget = Duration::from_millis(if quick { 40 } else { 300 });
    let jwk = include_str!("../tests/keys/line-docs-pyjwt.jwk.json");
    let key = SigningKey::parse(jwk).expect("docs key loads");
    let pem = key.to_pkcs8_pem().expect("exports");
    let now = UnixTime::from_secs(1_700_000_000);

    println!("== keys and signing ==");
    let load_jwk = time(budget, || SigningKey::parse(jwk).map(|_| ()));
    println!("key load (private JWK)        {:>12}", fmt(load_jwk));
    let load_pem = time(budget, || SigningKey::parse(&pem).map(|_| ()));
    println!("key load (PKCS#8 PEM)         {:>12}", fmt(load_pem));
    let builder = AssertionBuilder::new("1234567890", "9869e446-3489-4516-a83f-ec9214ad94d0")
        .token_exp(Duration::from_secs(2_592_000));
    let sign = time(budget, || builder.sign(&key, now, &mut OsRng).map(|_| ()));
    println!("assertion sign (RS256, blinded) {:>10}", fmt(sign));
    match openssl_sign_time(if quick { 1 } else { 3 }) {
        Some(reference) => {
            println!("openssl speed rsa2048 sign    {:>12}", fmt(reference));
            println!(
                "sign_vs_openssl: {:.2}",
                sign.as_secs_f64() / reference.as_secs_f64()
            );
            println!(
                "key_load_vs_openssl_sign: {:.2}",
                load_jwk.as_secs_f64() / reference.as_secs_f64()
            );
        }
        None => println!("sign_vs_openssl: unavailable (no openssl on PATH)"),
    }

    println!("\n== wire protocol: build a request, parse a response ==");
    let api = ApiBase::default();
    let secret = ChannelSecret::new("s3cret&=+%");
    let token = AccessToken::new("eyJhbGciOiJIUz.....W1TeHCgfH2Liwa");
    let assertion = builder.sign(&key, now, &mut OsRng).expect("signs");
    let issued = http::Response::new(
        br#"{"access_token":"eyJhbGciOiJIUz.....","token_type":"Bearer","expires_in":2592000,"key_id":"sDTOzw5wIfxxxxPEzcmeQA"}"#.to_vec(),
    );
    let verified = http::Response::new(
        br#"{"client_id":"1350031035","expires_in":3138007490,"scope":"P CM"}"#.to_vec(),
    );
    let kids = http::Response::new(
        br#"{"kids":["U_gdnFYKTWRxxxxDVZexGg","sDTOzw5wIfWxxxxzcmeQA","73hDyp3PxGfxxxxD6U5qYA"]}"#
            .to_vec(),
    );
    let empty = http::Response::new(Vec::new());
    let error = http::Response::builder()
        .status(400)
        .header("x-line-request-id", "abc")
        .body(br#"{"error":"invalid_client","error_description":"invalid client_secret"}"#.to_vec())
        .expect("builds");
    let rows: Vec<(&str, Duration, Duration)> = vec![
        (
            "issue short-lived",
            time(budget, || {
                IssueShortLived::new("1234567890", &secret).to_request(&api)
            }),
            time(budget, || IssueShortLived::parse_response(&issued)),
        ),
        (
            "verify",
            time(budget, || Verify::new(&token).to_request(&api)),
            time(budget, || Verify::parse_response(&verified)),
        ),
        (
            "revoke",
            time(budget, || Revoke::new(&token).to_request(&api)),
            time(budget, || Revoke::parse_response(&empty)),
        ),
        (
            "issue v2.1",
            time(budget, || IssueV21::new(&assertion).to_request(&api)),
            time(budget, || IssueV21::parse_response(&issued)),
        ),
        (
            "verify v2.1",
            time(budget, || VerifyV21::new(&token).to_request(&api)),
            time(budget, || VerifyV21::parse_response(&verified)),
        ),
        (
            "key ids v2.1",
            time(budget, || KeyIdsV21::new(&assertion).to_request(&api)),
            time(budget, || KeyIdsV21::parse_response(&kids)),
        ),
        (
            "revoke v2.1",
            time(budget, || {
                RevokeV21::new("1234567890", &secret, &token).to_request(&api)
            }),
            time(budget, || RevokeV21::parse_response(&empty)),
        ),
        (
            "issue stateless",
            time(budget, || {
                IssueStateless::by_secret("1234567890", &secret).to_request(&api)
            }),
            time(budget, || IssueStateless::parse_response(&issued)),
        ),
        (
            "(an API error)",
            Duration::ZERO,
            time(budget, || {
                IssueShortLived::parse_response(&error).map_err(|e| e.is_retryable())
            }),
        ),
    ];
    println!("{:<18} {:>12} {:>12}", "endpoint", "build", "parse");
    for (name, build, parse) in &rows {
        let build = if build.is_zero() {
            "-".to_owned()
        } else {
            fmt(*build)
        };
        println!("{name:<18} {build:>12} {:>12}", fmt(*parse));
    }
    let reference = time(budget, || {
        serde_json::from_slice::<serde_json::Value>(issued.body())
    });
    println!(
        "reference: serde_json::Value parse of the issue body {}",
        fmt(reference)
    );
    println!(
        "issue_parse_vs_serde_value: {:.2}",
        rows[0].2.as_secs_f64() / reference.as_secs_f64()
    );

    cache_figures(budget, now);
    let channels = if quick { 100_000 } else { 1_000_000 };
    pool_figures(budget, channels, now);
    fleet_store(budget);
}

/// A warm stateless cache: the cost of a hit.
fn cache_figures(budget: Duration, now: UnixTime) {
    println!("\n== token cache ==");
    let mut cache = warm_cache("1234567890", now);
    let hit = time(budget, || cache.token(now).is_some());
    println!("cache hit (TokenCache::token) {:>12}", fmt(hit));
    let poll_hit = time(budget, || matches!(cache.poll(now), Poll::Ready(_)));
    println!("cache hit (TokenCache::poll)  {:>12}", fmt(poll_hit));
}

/// A cache for `channel` holding a token from the emulator (177 characters, as LINE's).
fn warm_cache(channel: &str, now: UnixTime) -> TokenCache {
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
fn pool_figures(budget: Duration, channels: u64, now: UnixTime) {
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
fn pool_worst_call(pool: &mut TokenPool<String>, start: UnixTime) -> (Duration, &'static str) {
    let mut worst = (Duration::ZERO, "");
    let mut samples = Vec::new();
    let mut timed = |name: &'static str, took: Duration| {
        samples.push(took);
        if took > worst.0 {
            worst = (took, name);
        }
    };
    let end = start + Duration::from_secs(15 * 60);
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
                r#"{{"access_token":"eyJhbGciOiJIUzI1NiJ9.{serial:0>150}","expires_in":900,"token_type":"Bearer"}}"#
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

/// The fleet's store protocol: `store::decide` on a hit (goal <= 1 µs), and the Redis round
/// trips a token fetch costs on a hit (goal 1), against a redis-server started here.
fn fleet_store(budget: Duration) {
    use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};

    println!("\n== fleet store ==");
    let config = StoreConfig::new(TokenKind::Stateless, Duration::from_secs(900)).expect("valid");
    let now = UnixTime::from_secs(1_700_000_000);
    let me = OwnerId::new(7);
    let Decision::TakeLease(lease) = decide(&Record::empty(TokenKind::Stateless), now, me, &config)
    else {
        unreachable!("an empty record is taken")
    };
    let token: IssuedToken =
        serde_json::from_str(r#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":900}"#)
            .expect("token json");
    let commit = lease
        .record()
        .commit(now, me, now, &token, &config)
        .expect("the holder commits");
    let body = commit.body();
    let (record, _) = Record::from_store(commit.new_version(), Some(body.as_bytes()), now, &config);
    let hit = time(budget, || {
        matches!(
            decide(&record, now, OwnerId::new(8), &config),
            Decision::Serve(_)
        )
    });
    println!("store::decide on a hit        {:>12}", fmt(hit));
    println!("store_decide_hit_ns: {}", hit.as_nanos());
    let decode = time(budget, || {
        Record::from_store(commit.new_version(), Some(body.as_bytes()), now, &config)
    });
    println!("Record::from_store (decode)   {:>12}", fmt(decode));

    let Some(server) = RedisForBench::start() else {
        println!("store_round_trips_per_hit: unavailable (no redis-server on PATH)");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let key = redis_store::key("bench", "1234567890", TokenKind::Stateless);
    let Ok(mut store) = redis_store::RedisStore::connect(&url, key) else {
        println!("store_round_trips_per_hit: unavailable (redis-server did not answer)");
        return;
    };
    let fetch = |store: &mut redis_store::RedisStore| {
        redis_store::fetch(store, &config, me, Duration::from_secs(1), || {
            Ok::<_, (store::Failure, ())>(token.clone())
        })
        .is_ok()
    };
    let before = store.round_trips;
    assert!(fetch(&mut store), "the first fetch issues");
    let miss = store.round_trips - before;
    let before = store.round_trips;
    let hits = 200u64;
    let start = Instant::now();
    for _ in 0..hits {
        assert!(fetch(&mut store), "hits");
    }
    let per_hit = start.elapsed() / hits as u32;
    let trips = (store.round_trips - before) as f64 / hits as f64;
    println!("first fetch (take, issue, commit) {miss} round trips");
    println!("token fetch on a hit (loopback Redis) {:>8}", fmt(per_hit));
    println!("store_round_trips_per_hit: {trips:.2}");
}

/// A throwaway redis-server on a free loopback port, killed on drop.
struct RedisForBench {
    child: std::process::Child,
    port: u16,
}

impl RedisForBench {
    fn start() -> Option<RedisForBench> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisForBench { child, port };
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }
}

impl Drop for RedisForBench {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
