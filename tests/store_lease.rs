//! Processes of one fleet with different lease bounds (a rolling change of `--store-lease`):
//! a reader trusts another process's lease up to the longest lease any process may configure,
//! not its own, so it does not take over while the holder's call may still issue; a forged
//! lease is still bounded.

use std::time::Duration;

use line_channel_token::store::{
    decide, Decision, Failure, OwnerId, Record, StoreConfig, WaitReason,
};
use line_channel_token::{TokenKind, UnixTime};

const T0: u64 = 1_700_000_000;
const LONG: OwnerId = OwnerId::new(1);
const SHORT: OwnerId = OwnerId::new(2);

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(T0 + secs)
}

fn config(kind: TokenKind, lifetime: u64, lease: u64) -> StoreConfig {
    StoreConfig::new("1234567890", kind, Duration::from_secs(lifetime))
        .and_then(|c| c.with_lease(Duration::from_secs(lease)))
        .unwrap()
}

/// What a store holding `body` returns to a reader with `config` at `now`.
fn read(version: u64, body: &str, now: UnixTime, config: &StoreConfig) -> Record {
    Record::from_store(version, Some(body.as_bytes()), now, config)
        .unwrap()
        .0
}

#[test]
fn a_shorter_lease_does_not_take_over_a_longer_one_while_its_call_may_still_issue() {
    for (kind, lifetime) in [
        (TokenKind::Stateless, 900),
        (TokenKind::ShortLived, 30 * 86_400),
    ] {
        let long = config(kind, lifetime, 120);
        let short = config(kind, lifetime, 30);
        let Decision::TakeLease(take) = decide(&Record::empty(&long), at(0), LONG, &long) else {
            panic!()
        };
        let (version, body) = (take.new_version(), take.body());
        // 31 s on, the holder's call (up to 110 s) may still issue: the short-lease process
        // waits for it.
        let seen = read(version, &body, at(31), &short);
        match decide(&seen, at(31), SHORT, &short) {
            Decision::Wait(w) => {
                // The wait names the holder's lease end, not the next re-read (at 31.1 s).
                assert!(
                    matches!(w.reason, WaitReason::Refreshing { by: LONG, lease_ends, .. }
                        if lease_ends == at(120)),
                    "{w:?}"
                )
            }
            other => panic!("{kind:?}: took over a live 120 s lease at 31 s: {other:?}"),
        }
        // Once the holder's own lease is over, it is taken over.
        let seen = read(version, &body, at(121), &short);
        assert!(
            matches!(
                decide(&seen, at(121), SHORT, &short),
                Decision::TakeLease(_)
            ),
            "{kind:?}"
        );
    }
}

#[test]
fn a_v21_holder_with_a_longer_lease_is_not_taken_over_before_its_lease_ends() {
    let long = config(TokenKind::V21, 86_400, 120);
    let short = config(TokenKind::V21, 86_400, 30);
    // A v2.1 record that has listed LINE's key ids (no settling), with no lease.
    let Decision::TakeLease(take) = decide(&Record::empty(&long), at(0), LONG, &long) else {
        panic!()
    };
    let settled = take.record().lease().unwrap().expires_at - Duration::from_secs(120);
    let held = read(take.new_version(), &take.body(), settled, &long);
    let reconcile = held.reconcile(settled, LONG, &[], &long).unwrap();
    let listed = read(reconcile.new_version(), &reconcile.body(), settled, &long);
    let release = listed
        .release(settled, LONG, Failure::not_sent(), &long)
        .unwrap();
    let idle = read(release.new_version(), &release.body(), settled, &long);
    assert!(!idle.is_uncertain() && idle.lease().is_none());
    // LONG takes the lease (it lists, then calls LINE, for up to 110 s); SHORT reads at 31 s.
    let t = settled + Duration::from_secs(1);
    let Decision::TakeLease(take) = decide(&idle, t, LONG, &long) else {
        panic!()
    };
    let later = t + Duration::from_secs(31);
    let seen = read(take.new_version(), &take.body(), later, &short);
    // Taking over would list LINE's key ids and drop LONG's tentative entry while LONG's call
    // may still issue: a token LINE holds and the record does not count.
    assert!(
        matches!(decide(&seen, later, SHORT, &short), Decision::Wait(_)),
        "a 30 s process took over a live 120 s v2.1 lease at 31 s"
    );
    assert_eq!(
        seen.issued()
            .iter()
            .filter(|e| e.tentative.is_some())
            .count(),
        1
    );
}

#[test]
fn a_forged_far_future_lease_is_still_bounded() {
    let c = config(TokenKind::Stateless, 900, 30);
    let body = format!(
        r#"{{"format":"line-channel-token/store/v2","kind":"stateless","channel":"1234567890","lease":{{"owner":9,"taken_at":{},"expires_at":{}}}}}"#,
        at(0).as_millis(),
        u64::MAX / 2
    );
    let seen = read(7, &body, at(599), &c);
    assert!(matches!(
        decide(&seen, at(599), SHORT, &c),
        Decision::Wait(_)
    ));
    let seen = read(7, &body, at(601), &c);
    assert!(matches!(
        decide(&seen, at(601), SHORT, &c),
        Decision::TakeLease(_)
    ));
}
