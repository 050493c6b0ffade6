//! A refusal stays with the credential that got it, and what the fleet tells a waiting process
//! is true on a skewed machine: a process with a wrong key under the right `kid` does not
//! pause the processes with the right key, and the "tries again" time of a refusal is counted
//! from the store's clock, not the machine's (under `faketime`). A real `redis-server`,
//! `line-emulator` behind a counting front, and `line-token` runs, one after another.

mod common;

use std::process::{Command, Output, Stdio};

use common::line_front::LineFront;
use common::redis_server::RedisServer;
use common::{EmulatorProcess, Scratch, LINE_TOKEN};

const CHANNEL: &str = "1234567890";
const SECRET: &str = "scope-s3cret";

struct World {
    dir: Scratch,
    _line: EmulatorProcess,
    front: LineFront,
    redis: RedisServer,
    kid: String,
}

impl World {
    /// LINE knows the key in `right.jwk.json` (under `kid`); `wrong.jwk.json` is another key.
    fn new(name: &str) -> World {
        let redis = RedisServer::start();
        let dir = Scratch::new(name);
        dir.write("secret", SECRET);
        dir.write("wrong-secret", "not-the-secret");
        for key in ["right", "wrong"] {
            let keygen = Command::new(LINE_TOKEN)
                .arg("keygen")
                .arg("--private")
                .arg(dir.path(&format!("{key}.jwk.json")))
                .arg("--public")
                .arg(dir.path(&format!("{key}.public.jwk.json")))
                .output()
                .unwrap();
            assert_eq!(keygen.status.code(), Some(0), "{keygen:?}");
        }
        let public = dir.path("right.public.jwk.json");
        let line = EmulatorProcess::start(&[
            "--channel",
            &format!("{CHANNEL}:{SECRET}"),
            "--public-key",
            &public.to_string_lossy(),
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

    /// `line-token token --store` with `credential` (e.g. `--key FILE`), under `prefix` (e.g.
    /// `faketime -f +600s`) if given.
    fn run(&self, prefix: &[&str], credential: &[&str]) -> Output {
        let (program, args) = match prefix.split_first() {
            Some((p, rest)) => (*p, [rest, &[LINE_TOKEN]].concat()),
            None => (LINE_TOKEN, Vec::new()),
        };
        Command::new(program)
            .args(args)
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
            .args(credential)
            .args(["--store", &self.redis.url()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    fn key(&self, which: &str) -> Output {
        let file = self.dir.path(&format!("{which}.jwk.json"));
        let file = file.to_string_lossy();
        self.run(&[], &["--kid", &self.kid, "--key", &file])
    }

    fn secret(&self, prefix: &[&str], which: &str) -> Output {
        let file = self.dir.path(which);
        self.run(prefix, &["--channel-secret-file", &file.to_string_lossy()])
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
fn a_wrong_key_under_the_right_kid_does_not_pause_the_right_key() {
    let world = World::new("scope-key");
    let wrong = world.key("wrong");
    assert_eq!(wrong.status.code(), Some(1), "{}", stderr(&wrong));
    assert_eq!(world.front.issued(), 0);
    // The same wrong key again: the fleet's refusal stands for it, LINE is not asked.
    let again = world.key("wrong");
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("LINE refused the fleet's last refresh"),
        "{}",
        stderr(&again)
    );
    // The right key under the same kid issues at once.
    let right = world.key("right");
    assert_eq!(right.status.code(), Some(0), "{}", stderr(&right));
    assert!(!String::from_utf8_lossy(&right.stdout).trim().is_empty());
    assert_eq!(world.front.issued(), 1);
}

/// The minutes of "(in N min)" in a "tries again" message, or the whole message.
fn minutes_until(message: &str) -> Result<u64, String> {
    let after = message
        .split("tries again ")
        .nth(1)
        .ok_or_else(|| message.to_owned())?;
    let relative = after
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(r, _)| r)
        .ok_or_else(|| message.to_owned())?;
    relative
        .strip_prefix("in ")
        .and_then(|r| r.strip_suffix(" min"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| message.to_owned())
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
#[cfg_attr(no_faketime, ignore = "needs faketime: apt-get install faketime")]
fn the_time_a_refused_fleet_tries_again_is_told_by_the_stores_clock() {
    let world = World::new("scope-when");
    let first = world.secret(&[], "wrong-secret");
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    // LINE's refusal pauses this credential for 5 minutes of the store's time: a machine 10
    // minutes ahead or behind must say so too ("in 4 min" or "in 5 min", not "5 min ago" or
    // "in 15 min").
    for offset in ["+600s", "-600s", "+0s"] {
        let out = world.secret(&["faketime", "-f", offset], "wrong-secret");
        assert_eq!(out.status.code(), Some(1), "{offset}: {}", stderr(&out));
        let minutes = minutes_until(&stderr(&out)).unwrap_or_else(|m| panic!("{offset}: {m}"));
        assert!((3..=5).contains(&minutes), "{offset}: {}", stderr(&out));
    }
    assert_eq!(world.front.issued(), 0);
}
