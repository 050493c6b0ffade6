//! Many channels in one pool: deadlines, failures surfaced, replaced caches.

mod common;

use std::time::Duration;

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::{Due, TokenPool};
use line_channel_token::*;

fn channel(i: u64) -> String {
    format!("{}", 1_000_000_000 + i)
}

fn pool_of(n: u64, line: &mut Emulator) -> TokenPool<String> {
    let mut pool = TokenPool::new();
    for i in 0..n {
        line.add_channel(&channel(i), ChannelSecret::new("s"));
        let creds = Credentials::stateless_by_secret(channel(i), ChannelSecret::new("s"));
        pool.insert(
            channel(i),
            TokenCache::builder(ApiBase::default(), creds)
                .seed(i)
                .build(),
        );
    }
    pool
}

/// Sends every due refresh to `line`; returns the failures reported.
fn serve(
    pool: &mut TokenPool<String>,
    line: &mut Emulator,
    now: UnixTime,
) -> Vec<(String, RefreshFailure)> {
    let mut failures = Vec::new();
    for (key, due) in pool.poll_due(now) {
        match due {
            Due::Refresh(r) => {
                let _ = pool.handle_response(
                    key.as_str(),
                    r.ticket(),
                    now,
                    &line.handle(now, r.request()),
                );
            }
            Due::Failed(f) => failures.push((key, f)),
        }
    }
    failures
}

#[test]
fn the_pool_tracks_the_earliest_deadline_across_channels() {
    let mut line = Emulator::new();
    let mut pool = pool_of(200, &mut line);
    assert_eq!(
        pool.next_deadline(),
        Some(UnixTime::EPOCH),
        "new channels are due at once"
    );
    let mut now = T0;
    for round in 0..40 {
        assert!(serve(&mut pool, &mut line, now).is_empty());
        for i in 0..200 {
            assert!(
                pool.token(channel(i).as_str(), now).is_some(),
                "{i} has no token at round {round}"
            );
        }
        // The queue's answer equals the brute-force minimum.
        let brute = (0..200)
            .map(|i| pool.get(channel(i).as_str()).unwrap().next_deadline())
            .min();
        assert_eq!(pool.next_deadline(), brute);
        now = pool.next_deadline().unwrap().max(now) + Duration::from_secs(round % 7);
    }
    // One issuance per channel per refresh window, not per poll.
    let per_channel = line.calls(Operation::IssueStateless) as f64 / 200.0;
    let elapsed = (now - T0).as_secs_f64();
    assert!(
        per_channel <= elapsed / (900.0 - 360.0) + 1.5,
        "{per_channel} per channel over {elapsed}s"
    );
}

#[test]
fn poll_due_surfaces_failures() {
    let mut line = Emulator::new();
    let mut pool = pool_of(3, &mut line);
    // Channel 1's refresh is taken and never answered (its sender crashed).
    let due = pool.poll_due(T0);
    assert_eq!(due.len(), 3);
    for (key, d) in due {
        let Due::Refresh(r) = d else { panic!() };
        if key != channel(1) {
            let _ =
                pool.handle_response(key.as_str(), r.ticket(), T0, &line.handle(T0, r.request()));
        }
    }
    let timeout = T0 + Duration::from_secs(30);
    assert_eq!(pool.next_deadline(), Some(timeout));
    let due = pool.poll_due(timeout);
    let [(key, Due::Failed(failure))] = &due[..] else {
        panic!("{due:?}")
    };
    assert_eq!(key, &channel(1));
    assert_eq!(failure.kind, FailureKind::TimedOut);
    // A wrong secret: LINE's refusal comes back through handle_response.
    let wrong = Credentials::stateless_by_secret(channel(2), ChannelSecret::new("wrong"));
    pool.insert(channel(2), TokenCache::new(ApiBase::default(), wrong));
    let mut due = pool.poll_due(timeout);
    let Some((key, Due::Refresh(r))) = due.pop() else {
        panic!()
    };
    let handled = pool.handle_response(
        key.as_str(),
        r.ticket(),
        timeout,
        &line.handle(timeout, r.request()),
    );
    assert!(matches!(handled, Handled::Failed(f) if f.status() == Some(400)));
}

#[test]
fn a_replaced_cache_never_takes_the_old_caches_answer() {
    let mut line = Emulator::new();
    line.add_channel("1", ChannelSecret::new("a"));
    let mut pool = TokenPool::new();
    let creds = |id: &str, s: &str| Credentials::stateless_by_secret(id, ChannelSecret::new(s));
    pool.insert(
        "tenant",
        TokenCache::new(ApiBase::default(), creds("1", "a")),
    );
    let mut due = pool.poll_due(T0);
    let Some((_, Due::Refresh(old))) = due.pop() else {
        panic!()
    };
    // The tenant moves to another channel while the refresh is out.
    assert!(pool
        .insert(
            "tenant",
            TokenCache::new(ApiBase::default(), creds("2", "b"))
        )
        .is_some());
    let answer = line.handle(T0, old.request());
    assert_eq!(
        pool.handle_response("tenant", old.ticket(), T0, &answer),
        Handled::Ignored
    );
    assert!(
        pool.token("tenant", T0).is_none(),
        "channel 1's token went to channel 2's tenant"
    );
}

#[test]
fn remove_invalidate_and_borrowed_lookups() {
    let mut line = line();
    let mut pool: TokenPool<String> = TokenPool::new();
    pool.insert("a".to_string(), secret_cache());
    assert!(serve(&mut pool, &mut line, T0).is_empty());
    let token = pool.token("a", T0).unwrap().clone();
    assert!(!pool.invalidate("a", &AccessToken::new("stale")));
    assert!(pool.invalidate("a", &token));
    assert!(pool.token("a", T0).is_none());
    assert!(matches!(pool.poll_event("a"), Some(Event::Issued { .. })));
    assert!(pool.take_surplus("a").is_empty());
    assert!(pool.remove("a").is_some());
    assert_eq!(pool.next_deadline(), None);
    assert!(pool.is_empty());
}

#[test]
fn poll_due_at_most_bounds_each_call_and_serves_the_most_overdue_first() {
    let mut line = Emulator::new();
    let mut pool = pool_of(50, &mut line);
    let mut served = std::collections::HashSet::new();
    let mut calls = 0;
    while pool.next_deadline().is_some_and(|d| d <= T0) {
        let due = pool.poll_due_at_most(T0, 8);
        assert!(!due.is_empty() && due.len() <= 8, "{}", due.len());
        for (key, due) in due {
            let Due::Refresh(r) = due else {
                panic!("a new channel refreshes")
            };
            let answer = line.handle(T0, r.request());
            let _ = pool.handle_response(key.as_str(), r.ticket(), T0, &answer);
            assert!(served.insert(key), "each channel is polled once");
        }
        calls += 1;
        assert!(calls <= 7, "50 channels in batches of 8 take 7 calls");
    }
    assert_eq!(served.len(), 50);
    assert_eq!(calls, 7);
}
