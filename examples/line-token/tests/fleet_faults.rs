//! The faults a fleet exists for, each against a real `redis-server`, `line-emulator` behind a
//! counting front, and `line-token` processes (with `faketime` where the clock matters):
//! skewed clocks, a holder killed after LINE answered, Redis gone after LINE answered, LINE
//! slower than the lease, wipes, a replica that refuses writes, a record under the wrong key
//! or one that cannot be read, a process with a wrong secret, and a huge value. Runs are
//! sequential and few.

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::line_front::LineFront;
use common::redis_server::RedisServer;
use common::{EmulatorProcess, Scratch, LINE_TOKEN};

const CHANNEL: &str = "1234567890";
const SECRET: &str = "faults-s3cret";

struct World {
    dir: Scratch,
    _line: EmulatorProcess,
    front: LineFront,
    redis: RedisServer,
}

impl World {
    fn new(name: &str) -> World {
        let redis = RedisServer::start();
        let dir = Scratch::new(name);
        dir.write("secret", SECRET);
        dir.write("wrong", "not-the-secret");
        let line = EmulatorProcess::start(&["--channel", &format!("{CHANNEL}:{SECRET}")]);
        let front = LineFront::start(&line.base);
        World {
            dir,
            _line: line,
            front,
            redis,
        }
    }

    /// `line-token token --store`, under `prefix` (e.g. `faketime -f +600s`) if given.
    fn command(&self, prefix: &[&str], secret: &str, extra: &[&str]) -> Command {
        self.command_to(&self.redis.url(), prefix, secret, extra)
    }

    fn command_to(&self, store: &str, prefix: &[&str], secret: &str, extra: &[&str]) -> Command {
        let (program, args) = match prefix.split_first() {
            Some((p, rest)) => (*p, [rest, &[LINE_TOKEN]].concat()),
            None => (LINE_TOKEN, Vec::new()),
        };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("HOME", self.dir.path("."))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args([
                "--api-base",
                &self.front.base,
                "token",
                "--channel-id",
                CHANNEL,
            ])
            .arg("--channel-secret-file")
            .arg(self.dir.path(secret))
            .args(["--store", store])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, extra: &[&str]) -> Output {
        self.command(&[], "secret", extra).output().unwrap()
    }

    fn spawn(&self, extra: &[&str]) -> Child {
        self.command(&[], "secret", extra).spawn().unwrap()
    }

    fn record(&self, kind: &str) -> serde_json::Value {
        let body: String = redis::cmd("HGET")
            .arg(format!("line-token:{CHANNEL}:{kind}"))
            .arg("record")
            .query(&mut self.redis.connection())
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }

    /// Waits until LINE has answered `n` held issuances.
    fn wait_held(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.front.counters.held.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "LINE never answered");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn token_of(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
#[cfg_attr(no_faketime, ignore = "needs faketime: apt-get install faketime")]
fn clocks_ten_minutes_off_alternating_with_normal_runs_issue_at_most_twice_in_twenty() {
    let world = World::new("faults-skew");
    let mut tokens = Vec::new();
    for i in 0..20 {
        let prefix: &[&str] = match i % 3 {
            0 => &["faketime", "-f", "+600s"],
            1 => &["faketime", "-f", "-600s"],
            _ => &[],
        };
        let out = world.command(prefix, "secret", &[]).output().unwrap();
        let warned = stderr(&out).contains("clock and the store's differ by");
        assert_eq!(warned, !prefix.is_empty(), "run {i}: {}", stderr(&out));
        tokens.push(token_of(&out));
    }
    let issued = world.front.issued();
    eprintln!("20 runs, a third 10 min ahead, a third behind: {issued} issuance(s)");
    assert!(issued <= 2, "{issued} issuances");
    assert!(tokens.iter().all(|t| *t == tokens[0]));
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_holder_killed_after_line_answered_is_still_counted() {
    let world = World::new("faults-kill");
    let extra = [
        "--type",
        "short-lived",
        "--store-lease",
        "3",
        "--store-budget",
        "2",
    ];
    world.front.counters.hold.store(true, Ordering::SeqCst);
    let mut holder = world.spawn(&extra);
    world.wait_held(1);
    holder.kill().unwrap(); // SIGKILL, after LINE issued
    holder.wait().unwrap();
    world.front.counters.hold.store(false, Ordering::SeqCst);
    let record = world.record("short-lived");
    assert_eq!(
        record["issued"].as_array().map(Vec::len),
        Some(1),
        "{record}"
    );
    // After its lease, another process issues; both tokens are counted, and the budget of
    // two is then spent.
    std::thread::sleep(Duration::from_secs(3));
    token_of(&world.run(&extra));
    assert_eq!(world.front.issued(), 2);
    let record = world.record("short-lived");
    assert_eq!(
        record["issued"].as_array().map(Vec::len),
        Some(2),
        "{record}"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn redis_gone_after_line_answered_still_prints_the_valid_token_and_warns() {
    let mut world = World::new("faults-redis-gone");
    world.front.counters.hold.store(true, Ordering::SeqCst);
    let holder = world.spawn(&[]);
    world.wait_held(1);
    world.redis.stop();
    world.front.counters.hold.store(false, Ordering::SeqCst);
    let out = holder.wait_with_output().unwrap();
    let token = token_of(&out);
    assert!(!token.is_empty());
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn line_slower_than_the_lease_leaves_its_token_counted_not_lost() {
    let world = World::new("faults-slow");
    // The lease is the bound the holder's HTTP call gets (the CLI's per-request timeout is
    // what is left of it): 3 s here stands for the 30 s HTTP timeout, which LINE outlives.
    let extra = ["--type", "short-lived", "--store-lease", "3"];
    world.front.counters.hold.store(true, Ordering::SeqCst);
    let holder = world.spawn(&extra);
    world.wait_held(1);
    // Two more processes start while LINE sits on the holder's answer: they wait for its
    // lease, and take over only once its call is over.
    let others: Vec<Child> = (0..2).map(|_| world.spawn(&extra)).collect();
    // The holder's call is bounded by its lease: it gives up, LINE has issued.
    let out = holder.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "the holder served a token it never got"
    );
    world.front.counters.hold.store(false, Ordering::SeqCst);
    // The late token is counted (a waiting process may already hold the next lease, with
    // its own tentative entry).
    let record = world.record("short-lived");
    let entries = record["issued"].as_array().map_or(0, Vec::len);
    assert!((1..=2).contains(&entries), "{record}");
    let mut served: Vec<String> = others
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .filter(|o| o.status.code() == Some(0))
        .map(|o| token_of(&o))
        .collect();
    assert!(!served.is_empty(), "neither waiting process got a token");
    std::thread::sleep(Duration::from_secs(2));
    served.push(token_of(&world.run(&extra)));
    served.dedup();
    assert_eq!(served.len(), 1, "one token served, not two: {served:?}");
    assert_eq!(world.front.issued(), 2);
    let record = world.record("short-lived");
    assert_eq!(
        record["issued"].as_array().map(Vec::len),
        Some(2),
        "every issued token counted: {record}"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_replica_that_refuses_writes_is_exit_3() {
    let primary = RedisServer::start();
    let world = World::new("faults-readonly");
    let replica = RedisServer::start_with(vec![
        "--replicaof".into(),
        "127.0.0.1".into(),
        primary.port.to_string(),
    ]);
    let out = world
        .command_to(&replica.url(), &[], "secret", &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("read only replica"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_record_copied_from_another_channel_is_refused_not_served() {
    let world = World::new("faults-copied");
    token_of(&world.run(&[]));
    let key = format!("line-token:{CHANNEL}:stateless");
    let mut conn = world.redis.connection();
    let body: String = redis::cmd("HGET")
        .arg(&key)
        .arg("record")
        .query(&mut conn)
        .unwrap();
    let foreign = body.replace(&format!(r#""channel":"{CHANNEL}""#), r#""channel":"999""#);
    assert_ne!(foreign, body);
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("record")
        .arg(&foreign)
        .query(&mut conn)
        .unwrap();
    let out = world.run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "never served");
    assert!(stderr(&out).contains("another channel"), "{}", stderr(&out));
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_process_with_a_wrong_secret_does_not_stop_the_others() {
    let world = World::new("faults-wrong");
    let wrong = world.command(&[], "wrong", &[]).output().unwrap();
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    let record = world.record("stateless");
    assert_eq!(record["failure"]["status"], 400, "{record}");
    token_of(&world.run(&[]));
    assert_eq!(world.front.issued(), 1);
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_huge_value_is_refused_without_being_read() {
    let world = World::new("faults-huge");
    let key = format!("line-token:{CHANNEL}:stateless");
    // 400 MB, made inside Redis (the test does not hold it either): a zero-filled string
    // copied into the record field.
    let size: u64 = 400 << 20;
    let () = redis::cmd("EVAL")
        .arg(
            "redis.call('SETRANGE', KEYS[2], tonumber(ARGV[1]) - 1, 'x') \
             redis.call('HSET', KEYS[1], 'version', '5', 'record', redis.call('GET', KEYS[2])) \
             redis.call('DEL', KEYS[2])",
        )
        .arg(2)
        .arg(&key)
        .arg("huge-scratch")
        .arg(size)
        .query(&mut world.redis.connection())
        .unwrap();
    // The run's peak memory, as the kernel counts it (GNU time's maximum resident set).
    let out = world
        .command(&["/usr/bin/time", "-v"], "secret", &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("64 KiB"), "{}", stderr(&out));
    let peak_kb: u64 = stderr(&out)
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|kb| kb.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak in {}", stderr(&out)));
    eprintln!("a 400 MB value: line-token peaked at {peak_kb} kB");
    assert!(
        peak_kb < 64 << 10,
        "peak {peak_kb} kB for a {size}-byte value"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
#[cfg_attr(no_faketime, ignore = "needs faketime: apt-get install faketime")]
fn a_process_75_s_behind_never_serves_a_token_expired_by_the_stores_clock() {
    let world = World::new("faults-behind");
    let old = token_of(&world.run(&[]));
    // Age the stored token by hand: issued 912 s ago by Redis's clock, so expired 12 s ago.
    let key = format!("line-token:{CHANNEL}:stateless");
    let mut conn = world.redis.connection();
    let (secs, _): (u64, u64) = redis::cmd("TIME").query(&mut conn).unwrap();
    let body: String = redis::cmd("HGET")
        .arg(&key)
        .arg("record")
        .query(&mut conn)
        .unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&body).unwrap();
    record["token"]["issued_at"] = ((secs - 912) * 1000).into();
    record["token"]["expires_at"] = ((secs - 12) * 1000).into();
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("record")
        .arg(record.to_string())
        .query(&mut conn)
        .unwrap();
    // By its own clock the token still has 63 s left; by the store's it is gone.
    let out = world
        .command(&["faketime", "-f", "-75s"], "secret", &[])
        .output()
        .unwrap();
    let fresh = token_of(&out);
    assert_ne!(fresh, old, "the expired token was served");
    assert_eq!(world.front.issued(), 2);
    assert!(
        stderr(&out).contains("clock and the store's differ by"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_rejected_token_is_dropped_once_for_the_whole_fleet() {
    let world = World::new("faults-rejected");
    let first = token_of(&world.run(&[]));
    assert_eq!(token_of(&world.run(&[])), first, "served, not reissued");
    world.dir.write("rejected", &first);
    let rejected = world.dir.path("rejected").to_string_lossy().into_owned();
    let report = ["--rejected-token-file", rejected.as_str()];
    // The Messaging API said 401 to `first`: the fleet drops it and a new one is printed.
    let out = world.run(&report);
    let second = token_of(&out);
    assert_ne!(second, first);
    assert!(!stderr(&out).contains(&first), "{}", stderr(&out));
    assert_eq!(world.front.issued(), 2);
    // Another process reporting the same token later: it is no longer the shared one, so
    // nothing is dropped twice.
    assert_eq!(token_of(&world.run(&report)), second);
    assert_eq!(world.front.issued(), 2);
    // Without --store the option is a usage error.
    let out = Command::new(LINE_TOKEN)
        .args(["token", "--channel-id", CHANNEL, "--cache"])
        .arg(world.dir.path("cache.json"))
        .arg("--channel-secret-file")
        .arg(world.dir.path("secret"))
        .args(report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_record_that_cannot_be_read_is_refused_and_left_as_is() {
    let world = World::new("faults-unreadable");
    token_of(&world.run(&[]));
    let key = format!("line-token:{CHANNEL}:stateless");
    let mut conn = world.redis.connection();
    for (body, says) in [
        ("{\"issued\": [1, 2, 3", "damaged"),
        (
            r#"{"format":"line-channel-token/store/v9","counted":"what v9 counts"}"#,
            "upgrade",
        ),
    ] {
        let () = redis::cmd("HSET")
            .arg(&key)
            .arg("record")
            .arg(body)
            .query(&mut conn)
            .unwrap();
        let out = world.run(&[]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "nothing served");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        let kept: String = redis::cmd("HGET")
            .arg(&key)
            .arg("record")
            .query(&mut conn)
            .unwrap();
        assert_eq!(kept, body, "never overwritten");
    }
    assert_eq!(world.front.issued(), 1);
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_gateways_502_after_line_issued_stays_counted() {
    let world = World::new("faults-gateway");
    world.front.counters.gateway.store(true, Ordering::SeqCst);
    let out = world.run(&["--type", "short-lived"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(world.front.issued(), 1, "LINE issued");
    assert_eq!(
        world.front.counters.gateway_failed.load(Ordering::SeqCst),
        1
    );
    let issued = world.record("short-lived")["issued"].clone();
    assert_eq!(
        issued.as_array().map(Vec::len),
        Some(1),
        "the token LINE issued is counted: {issued}"
    );
}
