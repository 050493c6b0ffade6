//! The cache at the edges: odd answers from LINE, clocks that jump, hostile restored state,
//! late and foreign answers. Each test is one defect the cache once had.

mod common;

use std::time::Duration;

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::*;

/// Answers every refresh with `response` for `polls` polls one second apart; returns how many
/// refreshes were handed out.
fn refreshes_over(cache: &mut TokenCache, polls: u64, response: &http::Response<Vec<u8>>) -> u64 {
    let mut refreshes = 0;
    for s in 0..polls {
        let now = T0 + Duration::from_secs(s);
        match cache.poll(now) {
            Poll::Refresh(r) => {
                refreshes += 1;
                let _ = cache.handle_response(r.ticket(), now, response);
            }
            Poll::Wait(t) | Poll::InFlight(t) => assert!(t > now),
            Poll::Failed(_) => assert!(cache.next_deadline() > now),
            Poll::Ready(_) => {}
        }
    }
    refreshes
}

#[test]
fn expires_in_zero_and_empty_tokens_are_refused_with_backoff() {
    for response in [issued("tok", 0), issued("", 900)] {
        let mut cache = secret_cache();
        // 1,000 polls over 1,000 s: one refresh per failure pause (5 minutes), not per poll.
        assert_eq!(refreshes_over(&mut cache, 1000, &response), 4);
        assert!(matches!(
            cache.last_failure().unwrap().kind,
            FailureKind::InvalidResponse { status: 200 }
        ));
        assert!(cache.token(T0).is_none());
    }
}

#[test]
fn a_replacement_ending_before_the_held_token_does_not_loop() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!()
    };
    assert_eq!(
        cache.handle_response(r.ticket(), T0, &issued("long", 900)),
        Handled::Stored
    );
    // From the advisory window on, LINE answers with tokens that end sooner.
    let due = cache.refresh_due_at().unwrap();
    let mut refreshes = 0;
    for s in 0..100 {
        let now = due + Duration::from_secs(s);
        if let Poll::Refresh(r) = cache.poll(now) {
            refreshes += 1;
            let h = cache.handle_response(r.ticket(), now, &issued(&format!("short{s}"), 60));
            assert!(matches!(h, Handled::Failed(_)));
        }
    }
    assert!(refreshes <= 2, "{refreshes} refreshes in 100 s");
    assert_eq!(cache.token(due).unwrap().expose_secret(), "long");
}

#[test]
fn lifetimes_shorter_than_the_margins_get_proportionate_ones() {
    for lifetime in [1u64, 2, 30, 59, 61] {
        let mut cache = secret_cache();
        let mut refreshes = 0;
        let mut now = T0;
        let mut served = 0;
        for _ in 0..500 {
            match cache.poll(now) {
                Poll::Refresh(r) => {
                    refreshes += 1;
                    let response = issued(&format!("tiny{refreshes}"), lifetime);
                    let _ = cache.handle_response(r.ticket(), now, &response);
                }
                Poll::Ready(_) => {
                    served += 1;
                    let exp = cache.state().token.unwrap().expires_at;
                    assert!(now < exp, "expired token at {now}");
                    now = now + Duration::from_millis(250);
                }
                Poll::Wait(t) | Poll::InFlight(t) => {
                    assert!(t > now, "busy loop: Wait({t}) at {now}");
                    now = t;
                }
                Poll::Failed(f) => panic!("{f}"),
            }
        }
        assert!(served > 0, "a {lifetime}s token is still usable");
        let elapsed = (now - T0).as_secs() + 1;
        // At most one refresh per half usable life (3/8 of the lifetime), or per throttle.
        let bound = elapsed / (lifetime * 3 / 8).max(10) + 2;
        assert!(
            refreshes <= bound,
            "{lifetime}s: {refreshes} refreshes in {elapsed}s"
        );
    }
}

#[test]
fn a_token_issued_while_the_clock_ran_a_day_ahead_is_dropped_when_it_is_corrected() {
    let ahead = T0 + Duration::from_secs(86_400);
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(ahead) else {
        panic!()
    };
    let _ = cache.handle_response(r.ticket(), ahead, &issued("from-the-future", 900));
    assert!(matches!(cache.poll(ahead), Poll::Ready(_)));
    // Corrected: the token's age is unknown, so it is not handed out; a refresh follows
    // once the throttle (counted from the corrected clock) allows.
    assert!(matches!(cache.poll(T0), Poll::Wait(t) if t == T0 + Duration::from_secs(10)));
    assert!(cache.token(T0).is_none());
    assert!(matches!(
        cache.poll(T0 + Duration::from_secs(10)),
        Poll::Refresh(_)
    ));
}

#[test]
fn markers_from_the_future_never_leave_the_cache_waiting_for_long() {
    let far = UnixTime::from_millis(u64::MAX);
    let state = CacheState {
        channel_id: CHANNEL.into(),
        kind: TokenKind::Stateless,
        token: None,
        in_flight_since: Some(far),
        failures: u32::MAX,
        retry_at: Some(far),
        last_failure: None,
        last_refresh_at: Some(far),
    };
    let mut cache = TokenCache::builder(ApiBase::default(), secret_creds())
        .restore(state, T0)
        .build();
    assert_eq!(cache.poll_event(), Some(Event::StateRepaired));
    let deadline = cache.next_deadline();
    assert!(deadline > T0 && deadline <= T0 + cache.config().in_flight_timeout());
    // Within a few polls at the deadlines it asks for, a refresh is handed out.
    let mut now = T0;
    for _ in 0..5 {
        match cache.poll(now) {
            Poll::Refresh(_) => return,
            Poll::Wait(t) | Poll::InFlight(t) => {
                assert!(t > now && t <= now + Duration::from_secs(300));
                now = t;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("stuck");
}

#[test]
fn impossible_restored_tokens_are_dropped() {
    let token = |issued_at: UnixTime, expires_at: UnixTime, raw: &str| CachedToken {
        access_token: AccessToken::new(raw),
        issued_at,
        expires_at,
        key_id: None,
    };
    let day = Duration::from_secs(86_400);
    for bad in [
        token(T0 + Duration::from_secs(60), T0, "issued after it expires"),
        token(T0, T0 + day * 365, "longer-lived than LINE issues"),
        token(T0, T0 + Duration::from_secs(900), ""),
        token(
            T0 + day,
            T0 + day + Duration::from_secs(900),
            "issued tomorrow",
        ),
    ] {
        let state = CacheState {
            channel_id: CHANNEL.into(),
            kind: TokenKind::Stateless,
            token: Some(bad),
            in_flight_since: None,
            failures: 0,
            retry_at: None,
            last_failure: None,
            last_refresh_at: None,
        };
        let mut cache = TokenCache::builder(ApiBase::default(), secret_creds())
            .restore(state, T0)
            .build();
        assert!(cache.token(T0).is_none());
        assert!(matches!(cache.poll(T0), Poll::Refresh(_)));
    }
}

#[test]
fn tickets_never_cross_caches_or_instances() {
    let mut a = secret_cache();
    let mut b = secret_cache(); // the same seed: still distinct instances
    let Poll::Refresh(ra) = a.poll(T0) else {
        panic!()
    };
    let Poll::Refresh(rb) = b.poll(T0) else {
        panic!()
    };
    assert_eq!(
        b.handle_response(ra.ticket(), T0, &issued("a's", 900)),
        Handled::Ignored
    );
    assert_eq!(
        b.handle_transport_failure(ra.ticket(), T0),
        Handled::Ignored
    );
    assert!(b.token(T0).is_none());
    assert_eq!(
        b.handle_response(rb.ticket(), T0, &issued("b's", 900)),
        Handled::Stored
    );
    // A later instance restored from a's state does not accept a's old ticket either.
    let mut a2 = TokenCache::builder(ApiBase::default(), secret_creds())
        .seed(42)
        .restore(a.state(), T0)
        .build();
    assert_eq!(
        a2.handle_response(ra.ticket(), T0, &issued("a's", 900)),
        Handled::Ignored
    );
    assert!(a2.token(T0).is_none());
}

#[test]
fn late_counted_tokens_are_kept_if_better_or_handed_back_for_revocation() {
    let mut line = line();
    let creds = Credentials::short_lived(CHANNEL, ChannelSecret::new(SECRET));
    let mut cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(3)
        .build();
    let Poll::Refresh(lost) = cache.poll(T0) else {
        panic!()
    };
    let lost_answer = line.handle(T0, lost.request());
    // The refresher vanished; after the timeout and backoff a second refresh succeeds.
    let mut now = T0;
    let second = loop {
        match cache.poll(now) {
            Poll::Refresh(r) => break r,
            Poll::Wait(t) | Poll::InFlight(t) => now = t,
            other => panic!("{other:?}"),
        }
    };
    let answer = line.handle(now, second.request());
    assert_eq!(
        cache.handle_response(second.ticket(), now, &answer),
        Handled::Stored
    );
    // The lost answer arrives: it ends sooner, so it is handed back, not dropped.
    assert_eq!(
        cache.handle_response(lost.ticket(), now, &lost_answer),
        Handled::Surplus
    );
    let surplus = cache.take_surplus();
    assert_eq!(surplus.len(), 1);
    assert!(std::iter::from_fn(|| cache.poll_event()).any(|e| matches!(e, Event::Surplus { .. })));
    // A duplicate of the held token is not surplus.
    assert_eq!(
        cache.handle_response(second.ticket(), now, &answer),
        Handled::Ignored
    );
    assert!(cache.take_surplus().is_empty());

    // Kept if better: a late answer when the cache has nothing.
    let mut empty = TokenCache::builder(
        ApiBase::default(),
        Credentials::short_lived(CHANNEL, ChannelSecret::new(SECRET)),
    )
    .build();
    let Poll::Refresh(r) = empty.poll(T0) else {
        panic!()
    };
    let late = T0 + Duration::from_secs(45);
    let _ = empty.poll(late); // times out
    assert_eq!(
        empty.handle_response(r.ticket(), late, &issued("late", 2_592_000)),
        Handled::Stored
    );
}

#[test]
fn the_mandatory_window_retries_before_the_token_ends() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!()
    };
    let _ = cache.handle_response(r.ticket(), T0, &issued("t", 900));
    let usable_end = T0 + Duration::from_secs(900 - 30);
    let mut now = cache.refresh_due_at().unwrap();
    let mut attempts_in_mandatory = 0;
    while now < usable_end {
        match cache.poll(now) {
            Poll::Refresh(r) => {
                if now >= usable_end - Duration::from_secs(60) {
                    attempts_in_mandatory += 1;
                }
                let _ = cache.handle_transport_failure(r.ticket(), now);
            }
            Poll::Ready(_) => {}
            other => panic!("{other:?} while the token is valid"),
        }
        now = cache.next_deadline().max(now + Duration::from_millis(1));
    }
    assert!(attempts_in_mandatory >= 2, "{attempts_in_mandatory}");
}

#[test]
fn instances_with_different_seeds_refresh_at_different_times() {
    let due = |seed| {
        let mut c = TokenCache::builder(ApiBase::default(), secret_creds())
            .seed(seed)
            .build();
        let Poll::Refresh(r) = c.poll(T0) else {
            panic!()
        };
        let _ = c.handle_response(r.ticket(), T0, &issued("t", 900));
        c.refresh_due_at().unwrap()
    };
    let times: std::collections::BTreeSet<_> = (0..20).map(due).collect();
    assert!(times.len() > 10, "{times:?}");
    let earliest = T0 + Duration::from_secs(900 - 30 - 300);
    assert!(times
        .iter()
        .all(|t| *t >= earliest && *t < earliest + Duration::from_secs(60)));
}

#[test]
fn a_counted_token_from_the_future_is_handed_back_not_lost() {
    let creds = || Credentials::short_lived(CHANNEL, ChannelSecret::new(SECRET));
    let ahead = T0 + Duration::from_secs(86_400);
    let mut cache = TokenCache::builder(ApiBase::default(), creds()).build();
    let Poll::Refresh(r) = cache.poll(ahead) else {
        panic!()
    };
    let _ = cache.handle_response(r.ticket(), ahead, &issued("thirty-days", 2_592_000));
    // Restored by a process whose clock is a day behind: the token's age is unknown.
    let mut restored = TokenCache::builder(ApiBase::default(), creds())
        .restore(cache.state(), T0)
        .build();
    assert!(restored.token(T0).is_none());
    let surplus = restored.take_surplus();
    assert_eq!(surplus.len(), 1);
    assert_eq!(surplus[0].access_token.expose_secret(), "thirty-days");
    // The same under a running cache whose clock goes back.
    let _ = cache.poll(T0);
    assert_eq!(cache.take_surplus().len(), 1);
}

#[test]
fn a_clock_at_the_end_of_time_starts_one_refresh_not_one_per_poll() {
    // Every deadline saturates at u64::MAX ms: it must read "never", not "already passed".
    let end = UnixTime::from_millis(u64::MAX);
    for start in [end, end - Duration::from_secs(5)] {
        let mut cache = secret_cache();
        let mut refreshes = 0;
        for s in 0..100 {
            if let Poll::Refresh(_) = cache.poll(start + Duration::from_millis(s * 100)) {
                refreshes += 1;
            }
        }
        assert_eq!(refreshes, 1, "from {start:?}");
        // The clock is corrected: nothing set at the end of time holds the cache for long.
        let _ = cache.poll(T0);
        assert!(cache.next_deadline() <= T0 + cache.config().in_flight_timeout());
    }
}

#[test]
fn an_answer_claiming_a_longer_life_than_line_gives_is_capped_and_survives_restore() {
    for expires_in in [u64::MAX, 40 * 86_400] {
        let mut cache = secret_cache();
        let Poll::Refresh(r) = cache.poll(T0) else {
            panic!("a cold cache refreshes")
        };
        assert_eq!(
            cache.handle_response(r.ticket(), T0, &issued("tok", expires_in)),
            Handled::Stored
        );
        // Refreshed like any stateless token, not kept for ever.
        assert!(cache.refresh_due_at().unwrap() < T0 + Duration::from_secs(900));
        let restored = TokenCache::builder(ApiBase::default(), secret_creds())
            .restore(cache.state(), T0)
            .build();
        assert!(restored.token(T0).is_some(), "expires_in {expires_in}");
    }
}

#[test]
fn a_secret_echoed_by_the_server_is_redacted_from_failures_events_and_state() {
    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    let bodies = [
        (
            400,
            format!(r#"{{"error":"{SECRET}","error_description":"bad secret {SECRET}"}}"#),
        ),
        (
            400,
            format!(r#"{{"message":"{SECRET}","details":[{{"property":"{SECRET}"}}]}}"#),
        ),
        (500, format!(r#""{SECRET}""#)),
        (
            200,
            format!(r#"{{"access_token":"t","expires_in":"{SECRET}"}}"#),
        ),
    ];
    for (status, body) in bodies {
        let creds = Credentials::stateless_by_secret(CHANNEL, ChannelSecret::new(SECRET));
        let mut cache = TokenCache::builder(ApiBase::default(), creds).build();
        let Poll::Refresh(r) = cache.poll(T0) else {
            panic!("a cold cache refreshes")
        };
        let handled = cache.handle_response(r.ticket(), T0, &answer(status, &body));
        let event = cache.poll_event();
        let shown = format!(
            "{handled:?} {} {event:?} {cache:?} {}",
            cache.last_failure().unwrap(),
            serde_json::to_string(&cache.state()).unwrap()
        );
        assert!(!shown.contains(SECRET), "{shown}");
        // (A 2xx body that does not decode is described without quoting any of it.)
        assert!(status == 200 || shown.contains("[redacted]"), "{shown}");
    }

    // A client assertion echoed back (LINE refusing it with 400).
    let key = docs_key();
    let creds = Credentials::stateless_by_assertion(CHANNEL, "kid", key, Box::new(OsRng)).unwrap();
    let mut cache = TokenCache::builder(ApiBase::default(), creds).build();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!("a cold cache refreshes")
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(r.request().body()).unwrap();
    let assertion = form
        .into_iter()
        .find(|(k, _)| k == "client_assertion")
        .unwrap()
        .1;
    let body = format!(r#"{{"error":"invalid_client","error_description":"bad {assertion}"}}"#);
    let Handled::Failed(failure) = cache.handle_response(r.ticket(), T0, &answer(400, &body))
    else {
        panic!("a refusal")
    };
    assert!(!failure.to_string().contains(&assertion), "{failure}");
}

#[test]
fn a_duplicate_answer_never_brings_back_an_invalidated_token() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!("a cold cache refreshes")
    };
    let response = issued("rejected", 900);
    assert_eq!(
        cache.handle_response(r.ticket(), T0, &response),
        Handled::Stored
    );
    let later = T0 + Duration::from_secs(5);
    assert!(cache.invalidate(&AccessToken::new("rejected")));
    // The same answer handed back again (a retried callback, a duplicated message).
    assert_eq!(
        cache.handle_response(r.ticket(), later, &response),
        Handled::Ignored
    );
    assert!(cache.token(later).is_none());
}

#[test]
fn an_answer_too_late_to_use_is_retried_with_backoff_not_paused() {
    // The VM was paused for an hour mid-refresh: the 15-minute token it brings is already
    // spent. That is no configuration error: retry soon, not after the 5-minute pause.
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!("a cold cache refreshes")
    };
    let resumed = T0 + Duration::from_secs(3600);
    let Handled::Failed(failure) = cache.handle_response(r.ticket(), resumed, &issued("tok", 900))
    else {
        panic!("a spent token is refused")
    };
    assert!(failure.retryable, "{failure}");
    assert!(!matches!(cache.poll(resumed), Poll::Failed(_)));
    assert!(cache.next_deadline() <= resumed + cache.config().backoff_cap());
}
