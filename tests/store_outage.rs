//! LINE (or a gateway in front of it) answering 5xx for a long time, with short-lived tokens,
//! which cannot be listed: every 5xx is counted as maybe issued, so without care the fleet
//! spends its budget in minutes and cannot issue for 30 days. The tries are spaced over the
//! held token's usable life, and with no usable token left, failed calls' entries give way
//! below LINE's own limit.

use std::time::Duration;

use line_channel_token::facts::MAX_ACTIVE_SHORT_LIVED;
use line_channel_token::store::{
    decide, Decision, Failure, OwnerId, Record, StoreConfig, WaitReason, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

mod common;
use common::store::reread;

const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
/// How often callers ask the fleet for a token in the simulation.
const CALLS: Duration = Duration::from_secs(60);

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(T0 + secs)
}

fn short_lived(budget: usize) -> StoreConfig {
    StoreConfig::new(
        "1234567890",
        TokenKind::ShortLived,
        Duration::from_secs(30 * DAY),
    )
    .and_then(|c| c.with_budget(budget))
    .unwrap()
}

fn issued(token: &str) -> IssuedToken {
    serde_json::from_value(serde_json::json!({
        "access_token": token, "expires_in": 30 * DAY,
    }))
    .unwrap()
}

/// One refresh by `me` under the lease `take` wrote: the call starts at once and LINE's
/// answer (`answer`: a token, or a failure) comes a second later.
fn refresh(
    take: &Write,
    now: UnixTime,
    me: OwnerId,
    answer: Result<&str, Failure>,
    c: &StoreConfig,
) -> Record {
    let held = reread(take, now, c);
    assert!(matches!(
        decide(&held, now, me, c),
        Decision::Refresh { .. }
    ));
    let later = now + Duration::from_secs(1);
    let seen = reread(take, later, c);
    let write = match answer {
        Ok(token) => seen.commit(later, me, now, &issued(token), c),
        Err(failure) => seen.release(later, me, failure, c),
    };
    reread(&write.unwrap(), later, c)
}

fn tentative(record: &Record) -> usize {
    record
        .issued()
        .iter()
        .filter(|e| e.tentative.is_some())
        .count()
}

#[test]
fn five_hundreds_spend_the_budget_over_the_tokens_usable_life_then_slack_issues() {
    let c = short_lived(20);
    // The fleet's token, issued at 0.
    let take = match decide(&Record::empty(&c), at(0), OwnerId::new(1), &c) {
        Decision::TakeLease(w) => w,
        other => panic!("{other:?}"),
    };
    let mut record = refresh(&take, at(0), OwnerId::new(1), Ok("t0"), &c);
    let mut now = at(60);
    let mut owner = 2;
    // From the refresh point on, LINE answers 502 to every call (it issued nothing).
    let mut tries = Vec::new();
    while record.usable_token(now, &c).is_some() {
        match decide(&record, now, OwnerId::new(owner), &c) {
            Decision::Serve(_) => now = now + CALLS,
            Decision::TakeLease(w) => {
                let me = OwnerId::new(owner);
                owner += 1;
                tries.push(now);
                record = refresh(&w, now, me, Err(Failure::answered(502)), &c);
                now = now + CALLS;
            }
            other => panic!("while a token is usable: {other:?}"),
        }
    }
    // The token stopped being usable at some instant in the minute before `now`.
    let usable_end = now;
    // Every slot the token's entry leaves was tried, no more, all while it was usable.
    assert_eq!(tries.len(), 19, "{tries:?}");
    let first = tries[0];
    let window = usable_end - first;
    assert!(window > Duration::from_secs(DAY / 2), "{window:?}");
    // Spaced: evenly, window / 19 apart, never the minutes of the usual backoff.
    let gap = window / 20;
    for pair in tries.windows(2) {
        assert!(pair[1] - pair[0] >= gap, "{:?} apart", pair[1] - pair[0]);
    }
    // The budget lasts: its last slot goes in the last gap but one before the end.
    let last = *tries.last().unwrap();
    assert!(
        usable_end - last <= window / 19 * 2,
        "{:?}",
        usable_end - last
    );
    assert_eq!(record.issued().len(), 20, "the budget is spent");
    assert_eq!(tentative(&record), 19);

    // Nothing usable is held: the failed calls' entries give way below LINE's limit of 30.
    let mut slack = 0;
    let mut first_slack = None;
    let stopped = loop {
        match decide(&record, now, OwnerId::new(owner), &c) {
            Decision::TakeLease(w) => {
                let me = OwnerId::new(owner);
                owner += 1;
                slack += 1;
                first_slack.get_or_insert_with(|| (w.clone(), now, me));
                record = refresh(&w, now, me, Err(Failure::answered(502)), &c);
                let counted = record.issued().len();
                assert!(counted <= MAX_ACTIVE_SHORT_LIVED, "{counted} counted");
                now = now + Duration::from_secs(1);
            }
            Decision::Wait(w) if matches!(w.reason, WaitReason::Backoff(_)) => now = w.until,
            Decision::Wait(w) => break w,
            other => panic!("{other:?}"),
        }
    };
    // Up to LINE's limit, never past it (t0's own entry expired meanwhile: one more).
    assert!(slack >= MAX_ACTIVE_SHORT_LIVED - 20, "{slack}");
    assert_eq!(record.issued().len(), MAX_ACTIVE_SHORT_LIVED);
    match stopped.reason {
        WaitReason::Budget {
            active, uncertain, ..
        } => {
            assert_eq!(
                (active, uncertain),
                (MAX_ACTIVE_SHORT_LIVED, MAX_ACTIVE_SHORT_LIVED)
            );
        }
        other => panic!("{other:?}"),
    }
    eprintln!(
        "502 from the refresh point: {} tries spaced {:?} apart over {:?}; the fleet stops \
         trying after {:?} of 502s ({:?} after its token stopped being usable, {slack} slack \
         tries), until {:?} later",
        tries.len(),
        tries[1] - tries[0],
        window,
        now - first,
        now - usable_end,
        stopped.until - now,
    );
    // Had LINE answered the first slack call, the fleet would have its token again.
    let (w, then, me) = first_slack.expect("slack issued");
    let back = refresh(&w, then, me, Ok("t1"), &c);
    let later = then + CALLS;
    match decide(&back, later, OwnerId::new(owner), &c) {
        Decision::Serve(t) => assert_eq!(t.access_token.expose_secret(), "t1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_slack_while_a_token_is_usable_or_for_holders_that_stopped() {
    let c = short_lived(2);
    let a = OwnerId::new(1);
    // A issues and commits; B's call then fails with a 502: the budget of 2 is spent.
    let take_a = match decide(&Record::empty(&c), at(0), a, &c) {
        Decision::TakeLease(w) => w,
        other => panic!("{other:?}"),
    };
    let record = refresh(&take_a, at(0), a, Ok("t0"), &c);
    let b = OwnerId::new(2);
    let refresh_at = (0..30 * DAY / 60)
        .map(|m| at(m * 60))
        .find(|t| matches!(decide(&record, *t, b, &c), Decision::TakeLease(_)))
        .unwrap();
    let Decision::TakeLease(take_b) = decide(&record, refresh_at, b, &c) else {
        unreachable!()
    };
    let record = refresh(&take_b, refresh_at, b, Err(Failure::unanswered()), &c);
    assert_eq!(record.issued().len(), 2);
    // While A's token is usable, it is served: no slack.
    let usable = (0..DAY)
        .map(|s| refresh_at + Duration::from_secs(s * 60))
        .take_while(|t| record.usable_token(*t, &c).is_some());
    for t in usable {
        assert!(matches!(decide(&record, t, b, &c), Decision::Serve(_)));
    }
    // A holder that stopped (a crash, a commit the store kept failing) may have handed its
    // token out: its entry is no slack. Two such entries: the fleet waits and says why.
    let c = short_lived(2);
    let take_a = match decide(&Record::empty(&c), at(0), a, &c) {
        Decision::TakeLease(w) => w,
        other => panic!("{other:?}"),
    };
    let seen = reread(&take_a, at(31), &c);
    let Decision::TakeLease(take_b) = decide(&seen, at(31), b, &c) else {
        panic!()
    };
    let seen = reread(&take_b, at(62), &c);
    match decide(&seen, at(62), OwnerId::new(3), &c) {
        Decision::Wait(w) => assert!(matches!(
            w.reason,
            WaitReason::Budget {
                active: 2,
                uncertain: 2,
                ..
            }
        )),
        other => panic!("{other:?}"),
    }
    // One stopped, one failed (502): the stopped one alone is within the budget: slack.
    let failed = reread(&take_b, at(32), &c)
        .release(at(32), b, Failure::answered(502), &c)
        .unwrap();
    let seen = reread(&failed, at(62), &c);
    assert!(matches!(
        decide(&seen, at(62), OwnerId::new(3), &c),
        Decision::TakeLease(_)
    ));
}

#[test]
fn a_failure_that_issued_nothing_is_not_spaced() {
    let c = short_lived(20);
    let a = OwnerId::new(1);
    let take_a = match decide(&Record::empty(&c), at(0), a, &c) {
        Decision::TakeLease(w) => w,
        other => panic!("{other:?}"),
    };
    let record = refresh(&take_a, at(0), a, Ok("t0"), &c);
    let b = OwnerId::new(2);
    let refresh_at = (0..30 * DAY / 60)
        .map(|m| at(m * 60))
        .find(|t| matches!(decide(&record, *t, b, &c), Decision::TakeLease(_)))
        .unwrap();
    let Decision::TakeLease(take_b) = decide(&record, refresh_at, b, &c) else {
        unreachable!()
    };
    for (failure, spaced) in [
        (Failure::not_sent(), false),
        (Failure::answered(429), false),
        (Failure::answered(503), true),
    ] {
        let record = refresh(&take_b, refresh_at, b, Err(failure), &c);
        let in_two_minutes = refresh_at + Duration::from_secs(120);
        let tries = matches!(
            decide(&record, in_two_minutes, OwnerId::new(3), &c),
            Decision::TakeLease(_)
        );
        assert_eq!(tries, !spaced, "{failure:?}");
    }
}
