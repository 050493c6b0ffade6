//! Invalidation after a 401: the cache's promises when a Messaging API call rejects its
//! token (one refresh, only for the current token, and a backoff for a channel whose every
//! token is rejected), on a simulated clock.

mod common;

use std::time::Duration;

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::*;

#[test]
fn invalidate_refreshes_once_and_only_for_the_current_token() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    let a = get(&mut cache, &mut line, &clock).unwrap();
    assert!(!cache.invalidate(&AccessToken::new("some other token")));
    assert!(cache.token(T0).is_some());
    clock.advance(Duration::from_secs(1));
    assert!(cache.invalidate(&a));
    assert!(!cache.invalidate(&a), "already gone");
    // The refresh a 401 asks for is not held back by the issuance throttle (10 s).
    assert!(cache.next_deadline() <= clock.now(), "due at once");
    let b = get(&mut cache, &mut line, &clock).unwrap();
    assert_ne!(a, b);
    assert_eq!(
        clock.now(),
        T0 + Duration::from_secs(1),
        "the driver did not wait for the throttle"
    );
    assert_eq!(line.calls(Operation::IssueStateless), 2);
    // Many callers see the same 401 with the old token: no further refresh.
    for _ in 0..10 {
        assert!(!cache.invalidate(&a));
    }
    assert_eq!(get(&mut cache, &mut line, &clock).unwrap(), b);
    assert_eq!(line.calls(Operation::IssueStateless), 2);
    // The waiver was for one refresh: the throttle holds the next one.
    assert!(cache.invalidate(&b));
    assert!(matches!(cache.poll(clock.now()), Poll::Wait(t) if t >= T0 + Duration::from_secs(11)));
}

#[test]
fn a_channel_whose_every_token_is_rejected_backs_off_to_one_issuance_a_minute() {
    // A suspended channel: LINE issues tokens, the Messaging API answers 401 to each.
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    let mut issued_at = Vec::new();
    while clock.now() < T0 + Duration::from_secs(30 * 60) {
        let before = line.calls(Operation::IssueStateless);
        let token = get(&mut cache, &mut line, &clock).unwrap();
        assert_eq!(line.calls(Operation::IssueStateless), before + 1);
        issued_at.push(clock.now());
        assert!(cache.invalidate(&token));
    }
    let gaps: Vec<u64> = issued_at
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs())
        .collect();
    // The first rejection skips the throttle; the next ones back off: the throttle, then
    // the backoff doubling past it to the 60 s cap.
    assert_eq!(gaps[..7], [0, 10, 10, 10, 10, 16, 32], "gaps {gaps:?}");
    assert!(gaps[7..].iter().all(|g| *g == 60), "gaps {gaps:?}");
    // Seven in the first two minutes, then one a minute.
    assert!(
        issued_at.len() <= 38,
        "{} issuances in 30 minutes",
        issued_at.len()
    );
}

#[test]
fn a_token_that_lived_to_its_refresh_window_starts_a_new_series_of_rejections() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    for _ in 0..5 {
        let token = get(&mut cache, &mut line, &clock).unwrap();
        assert!(cache.invalidate(&token));
    }
    let token = get(&mut cache, &mut line, &clock).unwrap();
    // It lives: the refresh at its advisory window replaces it.
    clock.set(cache.refresh_due_at().unwrap());
    let fresh = get(&mut cache, &mut line, &clock).unwrap();
    assert_ne!(token, fresh);
    let before = line.calls(Operation::IssueStateless);
    clock.advance(Duration::from_secs(60));
    let at = clock.now();
    assert!(cache.invalidate(&fresh));
    let _ = get(&mut cache, &mut line, &clock).unwrap();
    assert_eq!(clock.now(), at, "a first rejection again: no wait");
    assert_eq!(line.calls(Operation::IssueStateless), before + 1);
}
