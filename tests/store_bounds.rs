//! A fetch ends, whatever the store does: a store that loses its writes (an evicted key, a
//! failover) slows the fetch to the poll interval and ends it with a typed error; a store
//! clock that stands still does not stretch the wait past `max_wait` of this machine's
//! clock; a token that expired during a slow call ends in a retryable, explained outcome.

use std::cell::Cell;
use std::time::Duration;

use line_channel_token::store::{
    decide, drive, Body, Decision, DriveError, Failure, Outcome, OwnerId, Read, Record, Refresher,
    Store, StoreConfig, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

const T0_MS: u64 = 1_700_000_000_000;

/// A store in memory whose clock is `clock` (ms), and which forgets the first `drop` writes
/// it applies (all of them if `drop` is `u32::MAX`): they apply, and are gone at the next
/// read, as an evicted key is.
struct Forgetful<'a> {
    clock: &'a Cell<u64>,
    version: u64,
    body: Option<String>,
    drop: u32,
    swaps: u32,
}

impl Store for Forgetful<'_> {
    type Error = &'static str;
    fn read(&mut self) -> Result<Read, &'static str> {
        // Every round trip takes a millisecond of the store's time.
        self.clock.set(self.clock.get() + 1);
        Ok(Read {
            now: UnixTime::from_millis(self.clock.get()),
            version: self.version,
            body: self
                .body
                .clone()
                .map_or(Body::Absent, |b| Body::Present(b.into_bytes())),
        })
    }
    fn swap(&mut self, write: &Write) -> Result<bool, &'static str> {
        self.swaps += 1;
        assert!(self.swaps < 100_000, "the fetch spins: 100,000 writes");
        if self.version != write.expected_version() {
            return Ok(false);
        }
        if self.drop > 0 {
            self.drop -= 1;
            return Ok(true);
        }
        self.version = write.new_version();
        self.body = Some(write.body());
        Ok(true)
    }
}

/// LINE, answering `expires_in` after a call of `takes` on the store's clock.
struct Line<'a> {
    clock: &'a Cell<u64>,
    takes: Duration,
    expires_in: u64,
    calls: u32,
}

impl Refresher for Line<'_> {
    type Error = &'static str;
    fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, &'static str)> {
        self.calls += 1;
        let ms = u64::try_from(self.takes.as_millis()).unwrap();
        self.clock.set(self.clock.get() + ms);
        let json = format!(
            r#"{{"access_token":"t{}","expires_in":{},"key_id":"k{}"}}"#,
            self.calls, self.expires_in, self.calls
        );
        Ok(serde_json::from_str(&json).unwrap())
    }
    fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, &'static str)> {
        Ok(Vec::new())
    }
}

fn stateless() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap()
}

fn forgetful(clock: &Cell<u64>, drop: u32) -> Forgetful<'_> {
    Forgetful {
        clock,
        version: 0,
        body: None,
        drop,
        swaps: 0,
    }
}

fn line(clock: &Cell<u64>, takes: Duration, expires_in: u64) -> Line<'_> {
    Line {
        clock,
        takes,
        expires_in,
        calls: 0,
    }
}

#[test]
fn a_store_that_loses_every_write_ends_the_fetch_with_a_typed_error() {
    let clock = Cell::new(T0_MS);
    let mut store = forgetful(&clock, u32::MAX);
    let mut line = line(&clock, Duration::ZERO, 900);
    let c = stateless();
    let max_wait = Duration::from_secs(35);
    let slept = Cell::new(Duration::ZERO);
    let ended = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        max_wait,
        || UnixTime::from_millis(clock.get()),
        |d| {
            slept.set(slept.get() + d);
            clock.set(clock.get() + u64::try_from(d.as_millis()).unwrap());
        },
    );
    let Err(DriveError::Ended(outcome)) = ended else {
        panic!("{ended:?}")
    };
    assert!(
        matches!(outcome, Outcome::WritesLost(n) if n > 2),
        "{outcome:?}"
    );
    assert!(!outcome.is_retryable());
    assert!(
        outcome.to_string().contains("maxmemory-policy"),
        "{outcome}"
    );
    assert_eq!(line.calls, 0, "nothing was ever held: LINE is not called");
    // A write per poll interval (100 ms) until the wait limit, not hundreds of thousands.
    let waited = Duration::from_millis(clock.get() - T0_MS);
    assert!(
        waited >= max_wait && waited <= max_wait + Duration::from_secs(1),
        "{waited:?}"
    );
    assert!(store.swaps <= 400, "{} writes", store.swaps);
}

#[test]
fn a_store_that_loses_a_few_writes_still_gets_its_token_recorded() {
    let clock = Cell::new(T0_MS);
    let mut store = forgetful(&clock, 2);
    let mut line = line(&clock, Duration::from_millis(50), 900);
    let c = stateless();
    let fetched = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        || UnixTime::from_millis(clock.get()),
        |_| panic!("no wait: two lost writes are tolerated"),
    )
    .unwrap();
    assert!(fetched.committed);
    assert_eq!(line.calls, 1);
}

#[test]
fn a_store_clock_that_stands_still_does_not_make_the_wait_endless() {
    let c = stateless();
    // Another process holds a fresh lease and the record has no token: this one waits.
    let Decision::TakeLease(lease) = decide(
        &Record::empty(&c),
        UnixTime::from_millis(T0_MS),
        OwnerId::new(2),
        &c,
    ) else {
        panic!()
    };
    struct Frozen(Write);
    impl Store for Frozen {
        type Error = &'static str;
        fn read(&mut self) -> Result<Read, &'static str> {
            Ok(Read {
                now: UnixTime::from_millis(T0_MS + 1000),
                version: self.0.new_version(),
                body: Body::Present(self.0.body().into_bytes()),
            })
        }
        fn swap(&mut self, _: &Write) -> Result<bool, &'static str> {
            Ok(false)
        }
    }
    let local = Cell::new(T0_MS + 1000);
    let max_wait = Duration::from_secs(35);
    let ended = drive(
        &mut Frozen(lease),
        &mut line(&local, Duration::ZERO, 900),
        &c,
        OwnerId::new(1),
        max_wait,
        || UnixTime::from_millis(local.get()),
        |d| {
            assert!(local.get() < T0_MS + 600_000, "still waiting after 600 s");
            local.set(local.get() + u64::try_from(d.as_millis()).unwrap());
        },
    );
    let Err(DriveError::Ended(outcome @ Outcome::Wait(_))) = ended else {
        panic!("{ended:?}")
    };
    let waited = Duration::from_millis(local.get() - T0_MS - 1000);
    assert!(waited <= max_wait, "{waited:?} of this machine's time");
    assert!(waited >= max_wait - Duration::from_secs(1), "{waited:?}");
    assert!(outcome.is_retryable());
    assert!(outcome.to_string().contains("is refreshing"), "{outcome}");
}

#[test]
fn a_token_that_expired_during_a_slow_call_is_retryable_and_says_so() {
    // v2.1 with a 2 s token_exp, and LINE taking 2.5 s to answer.
    let c = StoreConfig::new("1234567890", TokenKind::V21, Duration::from_secs(2)).unwrap();
    let clock = Cell::new(T0_MS);
    let mut store = forgetful(&clock, 0);
    let mut line = line(&clock, Duration::from_millis(2500), 2);
    let ended = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::from_secs(60),
        || UnixTime::from_millis(clock.get()),
        |d| clock.set(clock.get() + u64::try_from(d.as_millis()).unwrap()),
    );
    let Err(DriveError::Ended(outcome)) = ended else {
        panic!("{ended:?}")
    };
    assert_eq!(outcome, Outcome::IssuedExpired);
    assert!(outcome.is_retryable());
    let shown = outcome.to_string();
    assert!(
        shown.contains("expired") && shown.contains("try again"),
        "{shown}"
    );
    assert!(!shown.contains("StoreFailed"));
}
