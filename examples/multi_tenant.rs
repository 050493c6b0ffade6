//! A multi-tenant service, offline: `cargo run --example multi_tenant`.
//!
//! One process serving 2,000 LINE channels through one `SharedPool`: a refresher task keeps
//! every channel warm (`keep_warm_async`), request tasks ask for random channels' tokens
//! (`get_token_async`) and almost never wait for LINE, a tenant that signs up is served
//! through the tenants closure, and one that leaves is removed, all while it runs. LINE is
//! the emulator on 127.0.0.1, reached with reqwest. Time runs 100 times faster than the wall
//! clock (for the emulator too), so 20 minutes, two refresh periods of a stateless token,
//! pass in 12 seconds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use line_channel_token::cache::{Credentials, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::pool::{PoolError, SharedPool, TokenPool};
use line_channel_token::Operation;
use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
use support::{http_server, reqwest_transport};

const CHANNELS: usize = 2_000;
const REQUESTERS: usize = 32;
const SPEED: u32 = 100;
const RUN: Duration = Duration::from_secs(20 * 60);

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Simulated time: `SPEED` times the wall clock, from 2026-01-01.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(self) -> UnixTime {
        UnixTime::from_millis(1_767_225_600_000) + self.0.elapsed() * SPEED
    }
    fn sleep(d: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(d / SPEED)
    }
}

fn channel(n: usize) -> String {
    format!("{}", 2_000_000_000 + n)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let clock = Clock(Instant::now());
    let now = move || clock.now();
    // The service's tenant directory (in real code: a database), and LINE knowing them.
    let directory: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let line = Arc::new(Mutex::new(Emulator::with_seed(16)));
    for n in 0..CHANNELS {
        add_tenant(&directory, &line, &channel(n))?;
    }
    let addr = http_server::serve(line.clone(), 0, Arc::new(now))?;
    let api = ApiBase::new(&format!("http://{addr}"))?;
    let client = reqwest_transport::loopback_client()?;

    // A tenant's credentials come from the directory the first time it is asked for.
    let tenants = {
        let (directory, api) = (directory.clone(), api.clone());
        move |id: &String| {
            let secret = directory.lock().ok()?.get(id)?.clone();
            let creds = Credentials::stateless_by_secret(id.as_str(), ChannelSecret::new(secret));
            Some(
                TokenCache::builder(api.clone(), creds)
                    .record_events(false)
                    .build(),
            )
        }
    };
    let pool = Arc::new(SharedPool::new(TokenPool::with_capacity(CHANNELS), tenants));
    for n in 0..CHANNELS {
        // Known tenants up front, so the refresher warms them before the first request.
        let id = channel(n);
        let secret = directory.lock().map_err(|_| "poisoned")?[&id].clone();
        let creds = Credentials::stateless_by_secret(id.as_str(), ChannelSecret::new(secret));
        let cache = TokenCache::builder(api.clone(), creds)
            .record_events(false)
            .build();
        pool.insert(id, cache);
    }
    let refresher = tokio::spawn({
        let (pool, client) = (pool.clone(), client.clone());
        async move {
            // At most 32 refreshes at once: the emulator serves 64 connections.
            pool.keep_warm_async(now, Clock::sleep, 32, |req| {
                let client = client.clone();
                async move { reqwest_transport::send(&client, req).await }
            })
            .await
        }
    });
    let warm = Instant::now();
    while (0..CHANNELS).any(|n| pool.token(channel(n).as_str(), now()).is_none()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "{CHANNELS} channels warmed by the refresher in {:?} (on 127.0.0.1, over HTTP)",
        warm.elapsed()
    );

    let start = now();
    let requests = Arc::new(AtomicUsize::new(0));
    let (waited, unknown) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let requesters: Vec<_> = (0..REQUESTERS)
        .map(|seed| {
            let (pool, client) = (pool.clone(), client.clone());
            let (requests, waited, unknown) = (requests.clone(), waited.clone(), unknown.clone());
            tokio::spawn(async move {
                let mut rng = (seed as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                while now() < start + RUN {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    // Mostly known tenants, sometimes the one that signs up later.
                    let id = channel(rng as usize % (CHANNELS + 1));
                    requests.fetch_add(1, Ordering::Relaxed);
                    let warm = pool.token(id.as_str(), now()).is_some();
                    let got = pool
                        .get_token_async(id.as_str(), now, Clock::sleep, |req| {
                            let client = client.clone();
                            async move { reqwest_transport::send(&client, req).await }
                        })
                        .await;
                    match got {
                        // Call the Messaging API with the token.
                        Ok(_token) if warm => {}
                        Ok(_token) => _ = waited.fetch_add(1, Ordering::Relaxed),
                        // Not (or no longer) a tenant: answered at once.
                        Err(PoolError::UnknownChannel) => {
                            _ = unknown.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(e) => return Err(Error::from(e.to_string())),
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();

    // Ten simulated minutes in, a tenant signs up, and another one leaves.
    Clock::sleep(Duration::from_secs(600)).await;
    add_tenant(&directory, &line, &channel(CHANNELS))?;
    let leaving = channel(0);
    directory.lock().map_err(|_| "poisoned")?.remove(&leaving);
    pool.remove(leaving.as_str());
    println!(
        "10 min: tenant {} joined, {leaving} left",
        channel(CHANNELS)
    );

    for r in requesters {
        r.await??;
    }
    refresher.abort();
    let issued = line
        .lock()
        .map_err(|_| "poisoned")?
        .calls(Operation::IssueStateless);
    println!(
        "{} requests by {REQUESTERS} tasks over 20 simulated minutes; {} found no valid token and waited for LINE (the new tenant's first), {} were for no tenant (before it joined, after one left)",
        requests.load(Ordering::Relaxed),
        waited.load(Ordering::Relaxed),
        unknown.load(Ordering::Relaxed)
    );
    println!(
        "{issued} issuances for {} channels: about one per channel per refresh period (10 minutes)",
        pool.lock().len()
    );
    println!("Done: one pool, one refresher, no hand-written poll loop.");
    Ok(())
}

/// A tenant signs up: its channel secret goes into the directory, and LINE knows it.
fn add_tenant(
    directory: &Mutex<HashMap<String, String>>,
    line: &Mutex<Emulator>,
    id: &str,
) -> Result<(), Error> {
    let secret = format!("secret-of-{id}");
    line.lock()
        .map_err(|_| "poisoned")?
        .add_channel(id, ChannelSecret::new(secret.clone()));
    directory
        .lock()
        .map_err(|_| "poisoned")?
        .insert(id.to_string(), secret);
    Ok(())
}
