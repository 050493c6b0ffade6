//! One refresh policy, two executors: `TokenCache` (one process) and the fleet store fed the
//! same answers and the same clock, jumps included, decide the same at every call: the same
//! token served, an issuance at the same calls, the same waits.

use std::time::Duration;

use line_channel_token::cache::{Credentials, Poll, TokenCache};
use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};
use line_channel_token::{ApiBase, ChannelSecret, IssuedToken, TokenKind, UnixTime};

const T0: u64 = 1_700_000_000;

/// LINE's answer to every issuance: a stateless token claiming a day (LINE gives 15 min).
fn answer(n: u32) -> String {
    format!(r#"{{"access_token":"t{n}","expires_in":86400,"token_type":"Bearer"}}"#)
}

/// A day of one call a minute, with the clock jumping back 5 min at noon and ahead 10 min at
/// 18:00, as seen by the caller.
fn clock() -> impl Iterator<Item = UnixTime> {
    (0..24 * 60u64).map(|minute| {
        let mut secs = T0 + minute * 60;
        if minute >= 12 * 60 {
            secs -= 300;
        }
        if minute >= 18 * 60 {
            secs += 600;
        }
        UnixTime::from_secs(secs)
    })
}

/// What a caller is told at one call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Said {
    /// Use this token.
    Serve(String),
    /// Issue one (LINE answers at once, at the same instant).
    Issue,
    /// Nothing to use yet.
    Wait,
}

/// Every 5 s for two hours, the clock jumping back 2 min at 0:25; from 0:10 to 0:40 every
/// token served is refused by the Messaging API and reported (`invalidate`) at once.
fn rejecting_clock() -> (Vec<UnixTime>, Vec<bool>) {
    (0..2 * 720u64)
        .map(|i| {
            let secs = T0 + i * 5 - if i >= 300 { 120 } else { 0 };
            (UnixTime::from_secs(secs), (120..480).contains(&i))
        })
        .unzip()
}

fn cache_decisions(seed: u64, clock: &[UnixTime], rejects: &[bool]) -> Vec<Said> {
    let creds = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s"));
    let mut cache = TokenCache::builder(ApiBase::default(), creds)
        .seed(seed)
        .build();
    let mut issued = 0;
    let mut said = Vec::new();
    for (i, &now) in clock.iter().enumerate() {
        match cache.poll(now) {
            Poll::Ready(t) => {
                let t = t.clone();
                said.push(Said::Serve(t.expose_secret().to_owned()));
                if rejects[i] {
                    cache.invalidate(&t);
                }
            }
            Poll::Refresh(refresh) => {
                said.push(Said::Issue);
                issued += 1;
                let response = http::Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(answer(issued).into_bytes())
                    .unwrap();
                let _ = cache.handle_response(refresh.ticket(), now, &response);
            }
            _ => said.push(Said::Wait),
        }
    }
    said
}

fn store_decisions(seed: u64, clock: &[UnixTime], rejects: &[bool]) -> Vec<Said> {
    // The cache's defaults for a 15-minute token: a 30 s margin, which is also how far in
    // the future a token may seem issued (the store tolerates twice its skew), a 5-minute
    // lead and at most one issuance in 10 s.
    let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))
        .and_then(|c| c.with_lease(Duration::from_secs(60)))
        .and_then(|c| c.with_margins(Duration::from_secs(30), Duration::from_secs(15)))
        .and_then(|c| c.with_refresh_before(Duration::from_secs(300)))
        .unwrap()
        .with_min_issue_interval(Duration::from_secs(10))
        .with_jitter_seed(seed);
    let me = OwnerId::new(1);
    let (mut version, mut body) = (0u64, None::<String>);
    let mut issued = 0;
    let mut said = Vec::new();
    for (i, &now) in clock.iter().enumerate() {
        let (record, _) =
            Record::from_store(version, body.as_deref().map(str::as_bytes), now, &config).unwrap();
        match decide(&record, now, me, &config) {
            Decision::Serve(t) => {
                said.push(Said::Serve(t.access_token.expose_secret().to_owned()));
                if let Some(w) = rejects[i]
                    .then(|| record.invalidate(now, me, &t.access_token, &config))
                    .flatten()
                {
                    version = w.new_version();
                    body = Some(w.body());
                }
            }
            Decision::TakeLease(take) => {
                said.push(Said::Issue);
                issued += 1;
                let token: IssuedToken = serde_json::from_str(&answer(issued)).unwrap();
                let commit = take.record().commit(now, me, now, &token, &config).unwrap();
                version = commit.new_version();
                body = Some(commit.body());
            }
            _ => said.push(Said::Wait),
        }
    }
    said
}

fn issuances(said: &[Said]) -> usize {
    said.iter().filter(|s| **s == Said::Issue).count()
}

#[test]
fn an_implausible_lifetime_and_clock_jumps_make_cache_and_store_decide_the_same() {
    let clock: Vec<UnixTime> = clock().collect();
    for seed in [0, 7, 42, 0xDEAD_BEEF] {
        let none = vec![false; clock.len()];
        let (cache, store) = (
            cache_decisions(seed, &clock, &none),
            store_decisions(seed, &clock, &none),
        );
        eprintln!(
            "seed {seed}, a day of 1,440 calls: cache {} issuances, store {}",
            issuances(&cache),
            issuances(&store)
        );
        // Capped to 15 min and refreshed about 5 min ahead: one issuance per 10 min or so,
        // not one per call (the store used to drop a token claiming a day, and issue again).
        assert!(
            (120..=160).contains(&issuances(&cache)),
            "{}",
            issuances(&cache)
        );
        if let Some(i) = (0..clock.len()).find(|&i| cache[i] != store[i]) {
            panic!(
                "seed {seed}: call {i} at {:?}: cache {:?}, store {:?}",
                clock[i], cache[i], store[i]
            );
        }
    }
}

#[test]
fn rejections_in_a_row_and_a_clock_jump_make_cache_and_store_decide_the_same() {
    let (clock, rejects) = rejecting_clock();
    for seed in [0, 7, 42] {
        let cache = cache_decisions(seed, &clock, &rejects);
        let store = store_decisions(seed, &clock, &rejects);
        let during = |said: &[Said]| issuances(&said[120..480]);
        eprintln!(
            "seed {seed}, 30 min of rejections every 5 s: cache {} issuances, store {}",
            during(&cache),
            during(&store)
        );
        // Backing off to one a minute, not one per call (360 calls).
        assert!((25..=45).contains(&during(&cache)), "{}", during(&cache));
        if let Some(i) = (0..clock.len()).find(|&i| cache[i] != store[i]) {
            panic!(
                "seed {seed}: call {i} at {:?}: cache {:?}, store {:?}",
                clock[i], cache[i], store[i]
            );
        }
    }
}
