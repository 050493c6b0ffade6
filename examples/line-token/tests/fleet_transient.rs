//! Redis's passing states and redirects, at the fleet adapter (`support::redis_store`): a
//! `MOVED` is followed to the node that now serves the key (and stays there), an `ASK` is
//! followed once with `ASKING`, both only to another port of the URL's host (a redirect to
//! another host is refused), and `LOADING`, `TRYAGAIN`, a second redirect and a reset
//! connection are errors worth retrying (exit 3 in the CLI). `READONLY` comes from a real
//! replica (`fleet_faults.rs`); the other states are hard to catch on a real server, so a tiny
//! fake RESP server on 127.0.0.1 answers here, in front of a real `redis-server` where one
//! helps. The fake also echoes a URL's password back, which `line-token` never shows.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::fake_resp::Fake;
use common::redis_server::RedisServer;
use common::{DeadPort, Scratch, LINE_TOKEN};
use line_channel_token::TokenKind;
use support::redis_store::{self, RedisStore};

/// The read script's answer for an absent key at this Unix time.
fn absent_at(secs: u64) -> Vec<u8> {
    format!(
        "*6\r\n${}\r\n{secs}\r\n$1\r\n0\r\n$-1\r\n$-1\r\n:0\r\n:0\r\n",
        secs.to_string().len()
    )
    .into_bytes()
}

fn key() -> String {
    redis_store::key("transient", "1234567890", TokenKind::Stateless)
}

fn read_error(url: &str) -> redis::RedisError {
    let mut store = RedisStore::connect(url, key()).unwrap_or_else(|e| panic!("{e}"));
    match store.read() {
        Ok(r) => panic!("read {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn loading_tryagain_a_second_redirect_and_a_reset_are_worth_retrying() {
    let loading = Fake::start(|_, _, _| {
        Some(b"-LOADING Redis is loading the dataset in memory\r\n".to_vec())
    });
    let tryagain = Fake::start(|_, _, _| {
        Some(b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n".to_vec())
    });
    let reset = Fake::start(|_, _, _| None);
    // A node that redirects to itself: the one redirect followed, the second is the error.
    let looping = Arc::new(Mutex::new(0u16));
    let port = looping.clone();
    let moved = Fake::start(move |_, _, _| {
        let port = *port.lock().unwrap();
        Some(format!("-MOVED 866 127.0.0.1:{port}\r\n").into_bytes())
    });
    *looping.lock().unwrap() = moved.port;
    for (fake, what) in [
        (&loading, "LOADING"),
        (&tryagain, "TRYAGAIN"),
        (&reset, "a reset connection"),
        (&moved, "MOVED twice"),
    ] {
        let e = read_error(&fake.url());
        assert!(
            redis_store::is_unreachable(&e),
            "{what}: {e} ({:?})",
            e.kind()
        );
    }
    assert_eq!(moved.evals(), 2, "one redirect followed, not more");
    // The control: an error that is not passing is not called so.
    let refused = Fake::start(|_, _, _| Some(b"-NOSCRIPT No matching script\r\n".to_vec()));
    let e = read_error(&refused.url());
    assert!(!redis_store::is_unreachable(&e), "{e}");
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn moved_is_followed_to_the_node_that_serves_the_key_and_stays_there() {
    let real = RedisServer::start();
    let target = real.port;
    let old_node =
        Fake::start(move |_, _, _| Some(format!("-MOVED 866 127.0.0.1:{target}\r\n").into_bytes()));
    let mut store = RedisStore::connect(&old_node.url(), key()).unwrap();
    let first = store.read().expect("MOVED followed");
    assert_eq!(first.version, 0);
    let () = redis::cmd("HSET")
        .arg(key())
        .arg("version")
        .arg("7")
        .arg("record")
        .arg("{}")
        .query(&mut real.connection())
        .unwrap();
    let second = store.read().unwrap();
    assert_eq!(second.version, 7, "read from the node the key moved to");
    assert_eq!(old_node.evals(), 1, "the store stayed on the new node");
}

#[test]
fn a_redirect_to_another_host_is_refused_not_followed() {
    // The node a redirect names, on 127.0.0.1; the URL names its host `localhost`, which
    // resolves there too but is not the same host name (so a certificate for it would not
    // vouch for the other).
    let elsewhere = Fake::start(|_, _, _| Some(absent_at(1_700_000_000)));
    let target = elsewhere.port;
    for kind in ["MOVED", "ASK"] {
        let node = Fake::start(move |_, _, _| {
            Some(format!("-{kind} 866 127.0.0.1:{target}\r\n").into_bytes())
        });
        let url = format!("redis://user:pass-word@localhost:{}/0", node.port);
        let e = read_error(&url);
        assert!(!redis_store::is_unreachable(&e), "{kind}: {e}");
        assert!(e.to_string().contains("another host"), "{kind}: {e}");
        assert_eq!(node.evals(), 1, "{kind}");
    }
    assert_eq!(
        elsewhere.evals(),
        0,
        "a redirect to another host was followed"
    );
}

#[test]
fn ask_is_followed_once_with_asking() {
    // The importing node answers only after ASKING, as a cluster node does.
    let importing = Fake::start(|_, asked, _| {
        Some(if asked {
            absent_at(1_700_000_000)
        } else {
            b"-ERR ASKING was not sent\r\n".to_vec()
        })
    });
    let target = importing.port;
    let owner =
        Fake::start(move |_, _, _| Some(format!("-ASK 866 127.0.0.1:{target}\r\n").into_bytes()));
    let mut store = RedisStore::connect(&owner.url(), key()).unwrap();
    for n in 1..=2 {
        let read = store.read().expect("ASK followed");
        assert_eq!(read.now.as_millis(), 1_700_000_000_000);
        assert_eq!(
            owner.evals(),
            n,
            "ASK is for one command: the next asks the owner again"
        );
    }
    assert_eq!(importing.evals(), 2);
}

/// A password holding ':' as written and as `%3A`: all of the user info after its first ':'
/// is the password, and the client sends it percent-decoded.
const PASSWORD: &str = "alpha-part-one:bravo-part-two%3Acharlie-three";

#[test]
fn no_part_of_a_password_with_colons_is_shown_when_the_store_echoes_or_is_gone() {
    let dir = Scratch::new("transient-password");
    dir.write("secret", "transient-s3cret");
    let no_line = DeadPort::new();
    let line = format!("http://{}:{}", DeadPort::HOST, no_line.port);
    // A store that echoes what the client sent it (its AUTH, the password decoded) in an
    // error, and one where nothing listens.
    let echoing = Fake::start(|_, _, earlier| {
        Some(format!("-ERR you sent {}\r\n", earlier.join(" ")).into_bytes())
    });
    let gone = DeadPort::new();
    for (host, port, echoes) in [
        ("127.0.0.1", echoing.port, true),
        (DeadPort::HOST, gone.port, false),
    ] {
        let url = format!("redis://fleet-user:{PASSWORD}@{host}:{port}/0");
        let out = Command::new(LINE_TOKEN)
            .env_clear()
            .args(["--api-base", &line, "token", "--channel-id", "1234567890"])
            .arg("--channel-secret-file")
            .arg(dir.path("secret"))
            .args(["--store", &url])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(matches!(out.status.code(), Some(2 | 3)), "{stderr}");
        assert!(out.stdout.is_empty());
        assert_eq!(stderr.contains("you sent AUTH"), echoes, "{stderr}");
        for part in ["alpha", "bravo", "charlie", "part", "three"] {
            assert!(!stderr.contains(part), "{part} shown: {stderr}");
        }
    }
}
