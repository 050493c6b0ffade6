//! The whole story, offline: `cargo run --example demo`.
//!
//! Starts the emulated LINE token API on 127.0.0.1 inside this process, then does what a bot
//! back end does: generate an assertion signing key, register it, call every endpoint over
//! real HTTP (ureq), hit an error, keep a token warm across simulated days, and rotate v2.1
//! tokens without downtime.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/transport.rs"]
mod transport;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use line_channel_token::cache::{Credentials, Poll, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::rotation::{plan, reconcile, RotationPolicy, Step, V21Record};
use line_channel_token::*;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "demo-channel-secret";

/// A clock the demo controls, shared with the served emulator: days pass in milliseconds.
struct SimClock(AtomicU64);

impl SimClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.0.load(Ordering::SeqCst))
    }
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

fn short(token: &AccessToken) -> String {
    let raw = token.expose_secret();
    format!(
        "…{} ({} chars)",
        &raw[raw.len().saturating_sub(8)..],
        raw.len()
    )
}

fn section(title: &str) {
    println!("\n== {title} ==");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(SimClock(AtomicU64::new(1_767_225_600_000))); // 2026-01-01T00:00:00Z
    let emulator = Arc::new(Mutex::new(Emulator::with_seed(2026)));
    emulator
        .lock()
        .map_err(|_| "poisoned")?
        .add_channel(CHANNEL, ChannelSecret::new(SECRET));
    let served_clock = Arc::clone(&clock);
    let addr = http_server::serve(
        Arc::clone(&emulator),
        0,
        Arc::new(move || served_clock.now()),
    )?;
    let api = ApiBase::new(&format!("http://{addr}"))?;
    let agent = transport::agent();
    let send = |req| transport::send(&agent, req);
    println!("Emulated LINE token API on {api} (nothing leaves this machine)");

    section("1. Assertion signing key");
    let key = SigningKey::generate(&mut OsRng)?;
    println!(
        "Generated an RSA-2048 key; thumbprint {}",
        key.public_jwk().thumbprint()
    );
    let kid = emulator
        .lock()
        .map_err(|_| "poisoned")?
        .register_public_key(CHANNEL, &key.public_jwk().to_json())?;
    println!("Registered its public JWK in the (emulated) Console -> kid {kid}");

    section("2. Every endpoint");
    let secret = ChannelSecret::new(SECRET);
    let t = call(&api, &IssueShortLived::new(CHANNEL, &secret), send)?;
    println!(
        "POST /v2/oauth/accessToken      short-lived {} expires_in={}s",
        short(&t.access_token),
        t.expires_in
    );
    let info = call(&api, &Verify::new(&t.access_token), send)?;
    println!(
        "POST /v2/oauth/verify           client_id={} expires_in={}s scope={:?}",
        info.client_id, info.expires_in, info.scope
    );
    call(&api, &Revoke::new(&t.access_token), send)?;
    println!("POST /v2/oauth/revoke           revoked");

    let s = call(&api, &IssueStateless::by_secret(CHANNEL, &secret), send)?;
    println!(
        "POST /oauth2/v3/token (secret)  stateless {} expires_in={}s",
        short(&s.access_token),
        s.expires_in
    );
    let plain = AssertionBuilder::new(CHANNEL, &kid).sign(&key, clock.now(), &mut OsRng)?;
    let s = call(&api, &IssueStateless::by_assertion(&plain), send)?;
    println!(
        "POST /oauth2/v3/token (JWT)     stateless {} expires_in={}s",
        short(&s.access_token),
        s.expires_in
    );

    let v21_assertion = AssertionBuilder::new(CHANNEL, &kid)
        .token_exp(Duration::from_secs(7 * 86_400))
        .sign(&key, clock.now(), &mut OsRng)?;
    let v = call(&api, &IssueV21::new(&v21_assertion), send)?;
    let key_id = v.key_id.clone().unwrap_or_default();
    println!(
        "POST /oauth2/v2.1/token         v2.1 {} expires_in={}s key_id={key_id}",
        short(&v.access_token),
        v.expires_in
    );
    let info = call(&api, &VerifyV21::new(&v.access_token), send)?;
    println!(
        "GET  /oauth2/v2.1/verify        client_id={} expires_in={}s",
        info.client_id, info.expires_in
    );
    let kids = call(&api, &KeyIdsV21::new(&plain), send)?;
    println!("GET  /oauth2/v2.1/tokens/kid    kids={:?}", kids.kids);
    call(
        &api,
        &RevokeV21::new(CHANNEL, &secret, &v.access_token),
        send,
    )?;
    let kids = call(&api, &KeyIdsV21::new(&plain), send)?;
    println!(
        "POST /oauth2/v2.1/revoke        revoked; kids now {:?}",
        kids.kids
    );

    section("3. An error, as LINE reports it");
    let wrong = ChannelSecret::new("not-the-secret");
    match call(&api, &IssueShortLived::new(CHANNEL, &wrong), send) {
        Err(CallError::Protocol(e)) => {
            println!("{e}");
            println!(
                "retryable: {}; the secret never appears: {:?}",
                e.is_retryable(),
                wrong
            );
        }
        other => return Err(format!("expected LINE to refuse, got {other:?}").into()),
    }

    section("4. Keeping a stateless token warm for an hour of simulated time");
    let creds = Credentials::stateless_by_jwt(CHANNEL, &kid, key.clone());
    let mut cache = TokenCache::new(api.clone(), creds);
    println!(
        "policy: refresh {}s before expiry, {}s clock-skew allowance",
        cache.config().refresh_before.as_secs(),
        cache.config().clock_skew.as_secs()
    );
    emulator.lock().map_err(|_| "poisoned")?.fail_next(
        Operation::IssueStateless,
        1,
        http::StatusCode::SERVICE_UNAVAILABLE,
    );
    let start = clock.now();
    let issued_before = emulator
        .lock()
        .map_err(|_| "poisoned")?
        .calls(Operation::IssueStateless);
    let mut last = None;
    while clock.now() < start + Duration::from_secs(3600) {
        let now = clock.now();
        match cache.poll(now, &mut OsRng) {
            Poll::Ready(token) => {
                if last.as_ref() != Some(token) {
                    println!("  t+{:>4}s using {}", (now - start).as_secs(), short(token));
                    last = Some(token.clone());
                }
                clock.advance(Duration::from_secs(60)); // a message every minute
            }
            Poll::Refresh(mut refresh) => {
                println!("  t+{:>4}s refreshing", (now - start).as_secs());
                match transport::send(&agent, std::mem::take(&mut refresh.request)) {
                    Ok(response) => {
                        if let Err(e) =
                            cache.handle_response(refresh.ticket, now, &response, &mut OsRng)
                        {
                            println!("           refresh failed ({}), backing off", e.status());
                        }
                    }
                    Err(_) => cache.handle_transport_failure(refresh.ticket, now, &mut OsRng),
                }
            }
            Poll::Wait(until) => {
                println!(
                    "  t+{:>4}s no token yet; waiting {}ms",
                    (now - start).as_secs(),
                    (until - now).as_millis()
                );
                clock.advance(until - now);
            }
            Poll::Failed(f) => return Err(f.to_string().into()),
        }
    }
    let issued = emulator
        .lock()
        .map_err(|_| "poisoned")?
        .calls(Operation::IssueStateless)
        - issued_before;
    println!("{issued} issuance calls for an hour of 15-minute tokens (one answered 503), each 10 minutes apart");

    section("5. Rotating v2.1 tokens without downtime");
    let policy = RotationPolicy::default();
    let mut records: Vec<V21Record> = Vec::new();
    for day in 0..3 {
        let now = clock.now();
        let assertion = AssertionBuilder::new(CHANNEL, &kid).sign(&key, now, &mut OsRng)?;
        let listing = call(&api, &KeyIdsV21::new(&assertion), send)?;
        let r = reconcile(&records, &listing);
        records = r.live.clone();
        let steps = plan(&r, now, &policy);
        println!(
            "  day {day}: {} live, plan {:?}",
            r.live.len(),
            steps.iter().map(describe).collect::<Vec<_>>()
        );
        for step in steps {
            match step {
                Step::RevokeToMakeRoom(kids) | Step::RevokeAfterSwitch(kids) => {
                    for k in kids {
                        if let Some(pos) = records.iter().position(|rec| rec.key_id == k) {
                            let rec = records.remove(pos);
                            call(
                                &api,
                                &RevokeV21::new(CHANNEL, &secret, &rec.access_token),
                                send,
                            )?;
                        }
                    }
                }
                Step::Issue => {
                    let a = AssertionBuilder::new(CHANNEL, &kid)
                        .token_exp(Duration::from_secs(2 * 86_400))
                        .sign(&key, now, &mut OsRng)?;
                    let t = call(&api, &IssueV21::new(&a), send)?;
                    records.push(V21Record {
                        expires_at: t.expires_at(now),
                        key_id: t.key_id.clone().unwrap_or_default(),
                        access_token: t.access_token,
                    });
                }
                Step::Use(_) => {}
            }
        }
        clock.advance(Duration::from_secs(86_400 + 3_600));
    }
    println!("\nDone: every endpoint, an error, a warm cache and a rotation, all offline.");
    Ok(())
}

fn describe(step: &Step) -> String {
    match step {
        Step::RevokeToMakeRoom(k) => format!("revoke {} to make room", k.len()),
        Step::Issue => "issue".into(),
        Step::Use(k) => format!("use {k}"),
        Step::RevokeAfterSwitch(k) => format!("revoke {} old", k.len()),
    }
}
