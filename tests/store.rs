//! The store protocol's promises, one test each, and property tests over hostile records.
//! (Every interleaving of three processes is in `store_model/`; Redis in `fleet.rs`.)

use std::time::Duration;

use line_channel_token::store::{
    decide, Decision, Failure, OwnerId, Record, StoreConfig, StoreConfigError, WaitReason, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};
use proptest::prelude::*;

mod common;
use common::store::reread;

const T0: u64 = 1_700_000_000;
const A: OwnerId = OwnerId::new(1);
const B: OwnerId = OwnerId::new(2);

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(T0 + secs)
}

fn stateless() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap()
}

fn v21(budget: usize) -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::V21, Duration::from_secs(86_400))
        .and_then(|c| c.with_budget(budget))
        .unwrap()
}

/// Counted, but not listable: no settling or listing before a refresh.
fn short_lived(budget: usize) -> StoreConfig {
    StoreConfig::new(
        "1234567890",
        TokenKind::ShortLived,
        Duration::from_secs(30 * 86_400),
    )
    .and_then(|c| c.with_budget(budget))
    .unwrap()
}

fn issued(token: &str, expires_in: u64) -> IssuedToken {
    serde_json::from_value(serde_json::json!({
        "access_token": token, "expires_in": expires_in, "key_id": format!("kid-{token}"),
    }))
    .unwrap()
}

fn take(record: &Record, now: UnixTime, me: OwnerId, config: &StoreConfig) -> Write {
    match decide(record, now, me, config) {
        Decision::TakeLease(w) => w,
        other => panic!("expected TakeLease, got {other:?}"),
    }
}

/// A record holding `token` committed by A at `now`.
fn with_token(token: &str, expires_in: u64, now: UnixTime, config: &StoreConfig) -> Record {
    let lease = take(&Record::empty(config), now, A, config).into_record();
    let commit = lease
        .commit(now, A, now, &issued(token, expires_in), config)
        .unwrap();
    reread(&commit, now, config)
}

#[test]
fn configurations_that_cannot_work_are_refused_when_built() {
    let day = Duration::from_secs(86_400);
    assert!(matches!(
        StoreConfig::new("1234567890", TokenKind::LongLived, day),
        Err(StoreConfigError::NotIssuable(_))
    ));
    assert!(StoreConfig::new("1234567890", TokenKind::Stateless, Duration::ZERO).is_err());
    assert!(
        StoreConfig::new("1234567890", TokenKind::Stateless, day).is_err(),
        "stateless lives 15 min"
    );
    let c = v21(20);
    assert!(c.with_lease(Duration::ZERO).is_err());
    assert!(c.with_lease(Duration::from_secs(601)).is_err());
    assert!(c.with_budget(0).is_err());
    assert!(c.with_budget(31).is_err());
    assert!(c.with_refresh_before(day).is_err());
    assert!(c
        .with_margins(Duration::from_secs(10), Duration::from_secs(6))
        .is_err());
    let defaults = StoreConfig::new("1234567890", TokenKind::ShortLived, 30 * day).unwrap();
    assert_eq!(defaults.lease(), Duration::from_secs(30));
    assert_eq!(defaults.budget(), Some(20));
    assert_eq!(stateless().budget(), None);
}

#[test]
fn one_process_takes_the_lease_the_others_wait_then_all_serve_the_same_token() {
    let c = stateless();
    let empty = Record::empty(&c);
    let a = take(&empty, at(0), A, &c);
    let b = take(&empty, at(0), B, &c);
    assert_eq!(
        a.expected_version(),
        b.expected_version(),
        "both race on version 0"
    );
    // The store applies A's; B's no longer matches and B reads A's record.
    let seen_by_b = reread(&a, at(0), &c);
    match decide(&seen_by_b, at(0), B, &c) {
        Decision::Wait(w) => {
            assert!(matches!(w.reason, WaitReason::Refreshing { by, .. } if by == A));
            assert_eq!(
                w.until,
                at(0) + c.poll_interval(),
                "waiters re-read promptly"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide(a.record(), at(0), A, &c),
        Decision::Refresh { .. }
    ));
    let commit = a
        .record()
        .commit(at(1), A, at(0), &issued("tok", 900), &c)
        .unwrap();
    assert_eq!(
        commit.expected_version(),
        a.new_version(),
        "fenced on the lease"
    );
    let shared = reread(&commit, at(1), &c);
    for me in [A, B] {
        match decide(&shared, at(2), me, &c) {
            Decision::Serve(t) => assert_eq!(t.access_token.expose_secret(), "tok"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_dead_holder_is_taken_over_once_its_lease_runs_out_and_its_late_commit_overwrites_nothing() {
    let c = short_lived(20);
    let lease_a = take(&Record::empty(&c), at(0), A, &c);
    let seen = reread(&lease_a, at(29), &c);
    assert!(matches!(decide(&seen, at(29), B, &c), Decision::Wait(_)));
    // After the lease (30 s), B takes over and commits.
    let seen = reread(&lease_a, at(31), &c);
    let lease_b = take(&seen, at(31), B, &c);
    let commit_b = lease_b
        .record()
        .commit(at(32), B, at(31), &issued("b", 86_400), &c)
        .unwrap();
    // A comes back: its commit names A's lease version, which the store no longer holds.
    let late = lease_a
        .record()
        .commit(at(40), A, at(0), &issued("a", 86_400), &c)
        .unwrap();
    assert_ne!(late.expected_version(), commit_b.new_version());
    // Re-read, commit again: A's token is counted, B's stays the shared one.
    let now_seen = reread(&commit_b, at(40), &c);
    let adopt = now_seen
        .commit(at(40), A, at(0), &issued("a", 86_400), &c)
        .unwrap();
    let after = adopt.record();
    assert_eq!(
        after.token().unwrap().access_token.expose_secret(),
        "b",
        "a late holder never overwrites a newer token"
    );
    assert_eq!(after.issued().len(), 2, "both counted against LINE's cap");
    assert!(
        after.issued().iter().all(|e| e.tentative.is_none()),
        "each real entry replaced its holder's tentative one"
    );
}

#[test]
fn a_lease_or_backoff_from_the_future_is_not_trusted_past_its_bound() {
    let c = stateless();
    let body = |lease: &str, failure: &str| {
        format!(
            r#"{{"format":"line-channel-token/store/v2","kind":"stateless","channel":"1234567890","lease":{lease},"failure":{failure}}}"#
        )
    };
    let now = at(0);
    let forever = format!(
        r#"{{"owner":9,"taken_at":{},"expires_at":{}}}"#,
        now.as_millis(),
        u64::MAX
    );
    let (r, repairs) =
        Record::from_store(5, Some(body(&forever, "null").as_bytes()), now, &c).unwrap();
    assert!(repairs.distrusted);
    // Bounded by the longest lease any process may configure (600 s), not the reader's own.
    let longest = Duration::from_secs(600);
    assert_eq!(r.lease().unwrap().expires_at, now + longest);
    assert!(matches!(
        decide(&r, now + longest, A, &c),
        Decision::TakeLease(_)
    ));
    let from_the_future = format!(
        r#"{{"owner":9,"taken_at":{},"expires_at":{}}}"#,
        u64::MAX - 1,
        u64::MAX
    );
    let (r, _) =
        Record::from_store(5, Some(body(&from_the_future, "null").as_bytes()), now, &c).unwrap();
    assert!(r.lease().is_none());
    let stuck = format!(
        r#"{{"count":4000000000,"at":{},"retry_at":{},"retryable":true}}"#,
        now.as_millis(),
        u64::MAX
    );
    let (r, _) = Record::from_store(5, Some(body("null", &stuck).as_bytes()), now, &c).unwrap();
    assert!(r.failure().is_none());
    assert!(matches!(decide(&r, now, A, &c), Decision::TakeLease(_)));
}

#[test]
fn failures_back_off_for_the_whole_fleet_and_a_useless_answer_is_a_failure() {
    let c = stateless();
    let lease = take(&Record::empty(&c), at(0), A, &c).into_record();
    let failed = lease.release(at(1), A, Failure::answered(503), &c).unwrap();
    match decide(failed.record(), at(1), B, &c) {
        Decision::Wait(w) => {
            assert!(matches!(w.reason, WaitReason::Backoff(ref f) if f.status == Some(503)));
            // The cache's backoff: equal jitter, half to all of the 1 s step.
            assert!(w.until >= at(1) + Duration::from_millis(500) && w.until <= at(2));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        lease.release(at(1), B, Failure::not_sent(), &c).is_none(),
        "only the holder releases"
    );
    // A token already due for refresh when its answer arrives (a 60 s token sent at 0 is
    // due by 27 s, the cache's rule: half its usable life, jittered by up to a fifth): kept,
    // served, but no new issuance until the backoff ends.
    let lease = take(&Record::empty(&c), at(0), A, &c).into_record();
    let short = lease
        .commit(at(28), A, at(0), &issued("short", 60), &c)
        .unwrap();
    assert!(short.record().failure().is_some());
    assert!(matches!(
        decide(short.record(), at(28), B, &c),
        Decision::Serve(_)
    ));
    let useless = lease
        .commit(at(0), A, at(0), &issued("zero", 0), &c)
        .unwrap();
    assert!(useless.record().token().is_none());
    assert!(matches!(
        decide(useless.record(), at(0), B, &c),
        Decision::Wait(_)
    ));
}

#[test]
fn counted_kinds_stay_within_the_budget_and_keep_serving_what_is_out() {
    let c = v21(2);
    let first = with_token("one", 86_400, at(0), &c);
    // A late second token is counted too.
    let second = first
        .commit(at(1), B, at(1), &issued("two", 86_400), &c)
        .unwrap()
        .into_record();
    assert_eq!(second.issued().len(), 2);
    // In the refresh window, with the budget spent: serve the token that is out.
    let late = at(86_400 - 3_600);
    assert!(matches!(decide(&second, late, A, &c), Decision::Serve(_)));
    // Past its usable life: wait for the oldest to expire rather than issue a third.
    let expired = at(86_400 - 5);
    match decide(&second, expired, A, &c) {
        Decision::Wait(w) => {
            assert!(matches!(w.reason, WaitReason::Budget { active: 2, .. }));
            assert!(w.until > expired);
        }
        other => panic!("{other:?}"),
    }
}

fn arb_time() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        (T0 * 1000 - 10_000_000)..(T0 * 1000 + 10_000_000),
        any::<u64>(),
    ]
}

prop_compose! {
    fn arb_body()(
        kind in prop_oneof![Just("stateless"), Just("v2.1"), Just("x")],
        owner in 0u64..4,
        taken in arb_time(), lease_end in arb_time(),
        issued_at in arb_time(), expires_at in arb_time(),
        entries in proptest::collection::vec(arb_time(), 0..40),
        f_at in arb_time(), retry in arb_time(), count in any::<u32>(),
        token in prop_oneof![Just(""), Just("tok")],
    ) -> String {
        serde_json::json!({
            "format": "line-channel-token/store/v2", "kind": kind, "channel": "1234567890",
            "lease": {"owner": owner, "taken_at": taken, "expires_at": lease_end},
            "token": {"access_token": token, "issued_at": issued_at, "expires_at": expires_at},
            "issued": entries.iter().map(|e| serde_json::json!({"expires_at": e})).collect::<Vec<_>>(),
            "failure": {"count": count, "at": f_at, "retry_at": retry, "retryable": true},
        }).to_string()
    }
}

proptest! {
    /// Whatever a store returns: no panic, never a token past (or within the margin of) its
    /// expiry by the caller's clock, a wait always in the future, a lease held at most its bound.
    #[test]
    fn hostile_records_never_panic_or_serve_expired_tokens(
        version in any::<u64>(),
        body in prop_oneof![arb_body(), any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).into_owned())],
        now in arb_time(),
        counted in any::<bool>(),
    ) {
        let c = if counted { v21(20) } else { stateless() };
        let now = UnixTime::from_millis(now);
        // Another kind's record is refused, never decided on.
        let Ok((record, _)) = Record::from_store(version, Some(body.as_bytes()), now, &c) else {
            return Ok(());
        };
        if let Some(lease) = record.lease() {
            let longest = Duration::from_secs(600);
            let bound = if lease.settles { longest * 2 + c.clock_skew() * 2 } else { longest };
            prop_assert!(lease.expires_at <= lease.taken_at + bound);
        }
        prop_assert!(record.issued().len() <= 64);
        match decide(&record, now, OwnerId::new(9), &c) {
            Decision::Serve(t) => prop_assert!(now + c.min_remaining() < t.expires_at),
            Decision::Wait(w) => prop_assert!(w.until > now),
            Decision::TakeLease(w) => {
                prop_assert_eq!(w.expected_version(), version);
                prop_assert_ne!(w.new_version(), version);
                prop_assert!(w.new_version() != 0);
            }
            Decision::Refresh { lease_until } | Decision::ListKeys { lease_until } => {
                prop_assert!(lease_until > now)
            }
        }
    }
}
