//! `store::MemoryStore`: the library's own store, one key in this process's memory.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use line_channel_token::store::{
    decide, drive, drive_async, Body, Decision, Failure, MemoryStore, OwnerId, Record, Refresher,
    Store, StoreConfig, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

const TOKEN: &str = "s3cret-access-t0k";

fn config() -> StoreConfig {
    StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap()
}

fn issued() -> IssuedToken {
    let json = format!(r#"{{"access_token":"{TOKEN}","expires_in":900,"token_type":"Bearer"}}"#);
    serde_json::from_str(&json).unwrap()
}

/// LINE, counting its calls.
struct Line(Arc<AtomicU32>);

impl Refresher for Line {
    type Error = String;
    fn issue(&mut self, _: Duration) -> Result<IssuedToken, (Failure, String)> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(issued())
    }
    fn key_ids(&mut self, _: Duration) -> Result<Vec<String>, (Failure, String)> {
        Ok(Vec::new())
    }
}

/// The write that takes the lease on what `store` holds now, as `me`.
fn take_lease(store: &mut impl Store, me: u64) -> Write {
    let read = store.read().ok().unwrap();
    let body = match &read.body {
        Body::Present(b) => Some(b.as_slice()),
        _ => None,
    };
    let (record, _) = Record::from_store(read.version, body, read.now, &config()).unwrap();
    match decide(&record, read.now, OwnerId::new(me), &config()) {
        Decision::TakeLease(write) => write,
        other => panic!("{other:?}"),
    }
}

/// A clock the test moves.
fn clock() -> (Rc<Cell<u64>>, impl FnMut() -> UnixTime) {
    let secs = Rc::new(Cell::new(1_700_000_000));
    let c = Rc::clone(&secs);
    (secs, move || UnixTime::from_secs(c.get()))
}

#[test]
fn a_swap_applies_on_the_version_read_and_never_on_a_stale_one() {
    let (_, clock) = clock();
    let mut store = MemoryStore::new(clock);
    let first = take_lease(&mut store, 1);
    let second = take_lease(&mut store, 2); // read the same version 0
    assert_eq!(first.expected_version(), 0);
    assert!(store.swap(&first).unwrap());
    assert_eq!(store.version(), first.new_version());
    assert!(!store.swap(&second).unwrap(), "a stale write applied");
    assert!(!store.swap(&first).unwrap(), "a write applied twice");
    let read = store.read().unwrap();
    assert_eq!(read.version, first.new_version());
    assert_eq!(read.body, Body::Present(first.body().into_bytes()));
}

#[test]
fn reads_carry_the_store_clock_and_the_key_expires_after_keep_for() {
    let (secs, clock) = clock();
    let mut store = MemoryStore::new(clock);
    let write = take_lease(&mut store, 1);
    assert!(store.swap(&write).unwrap());
    assert_eq!(store.read().unwrap().now, UnixTime::from_secs(secs.get()));
    secs.set(secs.get() + write.keep_for().as_secs() - 1);
    assert_eq!(store.read().unwrap().version, write.new_version());
    secs.set(secs.get() + 1);
    let read = store.read().unwrap();
    assert_eq!(
        (read.now, read.version, read.body),
        (UnixTime::from_secs(secs.get()), 0, Body::Absent)
    );
    // Expired means absent: a write expecting version 0 applies again.
    let again = take_lease(&mut store, 2);
    assert_eq!(again.expected_version(), 0);
    assert!(store.swap(&again).unwrap());
}

#[test]
fn debug_shows_no_token() {
    let calls = Arc::new(AtomicU32::new(0));
    let (_, clock) = clock();
    let mut store = MemoryStore::new(clock);
    let me = OwnerId::new(7);
    let fetched = drive(
        &mut store,
        &mut Line(calls),
        &config(),
        me,
        Duration::ZERO,
        || UnixTime::from_secs(1_700_000_000),
        |_| {},
    )
    .unwrap();
    assert!(fetched.committed);
    // The store holds the token (so the check below can fail) ...
    let Body::Present(body) = store.read().unwrap().body else {
        panic!()
    };
    assert!(String::from_utf8(body).unwrap().contains(TOKEN));
    // ... and its Debug does not show it.
    let debug = format!("{store:?} {store:#?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(
        debug.contains("MemoryStore") && debug.contains("version"),
        "{debug}"
    );
    // Nor does a read's (a drive loop that logs its steps): not as text, not as bytes.
    let read = store.read().unwrap();
    let debug = format!("{read:?} {read:#?}");
    let as_bytes = TOKEN.bytes().map(|b| b.to_string()).collect::<Vec<_>>();
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(!debug.contains(&as_bytes.join(", ")), "{debug}");
    assert!(!debug.contains(&as_bytes.join(",\n")), "{debug}");
    assert!(debug.contains("bytes>"), "{debug}");
}

#[test]
fn threads_sharing_clones_call_line_once() {
    let calls = Arc::new(AtomicU32::new(0));
    let store = MemoryStore::new(|| UnixTime::from(SystemTime::now()));
    let threads: Vec<_> = (1..=4)
        .map(|i| {
            let (mut store, calls) = (store.clone(), Arc::clone(&calls));
            std::thread::spawn(move || {
                let now = || UnixTime::from(SystemTime::now());
                let mut line = Line(calls);
                let max_wait = Duration::from_secs(30);
                let fetched = drive(
                    &mut store,
                    &mut line,
                    &config(),
                    OwnerId::new(i),
                    max_wait,
                    now,
                    std::thread::sleep,
                );
                fetched.unwrap().token
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().access_token.expose_secret(), TOKEN);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn the_async_store_is_the_same_key() {
    let (_, clock) = clock();
    let mut store = MemoryStore::new(clock);
    let now = || UnixTime::from_secs(1_700_000_000);
    let fetched = futures_executor::block_on(drive_async(
        &mut store,
        &config(),
        OwnerId::new(7),
        Duration::ZERO,
        now,
        |_| std::future::ready(Ok::<_, (Failure, String)>(issued())),
        |_| std::future::ready(Ok(Vec::new())),
        |_| std::future::ready(()),
    ))
    .unwrap();
    assert!(fetched.committed);
    // The blocking side now serves it: one read, no call to LINE.
    let calls = Arc::new(AtomicU32::new(0));
    let again = drive(
        &mut store,
        &mut Line(Arc::clone(&calls)),
        &config(),
        OwnerId::new(8),
        Duration::ZERO,
        now,
        |_| {},
    )
    .unwrap();
    assert_eq!(again.token, fetched.token);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
