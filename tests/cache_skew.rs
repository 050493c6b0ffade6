//! A clock steadily ahead of LINE's (the third hostile review): tokens are stamped by LINE's
//! clock, and the refresh windows measure the life a token has left when it arrives, so the
//! cache refreshes once per half of that life instead of on every issuance throttle, and a
//! clock too far ahead for any token says so and pauses. Both failed before the fix (an
//! issuance every 10 s; a retry every backoff step with no word on the offset).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::*;

const HOUR: Duration = Duration::from_secs(3600);

/// What an hour of polling once a second looks like with our clock `ahead` of the
/// emulator's: issuances, tokens handed out, and the failures' messages.
struct Hour {
    issued: usize,
    served: usize,
    failures: Vec<String>,
}

fn an_hour_ahead_by(ahead: Duration) -> Hour {
    let mut line = line();
    let mut cache = secret_cache();
    // LINE's expiry of each token it issued, by LINE's clock.
    let mut expiry: HashMap<String, UnixTime> = HashMap::new();
    let mut hour = Hour {
        issued: 0,
        served: 0,
        failures: Vec::new(),
    };
    let start = T0 + ahead;
    let mut now = start;
    while now < start + HOUR {
        let line_now = now - ahead;
        match cache.poll(now) {
            Poll::Refresh(r) => {
                let response = line.handle(line_now, r.request());
                assert!(response.headers().contains_key(http::header::DATE));
                let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
                let token = body["access_token"].as_str().unwrap().to_owned();
                let lives = Duration::from_secs(body["expires_in"].as_u64().unwrap());
                expiry.insert(token, line_now + lives);
                hour.issued += 1;
                if let Handled::Failed(f) = cache.handle_response(r.ticket(), now, &response) {
                    hour.failures.push(f.message);
                }
            }
            Poll::Ready(token) => {
                let ends = expiry[token.expose_secret()];
                // Before LINE's expiry whichever clock is right: ours, or LINE's.
                assert!(now < ends, "served at {now:?}, LINE expired it at {ends:?}");
                assert!(line_now < ends);
                hour.served += 1;
            }
            Poll::InFlight(_) | Poll::Wait(_) | Poll::Failed(_) => {}
        }
        now = now + Duration::from_secs(1);
    }
    eprintln!(
        "{} s ahead: {} issuances, {} of 3600 polls served, {} failures",
        ahead.as_secs(),
        hour.issued,
        hour.served,
        hour.failures.len()
    );
    hour
}

#[test]
fn a_clock_ten_minutes_ahead_refreshes_once_per_half_the_life_left_at_arrival() {
    let hour = an_hour_ahead_by(Duration::from_secs(600));
    // A 900 s token arrives with 300 s left, 270 s usable (30 s margin): refreshed after
    // 135 s at the earliest (plus jitter), so at most 3600 / 135 + 1 = 27 issuances; before
    // the fix, one every 10 s throttle: 360.
    assert!(hour.issued <= 27, "{} issuances in an hour", hour.issued);
    assert!(hour.issued >= 3600 / 300, "{} issuances", hour.issued);
    assert!(hour.failures.is_empty(), "{:?}", hour.failures);
    assert!(hour.served >= 3500, "{} of 3600 polls served", hour.served);
}

#[test]
fn a_clock_behind_or_on_time_is_unchanged() {
    for ahead in [Duration::ZERO, Duration::from_secs(20)] {
        let hour = an_hour_ahead_by(ahead);
        // Refreshed every ~(870 - 290) s (default lead: a third of the lifetime).
        assert!(hour.issued <= 8, "{} issuances", hour.issued);
        assert!(hour.failures.is_empty());
    }
}

#[test]
fn a_clock_too_far_ahead_for_any_token_says_by_how_much_and_pauses() {
    let hour = an_hour_ahead_by(Duration::from_secs(1000));
    assert_eq!(hour.served, 0);
    // One issuance per failure pause (300 s): 12 in an hour, plus the first.
    assert!(hour.issued <= 13, "{} issuances in an hour", hour.issued);
    assert_eq!(hour.failures.len(), hour.issued);
    for f in &hour.failures {
        assert!(
            f.contains("your clock is 1000 s ahead of LINE's (Date header)")
                && f.contains("fix the clock"),
            "{f}"
        );
    }
}

#[test]
fn a_restored_token_from_a_clock_ahead_keeps_its_windows() {
    let ahead = Duration::from_secs(600);
    let mut line = line();
    let mut cache = secret_cache();
    let now = T0 + ahead;
    let Poll::Refresh(r) = cache.poll(now) else {
        panic!("a cold cache refreshes")
    };
    let response = line.handle(T0, r.request());
    assert_eq!(
        cache.handle_response(r.ticket(), now, &response),
        Handled::Stored
    );
    let due = cache.refresh_due_at().unwrap();
    assert!(due >= now + Duration::from_secs(135), "{due:?}");
    // A restart (the CLI restores on every run) keeps the same refresh time.
    let later = now + Duration::from_secs(20);
    let mut restored = TokenCache::builder(ApiBase::default(), secret_creds())
        .seed(42)
        .restore(cache.state(), later)
        .build();
    assert_eq!(restored.refresh_due_at(), Some(due));
    assert!(matches!(restored.poll(later), Poll::Ready(_)));
}
