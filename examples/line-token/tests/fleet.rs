//! A fleet shares one channel's tokens through Redis (`line-token token --store`): many
//! processes on several simulated machines (separate HOME and working directories, only Redis
//! and LINE shared), against a real redis-server and `line-emulator` on 127.0.0.1.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::line_front::LineFront;
use common::redis_server::RedisServer;
use common::{DeadPort, EmulatorProcess, Scratch, LINE_TOKEN};
use support::redis_store;

const CHANNEL: &str = "1234567890";
const SECRET: &str = "fleet-s3cret";

/// One simulated machine: its own HOME and working directory, with the secret in a file.
struct Machine {
    dir: Scratch,
}

impl Machine {
    fn new(name: &str) -> Machine {
        let dir = Scratch::new(name);
        std::fs::create_dir_all(dir.path("home")).unwrap();
        std::fs::create_dir_all(dir.path("work")).unwrap();
        dir.write("home/secret", SECRET);
        Machine { dir }
    }

    fn command(&self, base: &str, store: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(LINE_TOKEN);
        cmd.env_clear()
            .env("HOME", self.dir.path("home"))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(self.dir.path("work"))
            .args(["--api-base", base, "token", "--channel-id", CHANNEL])
            .arg("--channel-secret-file")
            .arg(self.dir.path("home/secret"))
            .args(["--store", store])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn(&self, base: &str, store: &str, extra: &[&str]) -> Child {
        self.command(base, store, extra).spawn().unwrap()
    }
}

/// LINE (the emulator behind a counting front), Redis, and `n` machines.
struct World {
    _line: EmulatorProcess,
    front: LineFront,
    redis: RedisServer,
    machines: Vec<Machine>,
}

impl World {
    fn new(name: &str, n: usize) -> World {
        let redis = RedisServer::start();
        let channel = format!("{CHANNEL}:{SECRET}");
        let line = EmulatorProcess::start(&["--channel", &channel]);
        let front = LineFront::start(&line.base);
        let machines = (0..n)
            .map(|i| Machine::new(&format!("{name}-m{i}")))
            .collect();
        World {
            _line: line,
            front,
            redis,
            machines,
        }
    }

    /// `per_machine` concurrent runs on every machine; their outputs.
    fn run_all(&self, per_machine: usize, extra: &[&str]) -> Vec<Output> {
        let children: Vec<Child> = (0..per_machine)
            .flat_map(|_| self.machines.iter())
            .map(|m| m.spawn(&self.front.base, &self.redis.url(), extra))
            .collect();
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect()
    }
}

fn token_of(o: &Output) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {stderr}");
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

fn all_same_token(outputs: &[Output]) -> String {
    let tokens: Vec<String> = outputs.iter().map(token_of).collect();
    assert!(!tokens[0].is_empty());
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "different tokens: {tokens:?}"
    );
    tokens[0].clone()
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn sixteen_processes_on_two_machines_get_one_token_from_one_issuance() {
    let world = World::new("fleet16", 2);
    let started = Instant::now();
    let outputs = world.run_all(8, &[]);
    assert_eq!(outputs.len(), 16);
    let token = all_same_token(&outputs);
    assert_eq!(world.front.issued(), 1, "issuances");
    eprintln!(
        "16 processes, 2 machines: 1 issuance in {:?}",
        started.elapsed()
    );

    // Nothing secret in Redis but the token; keys are namespaced by channel and type.
    let mut redis = world.redis.connection();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut redis).unwrap();
    assert_eq!(keys, vec![format!("line-token:{CHANNEL}:stateless")]);
    let fields: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(&keys[0])
        .query(&mut redis)
        .unwrap();
    let all: String = fields.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert!(!all.contains(SECRET), "the channel secret reached Redis");
    assert!(all.contains(&token));
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn forty_short_lived_runs_on_four_machines_issue_once() {
    let world = World::new("fleet40", 4);
    let started = Instant::now();
    let outputs = world.run_all(10, &["--type", "short-lived"]);
    assert_eq!(outputs.len(), 40);
    all_same_token(&outputs);
    assert_eq!(world.front.issued(), 1, "issuances");
    eprintln!(
        "40 short-lived runs, 4 machines: 1 issuance in {:?}",
        started.elapsed()
    );

    let mut redis = world.redis.connection();
    let body: String = redis::cmd("HGET")
        .arg(format!("line-token:{CHANNEL}:short-lived"))
        .arg("record")
        .query(&mut redis)
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        record["issued"].as_array().map(Vec::len),
        Some(1),
        "{record}"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_lease_holder_killed_mid_refresh_is_taken_over_within_the_lease_and_a_round_trip() {
    let world = World::new("fleetkill", 2);
    const LEASE: u64 = 3;
    let lease = LEASE.to_string();
    let extra = ["--store-lease", lease.as_str()];
    world.front.counters.stall.store(true, Ordering::SeqCst);
    let mut holder = world.machines[0].spawn(&world.front.base, &world.redis.url(), &extra);
    // Wait until its refresh hangs at LINE: it holds the lease now.
    let deadline = Instant::now() + Duration::from_secs(20);
    while world.front.counters.stalled.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the holder never refreshed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let lease_taken = Instant::now();
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    world.front.counters.stall.store(false, Ordering::SeqCst);

    let other = world.machines[1]
        .spawn(&world.front.base, &world.redis.url(), &extra)
        .wait_with_output()
        .unwrap();
    let took = lease_taken.elapsed();
    token_of(&other);
    assert_eq!(world.front.issued(), 1, "issuances");
    // The lease, plus one round trip: less than two leases. Not the lease plus 1.5 s, as it
    // was: the round trip here is debug builds of line-token, a front and the emulator, run
    // while this binary's other tests start 56 processes, on a CI machine of 2 cores. Twice the
    // lease still tells a takeover at the lease's end from one a lease later, and the give-up
    // wait (lease + 5 s) fails `token_of`.
    let bound = Duration::from_secs(2 * LEASE);
    assert!(took < bound, "took over after {took:?}, bound {bound:?}");
    eprintln!("takeover after SIGKILL: token {took:?} after the lease was taken (lease {LEASE} s)");
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn redis_restarted_empty_recovers_with_one_new_issuance() {
    let mut world = World::new("fleetwipe", 2);
    let before = all_same_token(&world.run_all(2, &[]));
    assert_eq!(world.front.issued(), 1);
    world.redis.restart_empty();
    let after = all_same_token(&world.run_all(4, &[]));
    assert_eq!(world.front.issued(), 2, "one new issuance after the wipe");
    assert_ne!(before, after);
}

#[test]
fn redis_down_is_exit_3_with_one_line() {
    let machine = Machine::new("fleetdown");
    // An address nothing listens on (not a port bound and closed: another test's Redis may
    // be given it, and refuse the password: exit 2).
    let dead = DeadPort::new();
    let store = format!("redis://:hunter2@{}:{}/0", DeadPort::HOST, dead.port);
    let o = machine
        .command("http://127.0.0.1:9", &store, &[])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(o.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("store"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password was shown: {stderr}"
    );
}

#[test]
fn store_options_are_checked() {
    let machine = Machine::new("fleetusage");
    for (store, extra, why) in [
        ("http://127.0.0.1:1/0", &[][..], "not a redis URL"),
        (
            "redis://127.0.0.1:1/0",
            &["--store-lease", "0"][..],
            "lease 0",
        ),
        (
            "redis://127.0.0.1:1/0",
            &["--cache", "x"][..],
            "both backends",
        ),
        (
            "redis://127.0.0.1:1/0",
            &["--type", "long-lived"][..],
            "long-lived",
        ),
        (
            "redis://127.0.0.1:1/0",
            &["--store-budget", "5"][..],
            "a budget for stateless tokens, which LINE does not count",
        ),
        (
            "redis://127.0.0.1:1/0",
            &["--type", "short-lived", "--store-budget", "31"][..],
            "a budget past LINE's cap",
        ),
    ] {
        let o = machine
            .command("http://127.0.0.1:9", store, extra)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{why}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_hit_is_one_round_trip_and_prefixes_separate_fleets() {
    let world = World::new("fleethit", 1);
    let m = &world.machines[0];
    let url = world.redis.url();
    let a = token_of(
        &m.command(&world.front.base, &url, &["--store-prefix", "a"])
            .output()
            .unwrap(),
    );
    let b = token_of(
        &m.command(&world.front.base, &url, &["--store-prefix", "b"])
            .output()
            .unwrap(),
    );
    assert_ne!(a, b, "two prefixes, two records");
    assert_eq!(world.front.issued(), 2);

    use line_channel_token::store::{OwnerId, StoreConfig};
    use line_channel_token::TokenKind;
    let key = redis_store::key("a", CHANNEL, TokenKind::Stateless);
    let mut store = redis_store::RedisStore::connect(&url, key).unwrap();
    let config =
        StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    let mut line = redis_store::Line(
        |_| {
            Err::<line_channel_token::IssuedToken, _>((
                line_channel_token::store::Failure::not_sent(),
                "must not issue on a hit",
            ))
        },
        |_| Ok(Vec::new()),
    );
    let token = redis_store::fetch(
        &mut store,
        &config,
        OwnerId::new(1),
        Duration::ZERO,
        &mut line,
    )
    .unwrap()
    .token;
    assert_eq!(token.access_token.expose_secret(), a);
    assert_eq!(store.round_trips, 1, "a hit reads the record once");
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn v21_through_the_store_with_the_jwt_options_keeps_key_and_assertion_out_of_redis() {
    let redis = RedisServer::start();
    let machine = Machine::new("fleetv21");
    let private = machine.dir.path("home/private.jwk.json");
    let public = machine.dir.path("home/public.jwk.json");
    let keygen = Command::new(LINE_TOKEN)
        .arg("keygen")
        .arg("--private")
        .arg(&private)
        .arg("--public")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(keygen.status.code(), Some(0));
    let channel = format!("{CHANNEL}:{SECRET}");
    let line = EmulatorProcess::start(&[
        "--channel",
        &channel,
        "--public-key",
        public.to_str().unwrap(),
    ]);
    let kid = line.lines[0]["kid"].as_str().unwrap().to_owned();
    let front = LineFront::start(&line.base);
    let run = || {
        machine
            .command(
                &front.base,
                &redis.url(),
                &["--type", "v2.1", "--kid", &kid, "--store-lease", "3"],
            )
            .arg("--key")
            .arg(&private)
            .args(["--token-exp", "86400"])
            .output()
            .unwrap()
    };
    let first = token_of(&run());
    let second = token_of(&run());
    assert_eq!(first, second);
    assert_eq!(front.issued(), 1);

    let mut conn = redis.connection();
    let key = format!("line-token:{CHANNEL}:v2.1");
    let body: String = redis::cmd("HGET")
        .arg(&key)
        .arg("record")
        .query(&mut conn)
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(&body).unwrap();
    let entries = record["issued"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{record}");
    assert!(
        entries[0]["key_id"].is_string(),
        "v2.1 key ids are kept: {record}"
    );
    let jwk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&private).unwrap()).unwrap();
    for part in ["d", "p", "q"] {
        let secret = jwk[part].as_str().unwrap();
        assert!(
            !body.contains(secret),
            "private key part {part} reached Redis"
        );
    }
    // An assertion is a JWS whose header names the kid; none may be stored.
    assert!(
        !body.contains(&kid),
        "an assertion (or the kid) reached Redis: {body}"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn the_budget_holds_the_fleet_to_the_tokens_it_has_out() {
    let world = World::new("fleetbudget", 2);
    // The token is aged past its refresh point (half its usable life, jittered by up to a
    // fifth) before the later runs: without a budget, every later run issues.
    let due_at_once = ["--type", "short-lived", "--refresh-before", "2591999"];
    let run = |machine: usize, budget: &str| {
        let mut args = due_at_once.to_vec();
        args.extend(["--store-budget", budget]);
        token_of(
            &world.machines[machine]
                .command(&world.front.base, &world.redis.url(), &args)
                .output()
                .unwrap(),
        )
    };
    let first = run(0, "1");
    // 20 of its 30 days gone: usable, and due.
    let key = format!("line-token:{CHANNEL}:short-lived");
    let mut conn = world.redis.connection();
    let body: String = redis::cmd("HGET")
        .arg(&key)
        .arg("record")
        .query(&mut conn)
        .unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&body).unwrap();
    for field in ["issued_at", "expires_at"] {
        let at = record["token"][field].as_u64().unwrap();
        record["token"][field] = (at - 20 * 86_400_000).into();
    }
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("record")
        .arg(record.to_string())
        .query(&mut conn)
        .unwrap();
    // Due for refresh, but the budget of 1 is out: the token out is served, none issued.
    assert_eq!(run(1, "1"), first);
    assert_eq!(world.front.issued(), 1);
    // With room in the budget, the due refresh happens: the control.
    let second = run(1, "2");
    assert_ne!(second, first);
    assert_eq!(world.front.issued(), 2);
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_failed_refresh_backs_off_the_whole_fleet_then_one_process_recovers() {
    let world = World::new("fleetbackoff", 2);
    let url = world.redis.url();
    world.front.counters.fail.store(true, Ordering::SeqCst);
    let failed = world.machines[0]
        .command(&world.front.base, &url, &[])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(3), "a 500 is worth retrying");
    assert_eq!(world.front.counters.failed.load(Ordering::SeqCst), 1);
    // LINE is back. Another machine finds the fleet's 1 s backoff, waits it out, then issues.
    world.front.counters.fail.store(false, Ordering::SeqCst);
    let started = Instant::now();
    let outputs = world.run_all(3, &[]);
    all_same_token(&outputs);
    assert_eq!(world.front.issued(), 1, "one issuance after the backoff");
    assert_eq!(world.front.counters.failed.load(Ordering::SeqCst), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}
