//! What a crafted or corrupt Redis record, or a crafted `--store` URL, does to the fleet
//! adapter (`support::redis_store`, examples/support): an error in bounded time, never a hang, and
//! never a password in a message.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::redis_server::RedisServer;
use line_channel_token::store::{Failure, OwnerId, StoreConfig};
use line_channel_token::{IssuedToken, TokenKind};
use support::redis_store;

/// One fetch against whatever `version` and `record` the key holds, bounded by a timeout.
fn fetch_against(redis: &RedisServer, version: &str, record: &str) -> Result<String, String> {
    let key = redis_store::key("corrupt", "1234567890", TokenKind::Stateless);
    let mut conn = redis.connection();
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("version")
        .arg(version)
        .arg("record")
        .arg(record)
        .query(&mut conn)
        .unwrap();
    let mut store = redis_store::RedisStore::connect(&redis.url(), key).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let config =
            StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
        let mut line = redis_store::Line(
            |_| {
                let token: IssuedToken =
                    serde_json::from_str(r#"{"access_token":"fresh","expires_in":900}"#).unwrap();
                Ok::<_, (Failure, ())>(token)
            },
            |_| Ok(Vec::new()),
        );
        let result = redis_store::fetch(
            &mut store,
            &config,
            OwnerId::new(1),
            Duration::ZERO,
            &mut line,
        );
        let _ = tx.send(match result {
            Ok(fetched) => Ok(fetched.token.access_token.expose_secret().to_owned()),
            Err(redis_store::FetchError::Store(e)) => Err(e.to_string()),
            Err(e) => Err(format!("{e:?}")),
        });
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("version {version:?}: the fetch never returned"))
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_version_spelled_other_than_the_cas_writes_it_is_an_error_not_an_endless_retry() {
    let redis = RedisServer::start();
    // Parsed as numbers, these never compare equal to the string the compare-and-swap sends.
    for version in ["007", "+5", "00"] {
        let e = fetch_against(&redis, version, "garbage").unwrap_err();
        assert!(e.contains("not a number"), "{version}: {e}");
    }
    // The canonical spelling with a garbage body is refused, not overwritten: what it
    // counted cannot be known.
    let e = fetch_against(&redis, "7", "garbage").unwrap_err();
    assert!(e.contains("Unreadable"), "{e}");
}

#[test]
fn a_password_in_the_query_is_not_shown() {
    for url in [
        "unix:///run/redis.sock?pass=hunter2",
        "redis+unix:///run/redis.sock?db=0&pass=hunter2",
        "redis://127.0.0.1:1/0?password=hunter2",
        "redis://:hunter2@127.0.0.1:1/0#x",
        "redis://:hun?ter2@127.0.0.1:1/0",
        "redis://:hun#ter2@127.0.0.1:1/0",
    ] {
        let shown = redis_store::shown_url(url);
        assert!(!shown.contains("hun"), "{url} shown as {shown}");
        let e = match redis_store::RedisStore::connect(url, "k".into()) {
            Ok(_) => continue,
            Err(e) => e.to_string(),
        };
        assert!(!e.contains("hun"), "{url}: {e}");
    }
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_wrong_password_or_database_is_a_refusal_not_worth_retrying() {
    let redis = RedisServer::start();
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("right-pass")
        .query(&mut redis.connection())
        .unwrap();
    let port = redis.port;
    for url in [
        format!("redis://:wrong-pass@127.0.0.1:{port}/0"),
        format!("redis://:right-pass@127.0.0.1:{port}/99"),
    ] {
        match redis_store::RedisStore::connect(&url, "k".into()) {
            Err(redis_store::StoreError::Refused(m)) => {
                assert!(!m.contains("-pass"), "{url}: {m}");
            }
            Err(e) => panic!("{url}: {e:?} (exit 3 would make cron retry forever)"),
            Ok(_) => panic!("{url}: connected"),
        }
    }
}
