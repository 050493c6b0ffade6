//! Attacks on the cache from the second hostile review: each test reproduces one as it was
//! found (and failed before the fix).

mod common;

use std::time::Duration;

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::*;

const DAY: Duration = Duration::from_secs(86_400);

/// `response` with LINE's clock in its `Date` header.
fn dated(mut response: http::Response<Vec<u8>>, line_clock: &str) -> http::Response<Vec<u8>> {
    response
        .headers_mut()
        .insert(http::header::DATE, line_clock.parse().unwrap());
    response
}

/// LINE's clock at T0 (1_700_000_000), as its `Date` header states it.
const T0_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

fn events(cache: &mut TokenCache) -> Vec<Event> {
    std::iter::from_fn(|| cache.poll_event()).collect()
}

#[test]
fn a_replayed_rejected_token_is_not_stored_by_the_refresh_in_flight() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!("a cold cache refreshes")
    };
    assert_eq!(
        cache.handle_response(r.ticket(), T0, &issued("rejected", 900)),
        Handled::Stored
    );
    // The advisory window: a refresh is in flight when a 401 makes the caller invalidate.
    let due = cache.refresh_due_at().unwrap();
    let Poll::Refresh(r) = cache.poll(due) else {
        panic!("the advisory window refreshes")
    };
    assert!(cache.invalidate(&AccessToken::new("rejected")));
    // A replaying proxy answers that refresh with the rejected token again.
    let handled = cache.handle_response(r.ticket(), due, &issued("rejected", 900));
    assert!(matches!(handled, Handled::Failed(_)), "{handled:?}");
    assert!(cache.token(due).is_none());
    assert!(!matches!(cache.poll(due), Poll::Ready(_)));
    // The refresh after it is answered with a new token: that one is kept.
    let later = cache.next_deadline();
    let Poll::Refresh(r) = cache.poll(later) else {
        panic!("a retry after the backoff")
    };
    assert_eq!(
        cache.handle_response(r.ticket(), later, &issued("fresh", 900)),
        Handled::Stored
    );
}

#[test]
fn the_refresh_after_an_invalidation_does_not_store_the_rejected_token_either() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!("a cold cache refreshes")
    };
    let _ = cache.handle_response(r.ticket(), T0, &issued("rejected", 900));
    assert!(cache.invalidate(&AccessToken::new("rejected")));
    let now = cache.next_deadline().max(T0 + Duration::from_secs(10));
    let Poll::Refresh(r) = cache.poll(now) else {
        panic!("a refresh after the throttle")
    };
    let handled = cache.handle_response(r.ticket(), now, &issued("rejected", 900));
    assert!(matches!(handled, Handled::Failed(_)), "{handled:?}");
    assert!(cache.token(now).is_none());
}

/// Issued while the caller's clock ran a day ahead of LINE's (LINE at T0, the caller at T0 +
/// a day). The state is saved, and the token looked at again once the clock is right: at T0
/// plus a day plus a minute by both clocks. LINE expired it 15 minutes after T0.
fn issued_with_the_clock_a_day_ahead() -> (TokenCache, UnixTime) {
    let mut cache = secret_cache();
    let ahead = T0 + DAY;
    let Poll::Refresh(r) = cache.poll(ahead) else {
        panic!("a cold cache refreshes")
    };
    let _ = cache.handle_response(r.ticket(), ahead, &dated(issued("stale", 900), T0_DATE));
    (cache, ahead + Duration::from_secs(60))
}

#[test]
fn a_token_stamped_with_the_clock_ahead_is_not_polled_ready_once_real_time_catches_up() {
    let (mut cache, caught_up) = issued_with_the_clock_a_day_ahead();
    assert!(cache.token(caught_up).is_none());
    assert!(!matches!(cache.poll(caught_up), Poll::Ready(_)));
    // It was never handed out at all: by LINE's clock it was long past its use.
    assert!(cache.state().token.is_none());
}

#[test]
fn a_token_stamped_with_the_clock_ahead_is_not_restored_ready() {
    let (cache, caught_up) = issued_with_the_clock_a_day_ahead();
    let mut restored = TokenCache::builder(ApiBase::default(), secret_creds())
        .seed(7)
        .restore(cache.state(), caught_up)
        .build();
    assert!(restored.token(caught_up).is_none());
    assert!(!matches!(restored.poll(caught_up), Poll::Ready(_)));
}

#[test]
fn a_skewed_date_is_reported_and_a_long_lived_token_is_stamped_by_lines_clock() {
    // A 30-day short-lived token with the clock a day ahead is still worth keeping: stamped
    // by LINE's clock, it ends when LINE says, a day sooner by the caller's clock.
    let mut cache = TokenCache::builder(
        ApiBase::default(),
        Credentials::short_lived(CHANNEL, ChannelSecret::new(SECRET)),
    )
    .seed(42)
    .build();
    let ahead = T0 + DAY;
    let Poll::Refresh(r) = cache.poll(ahead) else {
        panic!("a cold cache refreshes")
    };
    let long = 30 * 86_400;
    let _ = events(&mut cache);
    let handled = cache.handle_response(r.ticket(), ahead, &dated(issued("long", long), T0_DATE));
    let seen = events(&mut cache);
    assert!(
        seen.contains(&Event::ClockSkew {
            now: ahead,
            line: T0
        }),
        "{seen:?}"
    );
    assert_eq!(handled, Handled::Stored);
    let token = cache.state().token.unwrap();
    assert_eq!(token.expires_at, T0 + Duration::from_secs(long));
    assert!(cache.token(ahead).is_some());
}

#[test]
fn a_date_within_the_margin_changes_nothing() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!("a cold cache refreshes")
    };
    let now = T0 + Duration::from_secs(3);
    let handled = cache.handle_response(r.ticket(), now, &dated(issued("tok", 900), T0_DATE));
    assert_eq!(handled, Handled::Stored);
    assert_eq!(
        cache.state().token.unwrap().expires_at,
        T0 + Duration::from_secs(900)
    );
    assert!(!events(&mut cache)
        .iter()
        .any(|e| matches!(e, Event::ClockSkew { .. })));
}

#[test]
fn the_emulator_states_its_clock_as_line_does() {
    let mut line = line();
    let request = IssueStateless::by_secret(CHANNEL, &ChannelSecret::new(SECRET))
        .to_request(&ApiBase::default());
    let response = line.handle(T0, &request);
    assert_eq!(response.headers()[http::header::DATE], T0_DATE);
}
