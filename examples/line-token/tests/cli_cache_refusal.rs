//! A refusal remembered in the cache file: the same credential gets LINE's answer again at
//! once (exit 1) without asking LINE, a changed one is asked about at once, and neither run
//! waits out the issuance throttle.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::cli::*;
use common::Scratch;

const RIGHT: &str = "the-right-secret-0123456789";

/// A LINE that refuses every secret but [`RIGHT`], counting the requests it gets.
fn strict_line() -> (FakeLine, Arc<AtomicU32>) {
    let asked = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&asked);
    let line = FakeLine::start(move |request| {
        counter.fetch_add(1, Ordering::SeqCst);
        if request.contains(&format!("client_secret={RIGHT}")) {
            (
                200,
                r#"{"access_token":"eyJhbGciOiJIUzI1NiJ9.good.token-0123456789","expires_in":900,"token_type":"Bearer"}"#
                    .to_owned(),
            )
        } else {
            (
                400,
                r#"{"error":"invalid_client","error_description":"invalid client_secret"}"#
                    .to_owned(),
            )
        }
    });
    (line, asked)
}

fn run(
    base: &str,
    cache: &std::path::Path,
    secret: &str,
    extra: &[&str],
) -> (std::process::Output, Duration) {
    let mut args = vec!["token", "--cache", cache.to_str().unwrap()];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let o = line_token(
        &args,
        &[
            ("LINE_API_BASE", base),
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", secret),
        ],
    );
    (o, started.elapsed())
}

#[test]
fn a_refused_credential_is_answered_at_once_and_a_changed_one_is_asked_at_once() {
    let (line, asked) = strict_line();
    let dir = Scratch::new("cli-refusal");
    let cache = dir.path("t.json");

    let (o, _) = run(&line.base, &cache, "wrong-secret-0123456789", &[]);
    let first = failed(&o, 1);
    assert!(first.contains("invalid client_secret"), "{first}");
    assert!(first.contains("without asking LINE until 20"), "{first}");
    assert!(first.contains("a changed credential"), "{first}");
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // The same credential: the same refusal, now, and LINE is not asked.
    for _ in 0..3 {
        let (o, took) = run(&line.base, &cache, "wrong-secret-0123456789", &[]);
        let again = failed(&o, 1);
        assert!(
            again.contains("invalid client_secret") && again.contains("earlier run"),
            "{again}"
        );
        assert!(
            took < Duration::from_secs(3),
            "the same refusal took {took:?}"
        );
        assert_eq!(
            asked.load(Ordering::SeqCst),
            1,
            "LINE was asked again: {again}"
        );
    }

    // Another wrong credential: asked at once (no throttle, no backoff), refused.
    let (o, took) = run(&line.base, &cache, "another-wrong-secret-987", &[]);
    failed(&o, 1);
    assert!(
        took < Duration::from_secs(3),
        "a changed credential waited {took:?}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    // --force-refresh asks even for the refused credential.
    let (o, _) = run(
        &line.base,
        &cache,
        "another-wrong-secret-987",
        &["--force-refresh"],
    );
    failed(&o, 1);
    assert_eq!(asked.load(Ordering::SeqCst), 3);

    // The fixed credential: a token at once.
    let (o, took) = run(&line.base, &cache, RIGHT, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(3),
        "the fixed credential waited {took:?}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 4);

    // The file names the refused credential by a fingerprint, never the secret.
    let saved = dir.read("t.json");
    assert!(
        !saved.contains("wrong-secret") && !saved.contains(RIGHT),
        "{saved}"
    );
}
