//! A fleet that cannot issue because of calls that failed and may have issued says so and
//! says what to do, against a real `redis-server`.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::line_front::LineFront;
use common::redis_server::RedisServer;
use common::{EmulatorProcess, Scratch, LINE_TOKEN};
use line_channel_token::store::{decide, Decision, Failure, OwnerId, Record, StoreConfig};
use line_channel_token::{TokenKind, UnixTime};

const CHANNEL: &str = "1234567890";
const SECRET: &str = "outage-s3cret";

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn thirty_failed_calls_that_may_have_issued_are_reported_with_what_to_do() {
    let redis = RedisServer::start();
    let dir = Scratch::new("outage");
    dir.write("secret", SECRET);
    let line = EmulatorProcess::start(&["--channel", &format!("{CHANNEL}:{SECRET}")]);
    let front = LineFront::start(&line.base);

    // In the last hour, 30 processes' calls got a gateway's 502 (LINE may have issued): the
    // record counts 30, LINE's own limit, so even the slack when down is used up.
    let config = StoreConfig::new(
        CHANNEL,
        TokenKind::ShortLived,
        Duration::from_secs(30 * 86_400),
    )
    .unwrap();
    let now = UnixTime::from(std::time::SystemTime::now());
    let mut record = Record::empty(&config);
    for i in 0..30u64 {
        let at = now - Duration::from_secs(3_600) + Duration::from_secs(i * 120);
        let me = OwnerId::new(i + 1);
        let Decision::TakeLease(take) = decide(&record, at, me, &config) else {
            panic!("try {i} could not take the lease");
        };
        let held = take.into_record();
        let release = held
            .release(at, me, Failure::answered(502), &config)
            .unwrap();
        record = Record::from_store(
            release.new_version(),
            Some(release.body().as_bytes()),
            at,
            &config,
        )
        .unwrap()
        .0;
    }
    assert_eq!(record.issued().len(), 30);
    let key = format!("line-token:{CHANNEL}:short-lived");
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("version")
        .arg(record.version().to_string())
        .arg("record")
        .arg(record.body())
        .query(&mut redis.connection())
        .unwrap();

    let out = Command::new(LINE_TOKEN)
        .env_clear()
        .env("HOME", dir.path("."))
        .args(["--api-base", &front.base, "token", "--channel-id", CHANNEL])
        .arg("--channel-secret-file")
        .arg(dir.path("secret"))
        .args(["--store", &redis.url(), "--type", "short-lived"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(front.issued(), 0, "LINE not called");
    for says in [
        "30 tokens out",
        "30 of them are from calls that failed and may have issued",
        &format!("delete the key {key} to reset the count"),
    ] {
        assert!(stderr.contains(says), "{says:?} not in {stderr}");
    }
    assert!(!stderr.contains(SECRET));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
