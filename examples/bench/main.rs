//! Benchmarks, reported as ratios against references measured in the same run.
//!
//! ```text
//! cargo run --release --example bench            # about a minute (a pool of 1M channels)
//! cargo run --release --example bench -- --quick # a few seconds, for CI (100k channels)
//! ```
//!
//! Prints one line per measurement. For signing (see [`signing`]), two ratios measured in
//! interleaved rounds, so that both sides of each ratio see the same machine load:
//! `sign_overhead_vs_rsa: X.XX` (our `SigningKey::sign_rs256` against raw `rsa` on the same key,
//! bytes and RNG) and `sign_vs_openssl_cpu: X.XX` (per-thread CPU time against OpenSSL's
//! signer in this process, on the same key and bytes, with the CPU's features beside it).
//! The shared cache prints `shared_cache_wake_worst_ms` (goal <= 250); shared async tasks,
//! pools and 401s print `shared_cache_async_wake_worst_ms` (goal <= 5),
//! `shared_cache_async_window_wait_p99_us` (goal <= 10), `shared_pool_waits_after_warmup`
//! (goal 0) and `invalidate_new_token_ms` (goal <= 50).
//! The fleet store prints `store_decide_hit_ns` (goal <= 1000); its Redis round trips per hit
//! (goal 1) are the line-token package's `store_round_trips` example.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use line_channel_token::emulator::{
    parse_response_as, sample_request, sample_response, SampleInputs,
};
use line_channel_token::*;

mod fleet;
mod lifecycle;
mod shared;
mod signing;

use fleet::fleet_store;
use lifecycle::{cache_figures, pool_figures, shared_cache_wake};
use shared::shared_figures;
use signing::signing;

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

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful numbers");
    }
    let budget = Duration::from_millis(if quick { 40 } else { 300 });
    let jwk = include_str!("../../tests/keys/line-docs-pyjwt.jwk.json");
    let key = SigningKey::parse(jwk).expect("docs key loads");
    let pem = key.to_pkcs8_pem().expect("exports");
    let now = UnixTime::from_secs(1_700_000_000);

    println!("== keys and signing ==");
    let load_jwk = time(budget, || SigningKey::parse(jwk).map(|_| ()));
    println!("key load (private JWK)        {:>12}", fmt(load_jwk));
    let load_pem = time(budget, || SigningKey::parse(&pem).map(|_| ()));
    println!("key load (PKCS#8 PEM)         {:>12}", fmt(load_pem));
    let builder = AssertionBuilder::new("1234567890", "9869e446-3489-4516-a83f-ec9214ad94d0")
        .token_exp(MAX_TOKEN_EXP);
    if let Some(reference) = signing(quick, &key, &builder, now) {
        println!(
            "key_load_vs_openssl_sign: {:.2} (loading includes the primality proof of p and q)",
            load_jwk.as_secs_f64() / reference
        );
    }

    println!("\n== wire protocol: build a request, parse a response ==");
    let api = ApiBase::default();
    let secret = ChannelSecret::new("s3cret&=+%");
    let token = AccessToken::new("eyJhbGciOiJIUz.....W1TeHCgfH2Liwa");
    let assertion = builder.sign(&key, now, &mut OsRng).expect("signs");
    let error = http::Response::builder()
        .status(400)
        .header("x-line-request-id", "abc")
        .body(br#"{"error":"invalid_client","error_description":"invalid client_secret"}"#.to_vec())
        .expect("builds");
    let inputs = SampleInputs {
        channel_id: "1234567890",
        secret: &secret,
        token: &token,
        assertion: &assertion,
    };
    let mut rows: Vec<(&str, Duration, Duration)> = Operation::ALL
        .into_iter()
        .map(|op| {
            let answer = sample_response(op);
            (
                op.as_str(),
                time(budget, || sample_request(op, &inputs, &api)),
                time(budget, || parse_response_as(op, &answer)),
            )
        })
        .collect();
    rows.push((
        "(an API error)",
        Duration::ZERO,
        time(budget, || {
            IssueShortLived::parse_response(&error).map_err(|e| e.is_retryable())
        }),
    ));
    println!("{:<24} {:>12} {:>12}", "endpoint", "build", "parse");
    for (name, build, parse) in &rows {
        let build = if build.is_zero() {
            "-".to_owned()
        } else {
            fmt(*build)
        };
        println!("{name:<24} {build:>12} {:>12}", fmt(*parse));
    }
    let issued = sample_response(Operation::IssueShortLived);
    let reference = time(budget, || {
        serde_json::from_slice::<serde_json::Value>(issued.body())
    });
    println!(
        "reference: serde_json::Value parse of the issue body {}",
        fmt(reference)
    );
    println!(
        "issue_parse_vs_serde_value: {:.2}",
        time(budget, || IssueShortLived::parse_response(&issued)).as_secs_f64()
            / reference.as_secs_f64()
    );

    cache_figures(budget, now);
    shared_cache_wake(if quick { 3 } else { 9 });
    shared_figures(quick);
    let channels = if quick { 100_000 } else { 1_000_000 };
    pool_figures(budget, channels, now);
    fleet_store(budget);
}
