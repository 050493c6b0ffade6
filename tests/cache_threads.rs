//! Waiters are not stalled: threads sharing one cache get the token as soon as LINE answers,
//! not at the 30 s in-flight timeout. The tests check that property with a margin no loaded
//! machine reaches; the 250 ms goal is a figure, `shared_cache_wake_worst_ms` in the benchmark.

mod common;

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::UnixTime;

const THREADS: usize = 64;
const LINE_DELAY: Duration = Duration::from_millis(200);

#[test]
fn sixty_four_threads_are_woken_by_lines_answer_not_by_the_in_flight_timeout() {
    let shared = Arc::new(SharedCache::new(secret_cache()));
    let answered_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let line = Arc::new(Mutex::new(line()));
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (shared, answered_at, line, start) = (
                Arc::clone(&shared),
                Arc::clone(&answered_at),
                Arc::clone(&line),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                let now = || UnixTime::from(SystemTime::now());
                start.wait();
                let token = shared
                    .get_token(now, |req| {
                        std::thread::sleep(LINE_DELAY); // LINE takes 200 ms
                        let response = line.lock().unwrap().handle(now(), &req);
                        *answered_at.lock().unwrap() = Some(Instant::now());
                        Ok::<_, std::convert::Infallible>(response)
                    })
                    .unwrap();
                (token, Instant::now())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let answered = answered_at.lock().unwrap().expect("LINE answered");
    let latencies: Vec<Duration> = results
        .iter()
        .map(|(_, at)| at.saturating_duration_since(answered))
        .collect();
    let worst = latencies.iter().max().unwrap();
    let mean = latencies.iter().sum::<Duration>() / THREADS as u32;
    println!("{THREADS} threads: token after LINE's answer: mean {mean:?}, worst {worst:?}");
    // A waiter left to the in-flight timeout would take 30 s minus LINE's 200 ms.
    assert!(*worst < Duration::from_secs(5), "worst {worst:?}");
    assert!(
        results.iter().all(|(t, _)| *t == results[0].0),
        "one token for all"
    );
    let issued = line
        .lock()
        .unwrap()
        .calls(line_channel_token::Operation::IssueStateless);
    assert_eq!(issued, 1, "one refresh for 64 threads");
}

#[test]
fn a_failed_refresh_wakes_the_waiters_at_once() {
    let shared = Arc::new(SharedCache::new(secret_cache()));
    let start = Arc::new(Barrier::new(8));
    let began = Instant::now();
    let before_the_send = UnixTime::from(SystemTime::now());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (shared, start) = (Arc::clone(&shared), Arc::clone(&start));
            std::thread::spawn(move || {
                let now = || UnixTime::from(SystemTime::now());
                start.wait();
                shared.get_token(now, |_req| {
                    std::thread::sleep(LINE_DELAY);
                    Err::<http::Response<Vec<u8>>, _>("connection reset")
                })
            })
        })
        .collect();
    for t in threads {
        let e = t.join().unwrap().unwrap_err();
        // The backoff runs from the failure, which came after LINE's delay. (Not "later than
        // a second before the clock read here": a test thread descheduled that long failed it.)
        assert!(e.retry_at() > before_the_send + LINE_DELAY);
    }
    // One attempt, and nobody waited for the 30 s in-flight timeout.
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[test]
fn a_send_that_panics_wakes_the_waiters_at_once() {
    // The refresher's `send` panics: its answer can never come, so the other threads must
    // not wait out the 30 s in-flight timeout for it. One of them takes the refresh over at
    // once; its `send` panics too, and that second abandonment in a row is a failure the
    // rest are told of.
    let shared = Arc::new(SharedCache::new(secret_cache()));
    let start = Arc::new(Barrier::new(8));
    let began = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (shared, start) = (Arc::clone(&shared), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                shared.get_token(
                    || UnixTime::from(SystemTime::now()),
                    |_req| -> Result<http::Response<Vec<u8>>, std::io::Error> {
                        std::thread::sleep(LINE_DELAY);
                        panic!("the HTTP client panicked")
                    },
                )
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_err()).count(),
        2,
        "the sender and the one that took over"
    );
    for r in results.into_iter().flatten() {
        let failure = match r {
            Err(DriveError::Refresh { failure, .. }) => failure,
            other => panic!("{other:?}"),
        };
        assert_eq!(failure.kind, FailureKind::Transport);
    }
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}

#[test]
fn a_clock_that_panics_after_the_send_leaves_no_refresh_in_flight() {
    let shared = SharedCache::new(secret_cache());
    let calls = std::cell::Cell::new(0);
    let now = || {
        calls.set(calls.get() + 1);
        assert!(calls.get() < 2, "the clock broke");
        T0
    };
    let mut line = line();
    let send = |req| Ok::<_, std::convert::Infallible>(line.handle(T0, &req));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| shared.get_token(now, send)));
    assert!(r.is_err());
    assert!(!matches!(shared.lock().poll(T0), Poll::InFlight(_)));
}
