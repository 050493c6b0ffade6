//! The token cache's documented behaviour, one test per promise, on a simulated clock.

mod common;

use std::time::Duration;

use common::cache::*;
use http::StatusCode;
use line_channel_token::cache::*;
use line_channel_token::*;

#[test]
fn defaults_fit_each_token_type() {
    let stateless = CacheConfig::for_lifetime(Duration::from_secs(900));
    assert_eq!(stateless.refresh_before(), Duration::from_secs(300));
    assert_eq!(stateless.mandatory_before(), Duration::from_secs(60));
    assert_eq!(stateless.min_issue_interval(), Duration::from_secs(10));
    let month = CacheConfig::for_lifetime(Duration::from_secs(30 * 86_400));
    assert_eq!(month.refresh_before(), Duration::from_secs(86_400));
    let tiny = CacheConfig::for_lifetime(Duration::from_secs(60));
    assert_eq!(tiny.refresh_before(), Duration::from_secs(60));
}

#[test]
fn configurations_that_cannot_work_are_refused_when_built() {
    let b = || CacheConfig::builder(Duration::from_secs(900));
    let day = Duration::from_secs(86_400);
    for (bad, setting) in [
        (b().backoff_base(Duration::ZERO).build(), "backoff_base"),
        (
            b().in_flight_timeout(Duration::ZERO).build(),
            "in_flight_timeout",
        ),
        (b().failure_pause(Duration::ZERO).build(), "failure_pause"),
        (b().backoff_cap(Duration::MAX).build(), "backoff_cap"),
        (b().backoff_base(day * 2).build(), "backoff_base"),
        (b().refresh_before(Duration::ZERO).build(), "refresh_before"),
        (b().mandatory_before(day).build(), "mandatory_before"),
    ] {
        let e = bad.unwrap_err();
        assert_eq!(e.setting(), setting);
        assert!(e.to_string().contains("use a value"), "{e}");
    }
    let key = docs_key();
    for exp in [Duration::ZERO, Duration::from_secs(31 * 86_400)] {
        let rng: BlindingRng = Box::new(OsRng);
        let e = Credentials::v21(CHANNEL, "kid", key.clone(), exp, rng).unwrap_err();
        assert_eq!(e, AssertionError::TokenExp(exp));
    }
    let e = Credentials::stateless_by_assertion("not-digits", "kid", key, Box::new(OsRng));
    assert_eq!(e.unwrap_err(), AssertionError::ChannelId);
}

#[test]
fn reuses_the_token_until_the_advisory_window_then_refreshes_once() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    let first = get(&mut cache, &mut line, &clock).unwrap();
    let due = cache.refresh_due_at().unwrap();
    // 15-minute token, 30 s skew, 5-minute lead, jitter up to a fifth of the lead.
    let earliest = T0 + Duration::from_secs(900 - 30 - 300);
    assert!(
        due >= earliest && due < earliest + Duration::from_secs(60),
        "{due}"
    );
    clock.set(due - Duration::from_millis(1));
    assert_eq!(get(&mut cache, &mut line, &clock).unwrap(), first);
    assert_eq!(line.calls(Operation::IssueStateless), 1);
    clock.set(due);
    let fresh = get(&mut cache, &mut line, &clock).unwrap();
    assert_ne!(fresh, first);
    assert_eq!(line.calls(Operation::IssueStateless), 2);
}

#[test]
fn one_caller_refreshes_while_the_others_keep_the_valid_token() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    let old = get(&mut cache, &mut line, &clock).unwrap();
    let due = cache.refresh_due_at().unwrap();
    let Poll::Refresh(refresh) = cache.poll(due) else {
        panic!("refresh expected")
    };
    for _ in 0..5 {
        assert!(matches!(cache.poll(due), Poll::Ready(t) if *t == old));
    }
    let response = line.handle(due, refresh.request());
    assert_eq!(
        cache.handle_response(refresh.ticket(), due, &response),
        Handled::Stored
    );
    assert_eq!(line.calls(Operation::IssueStateless), 2);
}

#[test]
fn waiters_see_in_flight_and_a_vanished_refresher_times_out() {
    let mut cache = secret_cache();
    let Poll::Refresh(lost) = cache.poll(T0) else {
        panic!()
    };
    let timeout = T0 + Duration::from_secs(30);
    let generation = cache.generation();
    match cache.poll(T0 + Duration::from_secs(10)) {
        Poll::InFlight(until) => assert_eq!(until, timeout),
        other => panic!("{other:?}"),
    }
    assert_eq!(cache.next_deadline(), timeout);
    assert_eq!(cache.generation(), generation, "nothing changed yet");
    // At the timeout: a failure (retryable), a backoff, then a new refresh with a new ticket.
    let Poll::Wait(retry) = cache.poll(timeout) else {
        panic!()
    };
    assert!(retry > timeout && retry <= timeout + cache.config().backoff_cap());
    assert_eq!(cache.last_failure().unwrap().kind, FailureKind::TimedOut);
    let Poll::Refresh(again) = cache.poll(retry) else {
        panic!()
    };
    assert_ne!(again.ticket(), lost.ticket());
    // The lost refresh's answer, if it ever comes, is late: a stateless token is still kept
    // if it is better than nothing.
    let late = cache.handle_response(lost.ticket(), retry, &issued("late", 900));
    assert_eq!(late, Handled::Stored);
}

#[test]
fn retryable_failures_back_off_and_serve_the_old_token() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    let old = get(&mut cache, &mut line, &clock).unwrap();
    let due = cache.refresh_due_at().unwrap();
    line.fail_next(Operation::IssueStateless, 3, StatusCode::TOO_MANY_REQUESTS);
    let Poll::Refresh(r) = cache.poll(due) else {
        panic!()
    };
    let Handled::Failed(failure) =
        cache.handle_response(r.ticket(), due, &line.handle(due, r.request()))
    else {
        panic!()
    };
    assert!(failure.retryable);
    assert!(matches!(
        failure.kind,
        FailureKind::Refused { status: 429, .. }
    ));
    assert!(failure.message.contains("429"), "{failure}");
    // Backing off (and throttled): the old token is still served.
    assert!(matches!(cache.poll(due), Poll::Ready(t) if *t == old));
    assert!(cache.next_deadline() > due);
}

#[test]
fn non_retryable_failures_surface_and_are_not_retried_in_a_hot_loop() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = TokenCache::builder(
        ApiBase::default(),
        Credentials::stateless_by_secret(CHANNEL, ChannelSecret::new("wrong")),
    )
    .build();
    let DriveError::Refresh { failure, retry_at } = get(&mut cache, &mut line, &clock).unwrap_err()
    else {
        panic!()
    };
    assert_eq!(failure.status(), Some(400));
    assert!(matches!(
        &failure.kind,
        FailureKind::Refused {
            status: 400,
            error: Some(_)
        }
    ));
    assert_eq!(retry_at, T0 + Duration::from_secs(300));
    for s in 1..100 {
        let now = T0 + Duration::from_secs(s);
        assert!(matches!(cache.poll(now), Poll::Failed(f) if !f.retryable));
        assert!(get(&mut cache, &mut line, &clock).is_err(), "fails fast");
    }
    assert_eq!(line.calls(Operation::IssueStateless), 1);
    assert_eq!(cache.next_deadline(), retry_at);
}

#[test]
fn a_transport_error_is_reported_with_the_retry_time() {
    let clock = SimClock::new(T0);
    let mut cache = secret_cache();
    let e = drive(
        &mut cache,
        || clock.now(),
        |d| clock.advance(d),
        |_req| Err::<http::Response<Vec<u8>>, _>("connection refused"),
    )
    .unwrap_err();
    assert!(matches!(
        e,
        DriveError::Transport {
            error: "connection refused",
            ..
        }
    ));
    assert!(e.retry_at() > T0);
    assert!(e.to_string().contains("connection refused"), "{e}");
}

#[test]
fn jwt_credentials_reuse_one_assertion_while_it_is_valid() {
    let key = docs_key();
    let mut line = line();
    let kid = line
        .register_public_key(CHANNEL, &key.public_jwk().to_json())
        .unwrap();
    let creds = Credentials::stateless_by_assertion(CHANNEL, kid, key, Box::new(OsRng)).unwrap();
    let mut cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(1)
        .build();
    let assertion_of = |req: &http::Request<Vec<u8>>| -> String {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(req.body()).unwrap();
        form.into_iter()
            .find(|(k, _)| k == "client_assertion")
            .unwrap()
            .1
    };
    let Poll::Refresh(r1) = cache.poll(T0) else {
        panic!()
    };
    let _ = cache.handle_transport_failure(r1.ticket(), T0);
    let t1 = cache.next_deadline();
    let Poll::Refresh(r2) = cache.poll(t1) else {
        panic!()
    };
    assert_eq!(
        assertion_of(r1.request()),
        assertion_of(r2.request()),
        "reused"
    );
    let _ = cache.handle_response(r2.ticket(), t1, &line.handle(t1, r2.request()));
    // 40 minutes later the 30-minute assertion is gone: a new one is signed.
    let later = t1 + Duration::from_secs(40 * 60);
    let Poll::Refresh(r3) = cache.poll(later) else {
        panic!()
    };
    assert_ne!(assertion_of(r1.request()), assertion_of(r3.request()));
    let handled = cache.handle_response(r3.ticket(), later, &line.handle(later, r3.request()));
    assert_eq!(handled, Handled::Stored);
}

#[test]
fn v21_keeps_the_key_id_and_its_state_holds_no_secret_but_the_token() {
    let key = docs_key();
    let mut line = line();
    let kid = line
        .register_public_key(CHANNEL, &key.public_jwk().to_json())
        .unwrap();
    let week = Duration::from_secs(7 * 86_400);
    let creds = || Credentials::v21(CHANNEL, &kid, key.clone(), week, Box::new(OsRng)).unwrap();
    let mut cache = TokenCache::new(ApiBase::default(), creds());
    assert_eq!(cache.config().refresh_before(), Duration::from_secs(86_400));
    let clock = SimClock::new(T0);
    let token = get(&mut cache, &mut line, &clock).unwrap();
    let state = cache.state();
    let cached = state.token.as_ref().unwrap();
    assert!(cached.key_id.is_some());
    assert_eq!(cached.expires_at, T0 + week);

    let json = serde_json::to_string(&state).unwrap();
    let d = serde_json::from_str::<serde_json::Value>(common::PYJWT_DOCS_KEY).unwrap()["d"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !json.contains(&d[..16]) && !json.contains(SECRET) && !json.contains("eyJhbGciOiJSUzI1Ni")
    );
    assert!(
        json.contains(token.expose_secret()),
        "the token itself is cached"
    );

    // Restored in another process: the same token, no issuance.
    let back: CacheState = serde_json::from_str(&json).unwrap();
    let later = T0 + Duration::from_secs(60);
    let mut restored = TokenCache::builder(ApiBase::default(), creds())
        .restore(back, later)
        .build();
    clock.set(later);
    assert_eq!(get(&mut restored, &mut line, &clock).unwrap(), token);
    assert_eq!(line.calls(Operation::IssueV21), 1);

    // State of another channel is not trusted.
    let other = TokenCache::builder(
        ApiBase::default(),
        Credentials::stateless_by_secret("999", ChannelSecret::new("x")),
    )
    .restore(state, later)
    .build();
    assert!(other.state().token.is_none());
}

#[test]
fn events_tell_what_happened_without_secrets() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = secret_cache();
    let a = get(&mut cache, &mut line, &clock).unwrap();
    clock.set(cache.refresh_due_at().unwrap());
    line.fail_next(
        Operation::IssueStateless,
        1,
        StatusCode::SERVICE_UNAVAILABLE,
    );
    let _ = get(&mut cache, &mut line, &clock).unwrap();
    clock.set(cache.next_deadline());
    let b = get(&mut cache, &mut line, &clock).unwrap();
    assert!(cache.invalidate(&b));
    let _ = get(&mut cache, &mut line, &clock).unwrap();
    clock.set(T0 + Duration::from_secs(3600));
    let _ = cache.poll(clock.now());
    let mut events = Vec::new();
    while let Some(e) = cache.poll_event() {
        events.push(e);
    }
    let names: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Issued { .. } => "issued",
            Event::Refreshed { .. } => "refreshed",
            Event::RefreshFailed { .. } => "failed",
            Event::Invalidated => "invalidated",
            Event::Expired { .. } => "expired",
            _ => "other",
        })
        .collect();
    assert_eq!(
        names,
        [
            "issued",
            "failed",
            "refreshed",
            "invalidated",
            "issued",
            "expired"
        ]
    );
    let debug = format!("{events:?}");
    for secret in [a.expose_secret(), b.expose_secret(), SECRET] {
        assert!(!debug.contains(secret), "{debug}");
    }
}

#[test]
fn a_refresh_shows_no_secret_and_zeroes_its_body() {
    let mut cache = secret_cache();
    let Poll::Refresh(refresh) = cache.poll(T0) else {
        panic!()
    };
    let debug = format!("{refresh:?}");
    assert!(
        !debug.contains(SECRET) && debug.contains("redacted"),
        "{debug}"
    );
    assert!(String::from_utf8_lossy(refresh.request().body()).contains(SECRET));
    let (_, request) = refresh.into_parts();
    assert!(
        String::from_utf8_lossy(request.body()).contains(SECRET),
        "the body moved out whole"
    );
    assert!(!format!("{cache:?}").contains(SECRET));
}

#[test]
fn a_cache_can_record_no_events() {
    let (mut line, clock) = (line(), SimClock::new(T0));
    let mut cache = TokenCache::builder(ApiBase::default(), secret_creds())
        .record_events(false)
        .build();
    get(&mut cache, &mut line, &clock).unwrap();
    assert_eq!(cache.poll_event(), None);
}

#[test]
fn a_failure_survives_a_save_and_restore() {
    let mut cache = secret_cache();
    let Poll::Refresh(r) = cache.poll(T0) else {
        panic!()
    };
    let refused = answer(
        400,
        r#"{"error":"invalid_client","error_description":"bad"}"#,
    );
    let _ = cache.handle_response(r.ticket(), T0, &refused);
    let json = serde_json::to_string(&cache.state()).unwrap();
    assert!(
        json.contains(r#""kind":"refused","status":400,"error":"invalid_client""#),
        "{json}"
    );
    let back: CacheState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cache.state());
    let mut restored = TokenCache::builder(ApiBase::default(), secret_creds())
        .restore(back, T0 + Duration::from_secs(1))
        .build();
    assert!(
        matches!(restored.poll(T0 + Duration::from_secs(1)), Poll::Failed(f) if f.status() == Some(400))
    );
}

#[test]
fn a_refresh_abandoned_by_the_driver_is_not_waited_for() {
    // A `send` that panics (caught by the caller) and an async driver dropped mid-send (a
    // timeout around it) both leave a refresh nobody will answer: the cache must not answer
    // the next call with 30 s of `InFlight` for it.
    let mut cache = secret_cache();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(
            &mut cache,
            || T0,
            |_| {},
            |_req| -> Result<http::Response<Vec<u8>>, std::io::Error> { panic!("client bug") },
        )
    }));
    assert!(panicked.is_err());
    // Not LINE's failure: the next call takes the refresh over at once, past the throttle.
    assert!(cache.last_failure().is_none());
    let Poll::Refresh(again) = cache.poll(T0) else {
        panic!("the abandoned refresh was not handed on");
    };
    drop(again); // dropped without a word: waited for up to the in-flight timeout

    let mut cache = secret_cache();
    {
        let future = drive_async(
            &mut cache,
            || T0,
            |_| std::future::ready(()),
            |_req| std::future::pending::<Result<http::Response<Vec<u8>>, std::io::Error>>(),
        );
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            std::future::Future::poll(future.as_mut(), &mut cx).is_pending(),
            "sending"
        );
    } // dropped mid-send
    assert!(cache.last_failure().is_none());
    // Abandoned again before any answer: now a failure, backed off, so a sender cancelled
    // every time does not issue once per call.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(
            &mut cache,
            || T0,
            |_| {},
            |_req| -> Result<http::Response<Vec<u8>>, std::io::Error> { panic!("client bug") },
        )
    }));
    assert!(panicked.is_err());
    assert!(matches!(cache.poll(T0), Poll::Wait(t) if t > T0));
    assert_eq!(cache.last_failure().unwrap().kind, FailureKind::Transport);
}
