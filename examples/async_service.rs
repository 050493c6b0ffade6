//! An async service, offline: `cargo run --example async_service`.
//!
//! A tokio service with 50 tasks handling requests, each needing the channel's token, over
//! reqwest to the emulated LINE token API on 127.0.0.1. They share one
//! `SharedCache::get_token_async`: one task refreshes while the others wait for its answer
//! (no lock is held across the HTTP call), and a Messaging API 401 gets a new token within
//! one round trip.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use line_channel_token::cache::{Credentials, SharedCache, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::Operation;
use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
use support::{http_server, reqwest_transport};

const CHANNEL: &str = "1234567890";
const TASKS: usize = 50;
const REQUESTS_PER_TASK: usize = 20;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    // LINE, emulated and served on 127.0.0.1 (in real code: nothing, the API base is LINE's).
    let line = Arc::new(Mutex::new(Emulator::with_seed(16)));
    let secret = || ChannelSecret::new("async-demo-secret");
    line.lock()
        .map_err(|_| "poisoned")?
        .add_channel(CHANNEL, secret());
    let addr = http_server::serve(line.clone(), 0, http_server::system_clock())?;
    let api = ApiBase::new(&format!("http://{addr}"))?;
    println!("Emulated LINE token API on {api}; {TASKS} tasks, {REQUESTS_PER_TASK} requests each");

    // --- "Keeping a token warm" in the README shows this part. ---
    let client = reqwest_transport::loopback_client()?; // reqwest::Client::new() for LINE
    let cache = Arc::new(SharedCache::new(TokenCache::new(
        api,
        Credentials::stateless_by_secret(CHANNEL, secret()),
    )));
    let now = || UnixTime::from(SystemTime::now());
    let slowest = Arc::new(Mutex::new(Duration::ZERO));
    let rejected = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (cache, client, line) = (cache.clone(), client.clone(), line.clone());
            let (slowest, rejected) = (slowest.clone(), rejected.clone());
            tokio::spawn(async move {
                // In each task, for each request that needs the token:
                for request in 0..REQUESTS_PER_TASK {
                    let start = Instant::now();
                    let token = cache
                        .get_token_async(now, tokio::time::sleep, |req| {
                            reqwest_transport::send(&client, req)
                        })
                        .await?;
                    // --- end of the README's part. ---
                    let took = start.elapsed();
                    {
                        let mut worst = slowest.lock().map_err(|_| "poisoned")?;
                        *worst = (*worst).max(took);
                    }
                    // The Messaging API call; here the emulator checks the bearer token.
                    let valid = line
                        .lock()
                        .map_err(|_| "poisoned")?
                        .authorize(now(), token.expose_secret())
                        .is_some();
                    // Halfway, task 7 is told 401 (the token was revoked elsewhere, say):
                    // it drops the token, and the next caller refreshes at once.
                    if !valid || (task == 7 && request == REQUESTS_PER_TASK / 2) {
                        rejected.fetch_add(1, Ordering::SeqCst);
                        cache.invalidate(&token);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }

    let issued = line
        .lock()
        .map_err(|_| "poisoned")?
        .calls(Operation::IssueStateless);
    let slowest = *slowest.lock().map_err(|_| "poisoned")?;
    println!(
        "{} requests, {} 401 answered with invalidate, {issued} issuances (one at start, one per 401)",
        TASKS * REQUESTS_PER_TASK,
        rejected.load(Ordering::SeqCst)
    );
    println!("slowest get_token_async: {slowest:?} (a refresh over loopback HTTP)");
    println!(
        "tasks still registered to be woken: {}",
        cache.waiting_tasks()
    );
    println!("Done: {TASKS} tasks shared one token without holding a lock across the HTTP call.");
    Ok(())
}
