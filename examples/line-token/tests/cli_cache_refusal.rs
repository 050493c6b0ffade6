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

/// The clock ran ten years ahead when LINE refused, and was then set right: the saved
/// refusal ends ten years from now. It must neither stand for those years (the same
/// credential answered without asking LINE, "in 3650 days") nor make a run sleep until it
/// while holding the lock (a refusal beside a token from the future).
#[test]
fn a_refusal_saved_while_the_clock_ran_ahead_neither_stands_nor_stalls() {
    let (line, asked) = strict_line();
    let dir = Scratch::new("cli-refusal-clock-back");
    let cache = dir.path("t.json");
    let wrong = "wrong-secret-0123456789";
    failed(&run(&line.base, &cache, wrong, &[]).0, 1);
    let refused: serde_json::Value = serde_json::from_str(&dir.read("t.json")).unwrap();
    let ahead = |v: &mut serde_json::Value| {
        let s = v.as_str().expect("a saved time").to_owned();
        let year: u32 = s[..4].parse().unwrap();
        *v = format!("{}{}", year + 10, &s[4..]).into();
    };
    let mut file = refused.clone();
    ahead(&mut file["retry_at"]);
    ahead(&mut file["last_refresh_at"]);
    std::fs::write(&cache, serde_json::to_vec(&file).unwrap()).unwrap();
    let (o, _) = run(&line.base, &cache, wrong, &[]);
    let err = failed(&o, 1);
    assert!(!err.contains("days"), "{err}");
    assert_eq!(asked.load(Ordering::SeqCst), 2, "LINE was not asked: {err}");

    // A token from the future beside the refusal (refused in its refresh window).
    let (o, _) = run(&line.base, &cache, RIGHT, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut file: serde_json::Value = serde_json::from_str(&dir.read("t.json")).unwrap();
    ahead(&mut file["token"]["issued_at"]);
    ahead(&mut file["token"]["expires_at"]);
    file["failures"] = 1.into();
    file["last_failure"] = refused["last_failure"].clone();
    file["refused_credential"] = refused["refused_credential"].clone();
    file["retry_at"] = file["token"]["expires_at"].clone();
    std::fs::write(&cache, serde_json::to_vec(&file).unwrap()).unwrap();
    let mut child = command(
        &["token", "--cache", cache.to_str().unwrap()],
        &[
            ("LINE_API_BASE", line.base.as_str()),
            ("LINE_CHANNEL_ID", CHANNEL),
            ("LINE_CHANNEL_SECRET", wrong),
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run slept towards a refusal's end ten years away");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1));
    assert_eq!(asked.load(Ordering::SeqCst), 4);
}
