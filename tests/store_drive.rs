//! `store::drive` against an in-memory store: the adapter a library user writes is the two
//! store operations, and the driver keeps the fleet's promises around them.

use std::cell::Cell;
use std::time::Duration;

use line_channel_token::store::{
    drive, Body, DriveError, Failure, Outcome, OwnerId, Read, Refresher, Store, StoreConfig, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

/// A store in memory, with the store's own clock and failures on demand. This is the whole
/// adapter a fleet needs (plus the `Refresher` below): well under 80 lines.
struct Memory<'a> {
    clock: &'a Cell<u64>,
    version: u64,
    body: Option<String>,
    reads: u32,
    /// Set: the store has gone away (every operation fails).
    gone: &'a Cell<bool>,
}

impl Store for Memory<'_> {
    type Error = &'static str;
    fn read(&mut self) -> Result<Read, &'static str> {
        self.reads += 1;
        if self.gone.get() {
            return Err("store gone");
        }
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
        if self.gone.get() {
            return Err("store gone");
        }
        if self.version != write.expected_version() {
            return Ok(false);
        }
        self.version = write.new_version();
        self.body = Some(write.body());
        Ok(true)
    }
}

struct Line<'a> {
    issued: u32,
    /// Set when LINE answers: the store goes away right after.
    then_gone: Option<&'a Cell<bool>>,
}

impl Refresher for Line<'_> {
    type Error = &'static str;
    fn issue(&mut self, timeout: Duration) -> Result<IssuedToken, (Failure, &'static str)> {
        assert!(timeout > Duration::ZERO && timeout <= Duration::from_secs(60));
        self.issued += 1;
        if let Some(gone) = self.then_gone {
            gone.set(true);
        }
        let json = format!(r#"{{"access_token":"t{}","expires_in":900}}"#, self.issued);
        Ok(serde_json::from_str(&json).unwrap())
    }
    fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, &'static str)> {
        Ok(Vec::new())
    }
}

fn config() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap()
}

fn memory<'a>(clock: &'a Cell<u64>, gone: &'a Cell<bool>) -> Memory<'a> {
    Memory {
        clock,
        version: 0,
        body: None,
        reads: 0,
        gone,
    }
}

#[test]
fn one_issuance_then_hits_of_one_read_each_on_the_stores_clock() {
    let clock = Cell::new(1_700_000_000_000);
    let gone = Cell::new(false);
    let mut store = memory(&clock, &gone);
    let mut line = Line {
        issued: 0,
        then_gone: None,
    };
    let c = config();
    let local = || UnixTime::from_millis(clock.get());
    let first = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        local,
        |_| {},
    )
    .unwrap();
    assert!(first.committed);
    assert_eq!(first.token.access_token.expose_secret(), "t1");
    let reads = store.reads;
    let again = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(2),
        Duration::ZERO,
        local,
        |_| {},
    )
    .unwrap();
    assert_eq!(again.token.access_token.expose_secret(), "t1");
    assert_eq!(store.reads - reads, 1, "a hit is one read");
    assert_eq!(line.issued, 1);
    assert_eq!(again.events.clock_off_ms, None);
}

#[test]
fn a_machine_clock_ten_minutes_off_is_reported_and_cannot_make_the_fleet_issue() {
    let clock = Cell::new(1_700_000_000_000);
    let gone = Cell::new(false);
    let mut store = memory(&clock, &gone);
    let mut line = Line {
        issued: 0,
        then_gone: None,
    };
    let c = config();
    let store_clock = || UnixTime::from_millis(clock.get());
    drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        store_clock,
        |_| {},
    )
    .unwrap();
    for (i, off) in [600_000i64, -600_000, 0, 600_000, -600_000]
        .into_iter()
        .enumerate()
    {
        let skewed = || UnixTime::from_millis(clock.get().saturating_add_signed(off));
        let me = OwnerId::new(10 + i as u64);
        let got = drive(
            &mut store,
            &mut line,
            &c,
            me,
            Duration::ZERO,
            skewed,
            |_| {},
        )
        .unwrap();
        assert_eq!(got.token.access_token.expose_secret(), "t1");
        assert_eq!(got.events.clock_off_ms, (off != 0).then_some(off));
    }
    assert_eq!(line.issued, 1, "skewed machines decide on the store's time");
}

#[test]
fn a_token_issued_before_the_store_went_away_is_handed_over_uncommitted() {
    let clock = Cell::new(1_700_000_000_000);
    let gone = Cell::new(false);
    let mut store = memory(&clock, &gone);
    // LINE answers, and the store goes away before the commit.
    let mut line = Line {
        issued: 0,
        then_gone: Some(&gone),
    };
    let c = config();
    let local = || UnixTime::from_millis(clock.get());
    let got = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        local,
        |_| {},
    )
    .unwrap();
    assert_eq!(line.issued, 1);
    assert!(!got.committed, "the caller is told to warn");
    assert_eq!(
        got.token.access_token.expose_secret(),
        "t1",
        "never thrown away"
    );
    assert!(got.events.commit_retries >= 1, "the commit was retried");
}

#[test]
fn a_wait_longer_than_allowed_is_reported_not_slept() {
    let clock = Cell::new(1_700_000_000_000);
    let gone = Cell::new(false);
    let mut store = memory(&clock, &gone);
    let mut line = Line {
        issued: 0,
        then_gone: None,
    };
    let c = config();
    let local = || UnixTime::from_millis(clock.get());
    // Another process holds a fresh lease.
    let (record, _) = line_channel_token::store::Record::from_store(0, None, local(), &c).unwrap();
    let line_channel_token::store::Decision::TakeLease(w) =
        line_channel_token::store::decide(&record, local(), OwnerId::new(9), &c)
    else {
        panic!()
    };
    store.swap(&w).unwrap();
    let slept = Cell::new(Duration::ZERO);
    let e = drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        local,
        |d| slept.set(slept.get() + d),
    )
    .unwrap_err();
    assert!(matches!(e, DriveError::Ended(Outcome::Wait(_))), "{e:?}");
    assert_eq!(slept.get(), Duration::ZERO);
    assert_eq!(line.issued, 0);
}

/// The same store, async: every operation is ready at once.
struct AsyncMemory<'a>(Memory<'a>);

impl line_channel_token::store::AsyncStore for AsyncMemory<'_> {
    type Error = &'static str;
    async fn read(&mut self) -> Result<Read, &'static str> {
        self.0.read()
    }
    async fn swap(&mut self, write: &Write) -> Result<bool, &'static str> {
        self.0.swap(write)
    }
}

/// Runs a future whose every await is ready at once (no runtime needed).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn drive_async_runs_the_same_fetch() {
    let clock = Cell::new(1_700_000_000_000);
    let gone = Cell::new(false);
    let mut store = AsyncMemory(memory(&clock, &gone));
    let c = config();
    let issued = Cell::new(0u32);
    let first = block_on(line_channel_token::store::drive_async(
        &mut store,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        || UnixTime::from_millis(clock.get()),
        |_| {
            issued.set(issued.get() + 1);
            let json = format!(r#"{{"access_token":"a{}","expires_in":900}}"#, issued.get());
            let token: IssuedToken = serde_json::from_str(&json).unwrap();
            std::future::ready(Ok::<_, (Failure, ())>(token))
        },
        |_| std::future::ready(Ok(Vec::new())),
        |_| std::future::ready(()),
    ))
    .unwrap();
    assert_eq!(first.token.access_token.expose_secret(), "a1");
    let reads = store.0.reads;
    let again = block_on(line_channel_token::store::drive_async(
        &mut store,
        &c,
        OwnerId::new(2),
        Duration::ZERO,
        || UnixTime::from_millis(clock.get()),
        |_| std::future::ready(Err::<IssuedToken, _>((Failure::not_sent(), ()))),
        |_| std::future::ready(Ok(Vec::new())),
        |_| std::future::ready(()),
    ))
    .unwrap();
    assert_eq!(again.token.access_token.expose_secret(), "a1");
    assert_eq!(store.0.reads - reads, 1, "a hit is one read");
    assert_eq!(issued.get(), 1);
}

/// LINE that takes `takes` of the store's time to answer, then fails with `failure`.
struct SlowFailure<'a> {
    clock: &'a Cell<u64>,
    takes: Duration,
    failure: Failure,
    calls: u32,
}

impl Refresher for SlowFailure<'_> {
    type Error = &'static str;
    fn issue(&mut self, timeout: Duration) -> Result<IssuedToken, (Failure, &'static str)> {
        assert!(self.takes <= timeout, "the call stays within its timeout");
        self.calls += 1;
        self.clock
            .set(self.clock.get() + self.takes.as_millis() as u64);
        Err((self.failure, "LINE failed"))
    }
    fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, &'static str)> {
        Ok(Vec::new())
    }
}

#[test]
fn a_slow_failure_is_judged_and_dated_at_the_stores_time_after_the_call() {
    // A lease (60 s) far longer than the margin (10 s) plus twice the skew: a call may run
    // past the shared token's expiry.
    let c = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))
        .and_then(|c| c.with_lease(Duration::from_secs(60)))
        .and_then(|c| c.with_margins(Duration::from_secs(10), Duration::from_secs(2)))
        .unwrap();
    let t0 = 1_700_000_000_000;
    let clock = Cell::new(t0);
    let gone = Cell::new(false);
    let mut store = memory(&clock, &gone);
    let local = || UnixTime::from_millis(clock.get());
    let mut line = Line {
        issued: 0,
        then_gone: None,
    };
    drive(
        &mut store,
        &mut line,
        &c,
        OwnerId::new(1),
        Duration::ZERO,
        local,
        |_| {},
    )
    .unwrap();
    // 5 s before t1 stops being served (it expires at t0 + 900 s): due for refresh, still
    // usable. LINE then takes 50 s to answer 500, past t1's expiry.
    clock.set(t0 + 885_000);
    let mut slow = SlowFailure {
        clock: &clock,
        takes: Duration::from_secs(50),
        failure: Failure::answered(500),
        calls: 0,
    };
    let e = drive(
        &mut store,
        &mut slow,
        &c,
        OwnerId::new(2),
        Duration::ZERO,
        local,
        |_| {},
    )
    .expect_err("t1 expired during the call: it is not handed out");
    assert!(
        matches!(e, DriveError::Refresh(f, _) if f.status == Some(500)),
        "{e:?}"
    );
    assert_eq!(slow.calls, 1);
    // The backoff starts when the failure was known, not when the call was sent.
    let after = UnixTime::from_millis(clock.get());
    let body = store.body.clone().unwrap();
    let (record, _) = line_channel_token::store::Record::from_store(
        store.version,
        Some(body.as_bytes()),
        after,
        &c,
    )
    .unwrap();
    let note = record.failure().expect("the failure is recorded");
    assert_eq!(note.at, after);
    assert!(
        note.retry_at > after,
        "the backoff is not over when it is recorded"
    );
    assert!(record.lease().is_none(), "the lease is released");
}

/// LINE whose key-id listing times out.
struct ListingTimesOut;

impl Refresher for ListingTimesOut {
    type Error = &'static str;
    fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, &'static str)> {
        panic!("nothing is issued before LINE's keys are listed")
    }
    fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, &'static str)> {
        Err((Failure::unanswered(), "timed out"))
    }
}

#[test]
fn a_failed_listing_issued_nothing_and_leaves_no_tentative_entry() {
    let c = StoreConfig::new("1234567890", TokenKind::V21, Duration::from_secs(86_400)).unwrap();
    let clock = Cell::new(1_700_000_000_000);
    let gone = Cell::new(false);
    let mut store = memory(&clock, &gone);
    let local = || UnixTime::from_millis(clock.get());
    // A new record first settles (a sleep on the store's clock), then lists.
    let sleep = |d: Duration| clock.set(clock.get() + d.as_millis() as u64);
    let e = drive(
        &mut store,
        &mut ListingTimesOut,
        &c,
        OwnerId::new(1),
        Duration::from_secs(3600),
        local,
        sleep,
    )
    .unwrap_err();
    assert!(
        matches!(e, DriveError::Refresh(f, _) if f.status.is_none()),
        "{e:?}"
    );
    let body = store.body.clone().unwrap();
    let (record, _) = line_channel_token::store::Record::from_store(
        store.version,
        Some(body.as_bytes()),
        local(),
        &c,
    )
    .unwrap();
    assert!(record.failure().is_some(), "the failure is recorded");
    assert!(record.issued().is_empty(), "{:?}", record.issued());
}
