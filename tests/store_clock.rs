//! A store clock that went back behind the store's own record (a clock stepped back, a
//! failover to a host whose clock is behind): the fetch decides at the latest time the
//! record records, as far as this machine's clock allows, and says so.

use std::time::Duration;

use line_channel_token::store::{
    decide, Body, Decision, Failure, Fetch, Input, Outcome, OwnerId, Read, Record, Step,
    StoreConfig, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

const T0: u64 = 1_700_000_000;
const A: OwnerId = OwnerId::new(1);
const B: OwnerId = OwnerId::new(2);

fn at(secs: u64) -> UnixTime {
    UnixTime::from_secs(T0 + secs)
}

fn config() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap()
}

fn reread(write: &Write, now: UnixTime, c: &StoreConfig) -> Record {
    Record::from_store(write.new_version(), Some(write.body().as_bytes()), now, c)
        .unwrap()
        .0
}

/// The record after A issued a 15-minute token at `at(0)`.
fn committed(c: &StoreConfig) -> Write {
    let Decision::TakeLease(take) = decide(&Record::empty(c), at(0), A, c) else {
        panic!()
    };
    let token: IssuedToken =
        serde_json::from_str(r#"{"access_token":"t0","expires_in":900}"#).unwrap();
    reread(&take, at(0), c)
        .commit(at(0), A, at(0), &token, c)
        .unwrap()
}

/// B's fetch's first step after one read of `write` at the store's `now`, `local` by its own.
fn first_step<'c>(
    write: &Write,
    now: UnixTime,
    local: UnixTime,
    c: &'c StoreConfig,
) -> (Step, Fetch<'c>) {
    let (mut fetch, _) = Fetch::new(c, B, Duration::from_secs(35));
    let read = Read {
        now,
        version: write.new_version(),
        body: Body::Present(write.body().into_bytes()),
    };
    (fetch.next(Input::Read(read, local)), fetch)
}

#[test]
fn a_store_clock_gone_back_behind_the_record_is_decided_at_the_records_time() {
    let c = config();
    let write = committed(&c);
    // The store's clock reads 5 min before the token's issuance: the token would look issued
    // in the future (and be dropped, and the fleet issue again).
    let (step, fetch) = first_step(&write, at(0) - Duration::from_secs(300), at(1), &c);
    match step {
        Step::Done(Outcome::Token { token, committed }) => {
            assert!(committed);
            assert_eq!(token.access_token.expose_secret(), "t0");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fetch.events().store_clock_back_ms, Some(300_000));
    // This machine's clock agrees with the record: it is not blamed.
    assert_eq!(fetch.events().clock_off_ms, None);
}

#[test]
fn a_store_clock_gone_back_does_not_serve_a_token_past_its_usable_end() {
    let c = config();
    let write = committed(&c);
    // Near the token's end, A's refresh fails (a 503) at 880 s: the record notes it then.
    let held = reread(&write, at(870), &c);
    let Decision::TakeLease(take) = decide(&held, at(870), A, &c) else {
        panic!()
    };
    let failed = reread(&take, at(880), &c)
        .release(at(880), A, Failure::answered(503), &c)
        .unwrap();
    // Then the store's clock steps back to 300 s: the token, past its usable end (870 s),
    // would look good for 9 more minutes.
    let (step, fetch) = first_step(&failed, at(300), at(881), &c);
    assert!(
        !matches!(step, Step::Done(Outcome::Token { .. })),
        "served a token past its usable end: {step:?}"
    );
    assert_eq!(fetch.events().store_clock_back_ms, Some(580_000));
}

#[test]
fn a_record_time_beyond_this_machines_clock_does_not_move_the_decision() {
    let c = config();
    let write = committed(&c);
    // This machine and the store agree, an hour before the record's times (forged, or
    // written by a clock an hour ahead): the record does not move the decision time.
    let (step, fetch) = first_step(
        &write,
        at(0) - Duration::from_secs(3600),
        at(0) - Duration::from_secs(3600),
        &c,
    );
    assert!(matches!(step, Step::Swap(_)), "{step:?}");
    assert_eq!(fetch.events().store_clock_back_ms, None);
}
