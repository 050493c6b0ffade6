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
//! bytes and RNG) and `sign_vs_openssl: X.XX` (against `openssl speed -elapsed rsa2048`).
//! The shared cache prints `shared_cache_wake_worst_ms` (goal <= 250).
//! The fleet store prints `store_decide_hit_ns` (goal <= 1000); its Redis round trips per hit
//! (goal 1) are the line-token package's `store_round_trips` example.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use line_channel_token::*;

mod fleet;
mod lifecycle;
mod signing;

use fleet::fleet_store;
use lifecycle::{cache_figures, pool_figures, shared_cache_wake};
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
    shared_cache_wake(if quick { 3 } else { 9 });
    let channels = if quick { 100_000 } else { 1_000_000 };
    pool_figures(budget, channels, now);
    fleet_store(budget);
}
