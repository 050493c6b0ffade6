//! The store protocol's count and bindings: tentative entries, LINE's listing, a record under
//! the wrong key, refusals scoped to a credential, a fleet-wide invalidate. One test each.

use std::time::Duration;

use line_channel_token::store::{
    decide, CredentialId, Decision, Failure, OwnerId, Record, RecordError, StoreConfig,
    StoreConfigError, WaitReason, Write, MAX_RECORD_LEN,
};
use line_channel_token::{AccessToken, IssuedToken, TokenKind, UnixTime};

mod common;
use common::store::reread;

const T0: u64 = 1_700_000_000;
const A: OwnerId = OwnerId::new(1);
const B: OwnerId = OwnerId::new(2);

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(T0 + secs)
}

fn short_lived(budget: usize) -> StoreConfig {
    StoreConfig::new(
        "1234567890",
        TokenKind::ShortLived,
        Duration::from_secs(30 * 86_400),
    )
    .and_then(|c| c.with_budget(budget))
    .unwrap()
}

fn v21(budget: usize) -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::V21, Duration::from_secs(86_400))
        .and_then(|c| c.with_budget(budget))
        .unwrap()
}

fn stateless() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap()
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

#[test]
fn a_holder_that_dies_after_line_answered_is_still_counted() {
    let c = short_lived(2);
    let lease = take(&Record::empty(&c), at(0), A, &c);
    assert_eq!(
        lease.record().issued().len(),
        1,
        "counted before LINE is called"
    );
    assert_eq!(lease.record().issued()[0].tentative, Some(A));
    // A dies after LINE answered. Past its lease, B takes over: A's entry still counts.
    let seen = reread(&lease, at(31), &c);
    let take_b = take(&seen, at(31), B, &c);
    assert_eq!(take_b.record().issued().len(), 2);
    // With B's refresh also dead, the budget of 2 is spent: nobody issues a third.
    let seen = reread(&take_b, at(62), &c);
    match decide(&seen, at(62), OwnerId::new(3), &c) {
        Decision::Wait(w) => assert!(matches!(w.reason, WaitReason::Budget { active: 2, .. })),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failure_keeps_the_tentative_entry_only_if_line_may_have_issued() {
    let c = short_lived(5);
    let held = take(&Record::empty(&c), at(0), A, &c).into_record();
    for status in [400, 401, 429] {
        let answered = held
            .release(at(1), A, Failure::answered(status), &c)
            .unwrap();
        assert!(
            answered.record().issued().is_empty(),
            "LINE itself answered {status}: nothing issued"
        );
    }
    // A gateway's 502 or 504 may come after LINE issued: counted, as for no answer.
    for status in [500, 502, 503, 504] {
        let gateway = held
            .release(at(1), A, Failure::answered(status), &c)
            .unwrap();
        assert_eq!(gateway.record().issued().len(), 1, "{status}: maybe issued");
    }
    let timed_out = held.release(at(1), A, Failure::unanswered(), &c).unwrap();
    assert_eq!(
        timed_out.record().issued().len(),
        1,
        "no answer: LINE may have issued, so it stays counted"
    );
    // Bounded: counted until a token issued under the lease would have expired, no longer.
    let lease_end = held.lease().unwrap().expires_at;
    let maybe = timed_out.record().issued()[0].expires_at;
    assert_eq!(maybe, lease_end + c.lifetime());
    let skew = c.clock_skew() * 2;
    let before = maybe + skew - Duration::from_secs(1);
    assert_eq!(reread(&timed_out, before, &c).issued().len(), 1);
    assert!(reread(&timed_out, maybe + skew, &c).issued().is_empty());
    // The next lease of the same owner adds its own entry; its commit replaces only that one.
    let seen = reread(&timed_out, at(3), &c);
    let again = take(&seen, at(3), A, &c).into_record();
    assert_eq!(again.issued().len(), 2);
    let commit = again
        .commit(at(4), A, at(3), &issued("t", 30 * 86_400), &c)
        .unwrap();
    let entries = commit.record().issued();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries.iter().filter(|e| e.tentative == Some(A)).count(), 1);
}

#[test]
fn v21_lists_lines_key_ids_before_issuing_on_a_record_that_lost_its_count() {
    let c = v21(3);
    let take_a = take(&Record::empty(&c), at(0), A, &c);
    let lease = take_a.record().lease().unwrap().clone();
    assert!(lease.settles);
    // First, calls under a lease lost with the record may still be running: wait them out.
    match decide(take_a.record(), at(1), A, &c) {
        Decision::Wait(w) => {
            assert_eq!(w.reason, WaitReason::Settling);
            assert_eq!(w.until, at(0) + c.lease() + c.clock_skew() * 2);
        }
        other => panic!("{other:?}"),
    }
    let settled = at(0) + c.lease() + c.clock_skew() * 2;
    let held = reread(&take_a, settled, &c);
    assert!(matches!(
        decide(&held, settled, A, &c),
        Decision::ListKeys { .. }
    ));
    // LINE holds two tokens the record does not know: counted, with room for one more.
    let kids = ["x".to_owned(), "y".to_owned()];
    let reconciled = held.reconcile(settled, A, &kids, &c).unwrap();
    assert!(!reconciled.record().is_uncertain());
    assert_eq!(
        reconciled.record().issued().len(),
        3,
        "two listed and A's own"
    );
    assert!(matches!(
        decide(reconciled.record(), settled, A, &c),
        Decision::Refresh { .. }
    ));
    // LINE holds the whole budget: the lease is given back without issuing.
    let full = ["x".to_owned(), "y".to_owned(), "z".to_owned()];
    let given_back = held.reconcile(settled, A, &full, &c).unwrap();
    assert!(given_back.record().lease().is_none());
    match decide(given_back.record(), settled, A, &c) {
        Decision::Wait(w) => assert!(matches!(w.reason, WaitReason::Budget { active: 3, .. })),
        other => panic!("{other:?}"),
    }
    assert!(
        held.reconcile(settled, B, &kids, &c).is_none(),
        "only the holder"
    );
}

#[test]
fn v21_a_gateway_error_is_counted_until_the_next_holder_lists_lines_key_ids() {
    let c = v21(3);
    let take_a = take(&Record::empty(&c), at(0), A, &c);
    let settled = at(0) + c.lease() + c.clock_skew() * 2;
    let held = reread(&take_a, settled, &c);
    let listed = held.reconcile(settled, A, &[], &c).unwrap();
    let failed = reread(&listed, settled, &c)
        .release(settled, A, Failure::answered(504), &c)
        .unwrap();
    assert_eq!(
        failed.record().issued().len(),
        1,
        "504: LINE may have issued"
    );
    // The next holder lists: LINE did not issue, so the entry goes.
    let next = settled + Duration::from_secs(120);
    let take_b = take(&reread(&failed, next, &c), next, B, &c);
    let held_b = reread(&take_b, next, &c);
    assert!(matches!(
        decide(&held_b, next, B, &c),
        Decision::ListKeys { .. }
    ));
    let recounted = held_b.reconcile(next, B, &[], &c).unwrap();
    let left = recounted.record().issued();
    assert!(left.iter().all(|e| e.tentative == Some(B)), "{left:?}");
}

#[test]
fn a_record_under_the_wrong_key_or_too_large_is_refused_never_served() {
    let c = stateless();
    let other = StoreConfig::new("999", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    let lease = take(&Record::empty(&other), at(0), A, &other).into_record();
    let theirs = lease
        .commit(at(0), A, at(0), &issued("theirs", 900), &other)
        .unwrap();
    let body = theirs.body();
    assert!(body.contains(r#""channel":"999""#), "{body}");
    assert_eq!(
        Record::from_store(9, Some(body.as_bytes()), at(1), &c).unwrap_err(),
        RecordError::OtherChannel
    );
    let v21_config = v21(20);
    assert_eq!(
        Record::from_store(9, Some(body.as_bytes()), at(1), &v21_config).unwrap_err(),
        RecordError::OtherKind
    );
    // Every write names its channel; a record naming none is not this fleet's.
    let ours = take(&Record::empty(&c), at(0), A, &c).body();
    assert!(ours.contains(r#""channel":"1234567890""#), "{ours}");
    let unbound = body.replace(r#""channel":"999","#, "");
    assert!(!unbound.contains(r#""channel""#), "{unbound}");
    assert_eq!(
        Record::from_store(9, Some(unbound.as_bytes()), at(1), &c).unwrap_err(),
        RecordError::OtherChannel
    );
    let huge = vec![b' '; MAX_RECORD_LEN + 1];
    assert!(matches!(
        Record::from_store(9, Some(&huge), at(1), &c),
        Err(RecordError::TooLarge(_))
    ));
    for id in ["", "12 34", &"9".repeat(65)] {
        assert_eq!(
            StoreConfig::new(id, TokenKind::Stateless, Duration::from_secs(900)),
            Err(StoreConfigError::Channel),
            "{id:?}"
        );
    }
}

#[test]
fn keys_expire_after_everything_the_record_counts() {
    let c = short_lived(5);
    let lease = take(&Record::empty(&c), at(0), A, &c);
    // The tentative entry lives a lifetime past the lease: the key must outlive it.
    let last = lease.record().issued()[0].expires_at;
    assert!(at(0) + lease.keep_for() > last);
    assert!(lease.keep_for() < Duration::from_secs(31 * 86_400));
}

#[test]
fn a_refusal_pauses_only_the_credential_that_got_it() {
    let wrong = stateless().with_credential(CredentialId::of(b"wrong secret"));
    let right = stateless().with_credential(CredentialId::of(b"right secret"));
    let held = take(&Record::empty(&wrong), at(0), A, &wrong).into_record();
    let refused = held
        .release(at(1), A, Failure::answered(400), &wrong)
        .unwrap();
    let note = refused.record().failure().unwrap();
    assert_eq!(note.status, Some(400));
    assert!(!note.retryable);
    match decide(refused.record(), at(2), B, &wrong) {
        Decision::Wait(w) => assert!(matches!(w.reason, WaitReason::Backoff(_))),
        other => panic!("the same credential waits: {other:?}"),
    }
    assert!(
        matches!(
            decide(refused.record(), at(2), B, &right),
            Decision::TakeLease(_)
        ),
        "another credential still tries"
    );
    // A retryable failure is LINE's, not the credential's: everyone backs off.
    let busy = held
        .release(at(1), A, Failure::answered(503), &wrong)
        .unwrap();
    assert!(matches!(
        decide(busy.record(), at(1), B, &right),
        Decision::Wait(_)
    ));
}

#[test]
fn a_fleet_wide_invalidate_drops_the_shared_token_once_if_still_current() {
    let c = short_lived(5);
    let lease = take(&Record::empty(&c), at(0), A, &c).into_record();
    let commit = lease
        .commit(at(0), A, at(0), &issued("t1", 30 * 86_400), &c)
        .unwrap();
    let record = reread(&commit, at(10), &c);
    let t1 = AccessToken::new("t1".to_owned());
    let dropped = record.invalidate(at(10), B, &t1, &c).unwrap();
    assert!(dropped.record().token().is_none());
    assert_eq!(
        dropped.record().issued().len(),
        0,
        "refused by LINE: no longer one LINE counts"
    );
    let after = reread(&dropped, at(11), &c);
    assert!(
        after.invalidate(at(11), A, &t1, &c).is_none(),
        "a second 401 for the same token drops nothing"
    );
    let other = AccessToken::new("t0".to_owned());
    assert!(
        record.invalidate(at(10), B, &other, &c).is_none(),
        "an older token's 401 does not drop the current one"
    );
}

#[test]
fn a_record_that_cannot_be_read_is_refused_never_overwritten() {
    use line_channel_token::store::{Body, Fetch, Input, Outcome, Read, Step};
    let c = short_lived(5);
    let refused = |body: &str| Record::from_store(9, Some(body.as_bytes()), at(0), &c).unwrap_err();
    assert_eq!(refused("not json"), RecordError::Unreadable);
    assert_eq!(
        refused(r#"{"kind":"short-lived"}"#),
        RecordError::Unreadable
    );
    assert_eq!(
        refused(r#"{"format":"line-channel-token/store/v2","kind":"short-lived","issued":7}"#),
        RecordError::Unreadable,
        "the right marker, fields that do not decode"
    );
    assert_eq!(
        refused(r#"{"format":"something/else","kind":"short-lived"}"#),
        RecordError::Unreadable
    );
    let newer = refused(r#"{"format":"line-channel-token/store/v3","issued":"changed"}"#);
    assert_eq!(newer, RecordError::OtherFormat(3));
    assert!(newer.to_string().contains("upgrade"), "{newer}");
    let older = refused(r#"{"format":"line-channel-token/store/v1","kind":"short-lived"}"#);
    assert_eq!(older, RecordError::OtherFormat(1));
    assert!(older.to_string().contains("delete the key"), "{older}");
    // Not a number this crate writes: damaged, not "older" (v02 and v+2 parse as 2).
    for odd in ["v02", "v+2", "v2 ", "v"] {
        let body = format!(r#"{{"format":"line-channel-token/store/{odd}","kind":"short-lived"}}"#);
        assert_eq!(refused(&body), RecordError::Unreadable, "{odd}");
    }
    // A fetch ends on it without a write.
    let (mut fetch, first) = Fetch::new(&c, A, Duration::from_secs(60));
    assert_eq!(first, Step::Read);
    let read = Read {
        now: at(0),
        version: 9,
        body: Body::Present(b"{\"format\":\"line-channel-token/store/v3\"}".to_vec()),
    };
    assert_eq!(
        fetch.next(Input::Read(read, at(0))),
        Step::Done(Outcome::Refused(RecordError::OtherFormat(3)))
    );
}
