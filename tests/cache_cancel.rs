//! A task cancelled while it sends (its future dropped: a request handler whose client
//! disconnected) is not a failure of LINE: one waiter takes the refresh over at once, and the
//! others keep waiting for that one. Senders cancelled again and again still do not issue
//! once per call.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::cache::*;
use line_channel_token::cache::*;
use line_channel_token::Operation;
use line_channel_token::UnixTime;

type Answer = Result<http::Response<Vec<u8>>, std::io::Error>;

/// 50 tasks on a 2-worker tokio runtime; the first sender is aborted mid-send, or its send
/// future panics: the other 49 get one token from one further issuance.
fn first_sender_lost(panics: bool) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let shared = Arc::new(SharedCache::new(secret_cache()));
        let line = Arc::new(Mutex::new(line()));
        let sends = Arc::new(AtomicUsize::new(0));
        let (first_tx, first_rx) = tokio::sync::oneshot::channel::<usize>();
        let first_tx = Arc::new(Mutex::new(Some(first_tx)));
        let handles: Vec<_> = (0..50)
            .map(|n| {
                let (shared, line) = (shared.clone(), line.clone());
                let (sends, first_tx) = (sends.clone(), first_tx.clone());
                tokio::spawn(async move {
                    let now = || UnixTime::from(SystemTime::now());
                    shared
                        .get_token_async(now, tokio::time::sleep, |req| {
                            let (line, sends) = (line.clone(), sends.clone());
                            let first = first_tx.lock().unwrap().take();
                            async move {
                                sends.fetch_add(1, Ordering::SeqCst);
                                if let Some(tx) = first {
                                    // The first sender: LINE never answers before it is
                                    // cancelled.
                                    let _ = tx.send(n);
                                    if panics {
                                        tokio::time::sleep(Duration::from_millis(50)).await;
                                        panic!("client bug");
                                    }
                                    std::future::pending::<()>().await;
                                }
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                let response = line.lock().unwrap().handle(now(), &req);
                                Ok::<_, std::io::Error>(response)
                            }
                        })
                        .await
                })
            })
            .collect();
        let cancelled = first_rx.await.unwrap();
        // Let the others queue up behind the refresh in flight.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if !panics {
            handles[cancelled].abort();
        }
        // The in-flight timeout is 30 s: nobody may wait it out.
        let results = tokio::time::timeout(Duration::from_secs(20), async {
            let mut results = Vec::new();
            for (n, h) in handles.into_iter().enumerate() {
                match h.await {
                    Err(e) if n == cancelled => assert_eq!(e.is_panic(), panics),
                    Ok(result) => results.push(result),
                    Err(e) => panic!("task {n}: {e}"),
                }
            }
            results
        })
        .await
        .expect("a waiter waited out the in-flight timeout");
        assert_eq!(results.len(), 49);
        let tokens: Vec<_> = results
            .into_iter()
            .map(|r| r.expect("a waiter failed because another task was cancelled"))
            .collect();
        assert!(tokens.iter().all(|t| *t == tokens[0]), "one token");
        assert_eq!(sends.load(Ordering::SeqCst), 2, "one further send");
        let issued = line.lock().unwrap().calls(Operation::IssueStateless);
        assert_eq!(issued, 1, "one further issuance");
        assert_eq!(shared.waiting_tasks(), 0);
    });
}

#[test]
fn a_sender_cancelled_mid_send_hands_the_refresh_to_one_waiter_and_nobody_fails() {
    first_sender_lost(false);
}

#[test]
fn a_send_future_that_panics_hands_the_refresh_to_one_waiter_and_nobody_fails() {
    first_sender_lost(true);
}

/// One call whose send never completes, cancelled after it started sending (or returned
/// first): how many sends it made.
async fn cancelled_call(shared: &SharedCache, now: UnixTime, sends: &AtomicUsize) {
    let call = shared.get_token_async(
        || now,
        |_| std::future::ready(()),
        |_req| {
            sends.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Answer>()
        },
    );
    let _ = tokio::time::timeout(Duration::from_millis(1), call).await;
}

#[test]
fn senders_cancelled_every_time_do_not_issue_once_per_call() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let shared = SharedCache::new(secret_cache());
        let sends = AtomicUsize::new(0);
        // 100 calls at one instant: the first abandonment is taken over, not the next ones.
        for _ in 0..100 {
            cancelled_call(&shared, T0, &sends).await;
        }
        assert!(sends.load(Ordering::SeqCst) <= 2, "{sends:?} sends");
        // Ten minutes of calls, ten a second: the backoff grows as for failures.
        let before = sends.load(Ordering::SeqCst);
        for tick in 0..6000u64 {
            let now = T0 + Duration::from_millis(100 * tick);
            cancelled_call(&shared, now, &sends).await;
        }
        let during = sends.load(Ordering::SeqCst) - before;
        // With a 1 s base doubling to a 60 s cap, 10 minutes hold about 16 backed-off
        // attempts; each may be taken over once.
        assert!(during <= 40, "{during} sends in 10 minutes");
        assert!(during >= 5, "{during} sends: the cache gave up for good");
    });
}
