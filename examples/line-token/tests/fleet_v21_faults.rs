//! v2.1 through `--store` keeps LINE's count within the budget when the store forgets: wiped
//! (FLUSHDB) or failed over to a replica that missed commits (staged by writing an older
//! record back, and with a real replica promoted). A real redis-server, `line-emulator` behind a counting front, and
//! `line-token` runs, one after another.

mod common;

use std::process::{Command, Output, Stdio};

use common::line_front::LineFront;
use common::redis_server::{free_port, RedisServer};
use common::{EmulatorProcess, Scratch, LINE_TOKEN};

const CHANNEL: &str = "1234567890";
const SECRET: &str = "v21-faults-s3cret";

struct World {
    dir: Scratch,
    _line: EmulatorProcess,
    front: LineFront,
    redis: RedisServer,
    kid: String,
}

impl World {
    fn new(name: &str) -> World {
        let redis = RedisServer::start();
        let dir = Scratch::new(name);
        let keygen = Command::new(LINE_TOKEN)
            .arg("keygen")
            .arg("--private")
            .arg(dir.path("private.jwk.json"))
            .arg("--public")
            .arg(dir.path("public.jwk.json"))
            .output()
            .unwrap();
        assert_eq!(keygen.status.code(), Some(0));
        let public = dir.path("public.jwk.json").to_string_lossy().into_owned();
        let line = EmulatorProcess::start(&[
            "--channel",
            &format!("{CHANNEL}:{SECRET}"),
            "--public-key",
            &public,
        ]);
        let kid = line.lines[0]["kid"].as_str().unwrap().to_owned();
        let front = LineFront::start(&line.base);
        World {
            dir,
            _line: line,
            front,
            redis,
            kid,
        }
    }

    fn run(&self, extra: &[&str]) -> Output {
        self.run_on(&self.redis, extra)
    }

    fn run_on(&self, redis: &RedisServer, extra: &[&str]) -> Output {
        Command::new(LINE_TOKEN)
            .env_clear()
            .env("HOME", self.dir.path("."))
            .args([
                "--api-base",
                &self.front.base,
                "token",
                "--channel-id",
                CHANNEL,
            ])
            .args(["--type", "v2.1", "--kid", &self.kid, "--key"])
            .arg(self.dir.path("private.jwk.json"))
            .args(["--token-exp", "86400", "--store-lease", "3"])
            .args(["--store", &redis.url()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    fn key(&self) -> String {
        format!("line-token:{CHANNEL}:v2.1")
    }

    /// Ages the shared token by 80,000 s (of its 86,400): still usable, and past its refresh
    /// point (a third of its life before the end, jittered by up to a fifth of that), so the
    /// next run wants a new token. LINE's own count of it is untouched.
    fn age_token(&self) {
        self.age_token_on(&self.redis);
    }

    fn age_token_on(&self, redis: &RedisServer) {
        let mut conn = redis.connection();
        let body: String = redis::cmd("HGET")
            .arg(self.key())
            .arg("record")
            .query(&mut conn)
            .unwrap();
        let mut record: serde_json::Value = serde_json::from_str(&body).unwrap();
        for field in ["issued_at", "expires_at"] {
            let at = record["token"][field].as_u64().unwrap();
            record["token"][field] = (at - 80_000_000).into();
        }
        let () = redis::cmd("HSET")
            .arg(self.key())
            .arg("record")
            .arg(record.to_string())
            .query(&mut conn)
            .unwrap();
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn flushdb_twice_with_a_budget_of_three_never_leaves_more_than_three_live() {
    let world = World::new("v21-flush");
    let budget = ["--store-budget", "3"];
    let mut codes = Vec::new();
    for round in 0..4 {
        let out = world.run(&budget);
        codes.push(out.status.code());
        assert!(
            world.front.issued() <= 3,
            "round {round}: {} live at LINE; {}",
            world.front.issued(),
            stderr(&out)
        );
        let () = redis::cmd("FLUSHDB")
            .query(&mut world.redis.connection())
            .unwrap();
    }
    eprintln!(
        "v2.1, budget 3, FLUSHDB after each run: {codes:?}, {} issued",
        world.front.issued()
    );
    assert_eq!(codes[..3], [Some(0), Some(0), Some(0)]);
    assert_eq!(
        codes[3],
        Some(3),
        "LINE holds the budget: wait, do not issue"
    );
    assert_eq!(world.front.issued(), 3);
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_failover_that_lost_commits_is_recounted_from_lines_listing() {
    let world = World::new("v21-failover");
    // The token aged past its refresh point before every run: every run wants a new one.
    let extra = ["--store-budget", "4"];
    let first = world.run(&extra);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let mut conn = world.redis.connection();
    let saved: Vec<String> = redis::cmd("HMGET")
        .arg(world.key())
        .arg("version")
        .arg("record")
        .query(&mut conn)
        .unwrap();
    for _ in 0..3 {
        world.age_token();
        let out = world.run(&extra);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(world.front.issued(), 4);
    // The replica promoted missed the last three commits.
    let () = redis::cmd("HSET")
        .arg(world.key())
        .arg("version")
        .arg(&saved[0])
        .arg("record")
        .arg(&saved[1])
        .query(&mut conn)
        .unwrap();
    for _ in 0..2 {
        world.age_token();
        world.run(&extra);
    }
    assert_eq!(
        world.front.issued(),
        4,
        "LINE's listing shows the budget spent: nothing more issued"
    );
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_real_replica_promoted_after_missing_two_commits_never_exceeds_the_budget() {
    let world = World::new("v21-replica");
    let primary = &world.redis;
    let replica = RedisServer::start_with(vec![
        "--replicaof".into(),
        "127.0.0.1".into(),
        primary.port.to_string(),
    ]);
    let budget = ["--store-budget", "5"];
    let version = |redis: &RedisServer| -> Option<String> {
        redis::cmd("HGET")
            .arg(world.key())
            .arg("version")
            .query(&mut redis.connection())
            .unwrap()
    };
    for run in 0..3 {
        if run > 0 {
            world.age_token();
        }
        let out = world.run(&budget);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(world.front.issued(), 3);
    // The replica has everything so far.
    let acked: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5_000)
        .query(&mut primary.connection())
        .unwrap();
    assert_eq!(acked, 1, "the replica never caught up");
    assert_eq!(version(&replica), version(primary));
    // Replication held back: the replica now follows an address nobody answers at, keeping
    // its data, while the fleet commits two more tokens on the primary.
    let () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(free_port())
        .query(&mut replica.connection())
        .unwrap();
    for _ in 0..2 {
        world.age_token();
        let out = world.run(&budget);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_eq!(world.front.issued(), 5);
    assert_ne!(
        version(&replica),
        version(primary),
        "the replica saw the last commits"
    );
    // Failover: the replica is promoted and the fleet pointed at it. Its record counts 3 of
    // LINE's 5 live tokens; every run wants a new token.
    let () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut replica.connection())
        .unwrap();
    let mut codes = Vec::new();
    for _ in 0..3 {
        world.age_token_on(&replica);
        codes.push(world.run_on(&replica, &budget).status.code());
        assert!(
            world.front.issued() <= 5,
            "{} live v2.1 tokens at LINE, budget 5",
            world.front.issued()
        );
    }
    eprintln!(
        "after the failover: {codes:?}, {} issued",
        world.front.issued()
    );
    assert_eq!(world.front.issued(), 5);
}
