//! The fleet store: the decision on a hit, and Redis round trips per token fetch.

use std::process::Command;
use std::time::{Duration, Instant};

use line_channel_token::*;

use crate::{fmt, redis_store, time};

/// The fleet's store protocol: `store::decide` on a hit (goal <= 1 µs), and the Redis round
/// trips a token fetch costs on a hit (goal 1), against a redis-server started here.
pub(crate) fn fleet_store(budget: Duration) {
    use line_channel_token::store::{decide, Decision, OwnerId, Record, StoreConfig};

    println!("\n== fleet store ==");
    let config = StoreConfig::new(TokenKind::Stateless, Duration::from_secs(900)).expect("valid");
    let now = UnixTime::from_secs(1_700_000_000);
    let me = OwnerId::new(7);
    let Decision::TakeLease(lease) = decide(&Record::empty(TokenKind::Stateless), now, me, &config)
    else {
        unreachable!("an empty record is taken")
    };
    let token: IssuedToken =
        serde_json::from_str(r#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":900}"#)
            .expect("token json");
    let commit = lease
        .record()
        .commit(now, me, now, &token, &config)
        .expect("the holder commits");
    let body = commit.body();
    let (record, _) = Record::from_store(commit.new_version(), Some(body.as_bytes()), now, &config)
        .expect("the fleet's own record");
    let hit = time(budget, || {
        matches!(
            decide(&record, now, OwnerId::new(8), &config),
            Decision::Serve(_)
        )
    });
    println!("store::decide on a hit        {:>12}", fmt(hit));
    println!("store_decide_hit_ns: {}", hit.as_nanos());
    let decode = time(budget, || {
        Record::from_store(commit.new_version(), Some(body.as_bytes()), now, &config)
    });
    println!("Record::from_store (decode)   {:>12}", fmt(decode));

    let Some(server) = RedisForBench::start() else {
        println!("store_round_trips_per_hit: unavailable (no redis-server on PATH)");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let key = redis_store::key("bench", "1234567890", TokenKind::Stateless);
    let Ok(mut store) = redis_store::RedisStore::connect(&url, key) else {
        println!("store_round_trips_per_hit: unavailable (redis-server did not answer)");
        return;
    };
    let fetch = |store: &mut redis_store::RedisStore| {
        let mut line = redis_store::Line(
            |_| Ok::<_, (store::Failure, ())>(token.clone()),
            |_| Ok(Vec::new()),
        );
        redis_store::fetch(store, &config, me, Duration::from_secs(1), &mut line).is_ok()
    };
    let before = store.round_trips;
    assert!(fetch(&mut store), "the first fetch issues");
    let miss = store.round_trips - before;
    let before = store.round_trips;
    let hits = 200u64;
    let start = Instant::now();
    for _ in 0..hits {
        assert!(fetch(&mut store), "hits");
    }
    let per_hit = start.elapsed() / hits as u32;
    let trips = (store.round_trips - before) as f64 / hits as f64;
    println!("first fetch (read, take, read, issue, read, commit) {miss} round trips");
    println!("token fetch on a hit (loopback Redis) {:>8}", fmt(per_hit));
    println!("store_round_trips_per_hit: {trips:.2}");
}

/// A throwaway redis-server on a free loopback port, killed on drop.
pub(crate) struct RedisForBench {
    child: std::process::Child,
    port: u16,
}

impl RedisForBench {
    fn start() -> Option<RedisForBench> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisForBench { child, port };
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }
}

impl Drop for RedisForBench {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
