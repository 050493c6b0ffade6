//! The Redis round trips a `line-token token --store` fetch costs on a hit (goal 1), and its
//! time on loopback, against a redis-server started here:
//!
//! ```text
//! cargo run --release -p line-token --example store_round_trips
//! ```
//!
//! Prints `store_round_trips_per_hit: X.XX` (each read brings the store's `TIME` along), or says why it could not run (no redis-server on
//! PATH). The rest of the fleet figures (`store::decide`, decoding) are in the library's
//! `cargo run --release --example bench`.

use std::process::Command;
use std::time::{Duration, Instant};

use line_channel_token::store::{self, OwnerId, StoreConfig};
use line_channel_token::{IssuedToken, TokenKind};
use support::redis_store;

fn main() {
    let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))
        .expect("valid");
    let me = OwnerId::new(7);
    let token: IssuedToken =
        serde_json::from_str(r#"{"access_token":"eyJhbGciOiJIUz.....","expires_in":900}"#)
            .expect("token json");
    let Some(server) = TestRedis::start() else {
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
    println!("first fetch (read, take, read, LINE, read, commit) {miss} Redis round trips");
    println!(
        "token fetch on a hit (loopback Redis) {:>8}",
        format!("{:.2} µs", per_hit.as_nanos() as f64 / 1e3)
    );
    println!("store_round_trips_per_hit: {trips:.2}");
}

/// A throwaway redis-server on a free loopback port, killed on drop.
struct TestRedis {
    child: std::process::Child,
    port: u16,
}

impl TestRedis {
    fn start() -> Option<TestRedis> {
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
        let server = TestRedis { child, port };
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

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
