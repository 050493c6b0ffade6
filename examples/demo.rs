//! The whole story, offline: `cargo run --example demo`.
//!
//! Starts the emulated LINE token API on 127.0.0.1 inside this process, then does what a bot
//! back end does: generate an assertion signing key, register it, call the token endpoints
//! over real HTTP (ureq) as a user would (a tour: the tests, not the demo, call each one), hit an error, keep a token warm with the cache's driver across an hour
//! of simulated time, and rotate v2.1 tokens without downtime. One function per section.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use line_channel_token::cache::{drive, Credentials, Event, TokenCache};
use line_channel_token::emulator::Emulator;
use line_channel_token::rotation::{plan, reconcile, RotationPolicy, Step, V21Record};
use line_channel_token::*;
use support::{http_server, transport};

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

/// The emulated LINE served over HTTP on 127.0.0.1, its clock, and a ureq agent to reach it.
struct Demo {
    clock: Arc<SimClock>,
    emulator: Arc<Mutex<Emulator>>,
    api: ApiBase,
    agent: ureq::Agent,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

impl Demo {
    fn start() -> Result<Demo> {
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
        println!("Emulated LINE token API on {api} (nothing leaves this machine)");
        Ok(Demo {
            clock,
            emulator,
            api,
            agent: transport::loopback_agent(),
        })
    }

    fn line(&self) -> Result<std::sync::MutexGuard<'_, Emulator>> {
        Ok(self.emulator.lock().map_err(|_| "poisoned")?)
    }

    fn send(
        &self,
        req: http::Request<Vec<u8>>,
    ) -> std::result::Result<http::Response<Vec<u8>>, ureq::Error> {
        transport::send(&self.agent, req)
    }
}

fn main() -> Result<()> {
    let demo = Demo::start()?;
    let (key, kid) = signing_key(&demo)?;
    the_endpoints(&demo, &key, &kid)?;
    an_error(&demo)?;
    keep_a_token_warm(&demo, &key, &kid)?;
    rotate_v21(&demo, &key, &kid)?;
    println!("\nDone: the endpoints, an error, a warm cache and a rotation, all offline.");
    Ok(())
}

fn signing_key(demo: &Demo) -> Result<(SigningKey, String)> {
    section("1. Assertion signing key");
    let key = SigningKey::generate(&mut OsRng)?;
    println!(
        "Generated an RSA-2048 key; thumbprint {}",
        key.public_jwk().thumbprint()
    );
    let kid = demo
        .line()?
        .register_public_key(CHANNEL, &key.public_jwk().to_json())?;
    println!("Registered its public JWK in the (emulated) Console -> kid {kid}");
    Ok((key, kid))
}

fn the_endpoints(demo: &Demo, key: &SigningKey, kid: &str) -> Result<()> {
    section("2. Calling the token endpoints");
    let (api, send) = (&demo.api, |req| demo.send(req));
    let secret = ChannelSecret::new(SECRET);
    let t = call(api, &IssueShortLived::new(CHANNEL, &secret), send)?;
    println!(
        "POST /v2/oauth/accessToken      short-lived {} expires_in={}s",
        short(&t.access_token),
        t.expires_in
    );
    let info = call(api, &Verify::new(&t.access_token), send)?;
    println!(
        "POST /v2/oauth/verify           client_id={} expires_in={}s scope={:?}",
        info.client_id, info.expires_in, info.scope
    );
    call(api, &Revoke::new(&t.access_token), send)?;
    println!("POST /v2/oauth/revoke           revoked");

    let s = call(api, &IssueStateless::by_secret(CHANNEL, &secret), send)?;
    println!(
        "POST /oauth2/v3/token (secret)  stateless {} expires_in={}s",
        short(&s.access_token),
        s.expires_in
    );
    let plain = AssertionBuilder::new(CHANNEL, kid).sign(key, demo.clock.now(), &mut OsRng)?;
    let s = call(api, &IssueStateless::by_assertion(&plain), send)?;
    println!(
        "POST /oauth2/v3/token (JWT)     stateless {} expires_in={}s",
        short(&s.access_token),
        s.expires_in
    );

    let v21_assertion = AssertionBuilder::new(CHANNEL, kid)
        .token_exp(Duration::from_secs(7 * 86_400))
        .sign(key, demo.clock.now(), &mut OsRng)?;
    let v = call(api, &IssueV21::new(&v21_assertion), send)?;
    let key_id = v.key_id.clone().unwrap_or_default();
    println!(
        "POST /oauth2/v2.1/token         v2.1 {} expires_in={}s key_id={key_id}",
        short(&v.access_token),
        v.expires_in
    );
    let info = call(api, &VerifyV21::new(&v.access_token), send)?;
    println!(
        "GET  /oauth2/v2.1/verify        client_id={} expires_in={}s",
        info.client_id, info.expires_in
    );
    let kids = call(api, &KeyIdsV21::new(&plain), send)?;
    println!("GET  /oauth2/v2.1/tokens/kid    kids={:?}", kids.kids);
    call(
        api,
        &RevokeV21::new(CHANNEL, &secret, &v.access_token),
        send,
    )?;
    let kids = call(api, &KeyIdsV21::new(&plain), send)?;
    println!(
        "POST /oauth2/v2.1/revoke        revoked; kids now {:?}",
        kids.kids
    );
    Ok(())
}

fn an_error(demo: &Demo) -> Result<()> {
    section("3. An error, as LINE reports it");
    let wrong = ChannelSecret::new("not-the-secret");
    match call(&demo.api, &IssueShortLived::new(CHANNEL, &wrong), |req| {
        demo.send(req)
    }) {
        Err(CallError::Protocol(e)) => {
            println!("{e}");
            println!(
                "retryable: {}; the secret never appears: {:?}",
                e.is_retryable(),
                wrong
            );
            Ok(())
        }
        other => Err(format!("expected LINE to refuse, got {other:?}").into()),
    }
}

fn keep_a_token_warm(demo: &Demo, key: &SigningKey, kid: &str) -> Result<()> {
    section("4. Keeping a stateless token warm for an hour of simulated time");
    let creds = Credentials::stateless_by_assertion(CHANNEL, kid, key.clone(), Box::new(OsRng))?;
    let mut cache = TokenCache::builder(demo.api.clone(), creds)
        .seed(2026)
        .build();
    println!(
        "policy: advisory refresh {}s and mandatory {}s before the end of a token's usable life, \
         {}s clock-skew allowance, at most one issuance per {}s",
        cache.config().refresh_before().as_secs(),
        cache.config().mandatory_before().as_secs(),
        cache.config().clock_skew().as_secs(),
        cache.config().min_issue_interval().as_secs(),
    );
    demo.line()?.fail_next(
        Operation::IssueStateless,
        1,
        http::StatusCode::SERVICE_UNAVAILABLE,
    );
    let clock = &demo.clock;
    let start = clock.now();
    let issued_before = demo.line()?.calls(Operation::IssueStateless);
    let mut last = None;
    while clock.now() < start + Duration::from_secs(3600) {
        // A message to send every minute: ask the driver for a token. The simulated clock
        // moves only when the driver sleeps or we advance it.
        let at = (clock.now() - start).as_secs();
        match drive(
            &mut cache,
            || clock.now(),
            |d| clock.advance(d),
            |req| demo.send(req),
        ) {
            Ok(token) => {
                if last.as_ref() != Some(&token) {
                    println!("  t+{at:>4}s using {}", short(&token));
                    last = Some(token);
                }
                clock.advance(Duration::from_secs(60));
            }
            Err(e) => {
                println!("  t+{at:>4}s no token: {e}");
                clock.advance(e.retry_at() - clock.now());
            }
        }
    }
    let issued = demo.line()?.calls(Operation::IssueStateless) - issued_before;
    let events: Vec<Event> = std::iter::from_fn(|| cache.poll_event()).collect();
    let refreshed = events
        .iter()
        .filter(|e| matches!(e, Event::Refreshed { .. }))
        .count();
    println!(
        "{issued} issuance calls for an hour of 15-minute tokens (one answered 503); \
         events: {} drained, {refreshed} refreshes",
        events.len()
    );
    Ok(())
}

fn rotate_v21(demo: &Demo, key: &SigningKey, kid: &str) -> Result<()> {
    section("5. Rotating v2.1 tokens without downtime");
    let (api, send) = (&demo.api, |req| demo.send(req));
    let secret = ChannelSecret::new(SECRET);
    let policy = RotationPolicy::default();
    let mut records: Vec<V21Record> = Vec::new();
    for day in 0..3 {
        let now = demo.clock.now();
        let assertion = AssertionBuilder::new(CHANNEL, kid).sign(key, now, &mut OsRng)?;
        let listing = call(api, &KeyIdsV21::new(&assertion), send)?;
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
                                api,
                                &RevokeV21::new(CHANNEL, &secret, &rec.access_token),
                                send,
                            )?;
                        }
                    }
                }
                Step::Issue => {
                    let a = AssertionBuilder::new(CHANNEL, kid)
                        .token_exp(Duration::from_secs(2 * 86_400))
                        .sign(key, now, &mut OsRng)?;
                    let t = call(api, &IssueV21::new(&a), send)?;
                    records.push(V21Record {
                        expires_at: t.expires_at(now),
                        key_id: t.key_id.clone().unwrap_or_default(),
                        access_token: t.access_token,
                    });
                }
                Step::Use(_) | Step::WaitForRoom(_) => {}
            }
        }
        demo.clock.advance(Duration::from_secs(86_400 + 3_600));
    }
    Ok(())
}

fn describe(step: &Step) -> String {
    match step {
        Step::RevokeToMakeRoom(k) => format!("revoke {} to make room", k.len()),
        Step::Issue => "issue".into(),
        Step::Use(k) => format!("use {k}"),
        Step::RevokeAfterSwitch(k) => format!("revoke {} old", k.len()),
        Step::WaitForRoom(t) => format!("30 active: list again at {t}"),
    }
}
