//! Echoes built to slip past redaction: cut by the excerpt's end, written with JSON or URL
//! escapes, or repeated into one huge run (see also `no_secret_leaks.rs`).

use std::time::Duration;

use line_channel_token::cache::{Credentials, Poll, TokenCache};
use line_channel_token::*;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "SECRETcanary0123456789abcdef";
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn response(status: u16, body: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

/// Echoes that dodge both the heuristic (no run of 20 token characters) and a match of the
/// whole encoded form: groups cut by the 256-byte excerpt's end (the part before the cut was
/// shown), the secret inside a JSON string with some characters `\u`-escaped (a JSON reader
/// sees the secret), and percent-encoded twice. Neither `call`'s error nor the cache's
/// failure shows any of it.
#[test]
fn echoes_cut_by_the_excerpt_or_escaped_are_not_shown_in_part() {
    let secret = ChannelSecret::new(SECRET);
    let hex: String = SECRET.bytes().map(|x| format!("{x:02x}")).collect();
    let groups = |s: &str, n: usize| {
        let chunks: Vec<&str> = s
            .as_bytes()
            .chunks(n)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        chunks.join(" ")
    };
    let json_escaped: String = SECRET
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 6 == 5 {
                format!("\\u{:04x}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect();
    let twice: String = SECRET.bytes().map(|x| format!("%25{x:02X}")).collect();
    let mut leaked = Vec::new();
    for (what, echoed, needle) in [
        (
            "groups of four across the excerpt end",
            groups(SECRET, 4),
            "SECR ETca",
        ),
        (
            "hex dump across the excerpt end",
            groups(&hex, 2),
            "53 45 43 52",
        ),
        ("JSON escapes", json_escaped.clone(), &SECRET[..5]),
        ("percent-encoded twice", twice.clone(), "%2553%2545%2543"),
    ] {
        // Cut by the excerpt (256 bytes) a few groups in; the escaped ones fit whole.
        let pad = if what.contains("across") { 200 } else { 10 };
        let body = format!("{{\"echo\":\"{}{echoed}\"}}", "-".repeat(pad));
        let op = IssueStateless::by_secret(CHANNEL, &secret);
        let error = call(&ApiBase::default(), &op, |_| {
            Ok::<_, std::io::Error>(response(502, &body))
        })
        .unwrap_err();
        let shown = format!("{error} {error:?}");
        if shown.contains(needle) {
            leaked.push(format!("call: {what}: {shown}"));
        }
        let mut cache = TokenCache::new(
            ApiBase::default(),
            Credentials::stateless_by_secret(CHANNEL, secret.clone()),
        );
        let Poll::Refresh(refresh) = cache.poll(NOW) else {
            panic!("a cold cache refreshes")
        };
        let handled = cache.handle_response(refresh.ticket(), NOW, &response(502, &body));
        let shown = format!(
            "{handled:?} {}",
            serde_json::to_string(&cache.state()).unwrap()
        );
        if shown.contains(needle) {
            leaked.push(format!("cache: {what}: {shown}"));
        }
    }
    assert!(leaked.is_empty(), "{}", leaked.join("\n\n"));
}

/// A server that echoes the secret's base64 25,000 times in one run (1 MB, well within an
/// HTTP client's default body limit): redacting it takes time linear in its length. Each
/// match used to be widened over the whole run again: hours of CPU (the `line-token` CLI,
/// which scrubs whole bodies, spun past two minutes on it). The bound is a minute, for a
/// job of well under a second.
#[test]
fn a_secret_echoed_in_one_huge_run_is_redacted_in_linear_time() {
    use base64::Engine;
    let echo = base64::engine::general_purpose::STANDARD
        .encode(SECRET)
        .repeat(25_000);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let known = KnownSecrets::new([SECRET.as_bytes()]);
        let _ = tx.send(known.redact(&format!("echo: {echo} end")));
    });
    let out = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("redacting a 1 MB echo took over a minute");
    assert_eq!(out, "echo: [redacted] end");
}
