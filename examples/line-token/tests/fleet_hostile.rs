//! `line-token token --store` against a hostile or broken store (review 17): a planted huge
//! `version` is never transferred, a store that dribbles its answers is given up on after an
//! overall deadline, an access token or a short password the store echoes in an error is not
//! shown, a store URL given without `--store` is not echoed with its password, and a token
//! that expired during the call is a retryable failure with a sentence, not a type name. A
//! real `redis-server` where one helps, else the fake RESP server (`common/fake_resp.rs`).

mod common;

use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::cli::{line_token, stderr, CHANNEL, SECRET};
use common::fake_resp::{Drip, Fake};
use common::redis_server::RedisServer;
use common::{DeadPort, EmulatorProcess};

/// `line-token token --store URL` for the channel (by its secret), LINE at `api`.
fn run(url: &str, api: &str, more: &[&str]) -> Output {
    let mut args = vec!["--api-base", api, "token", "--channel-id", CHANNEL];
    args.extend(["--store", url]);
    args.extend(more);
    line_token(&args, &[("LINE_CHANNEL_SECRET", SECRET)])
}

fn dead_line() -> (DeadPort, String) {
    let port = DeadPort::new();
    let url = format!("http://{}:{}", DeadPort::HOST, port.port);
    (port, url)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bulk(text: Option<&str>) -> String {
    match text {
        Some(t) => format!("${}\r\n{t}\r\n", t.len()),
        None => "$-1\r\n".to_owned(),
    }
}

/// The read script's answer: the store's time, the version and the record.
fn read_answer(secs: u64, version: u64, record: Option<&str>) -> Vec<u8> {
    let v = (version > 0).then(|| version.to_string());
    format!(
        "*6\r\n{}$1\r\n0\r\n{}{}:{}\r\n:{}\r\n",
        bulk(Some(&secs.to_string())),
        bulk(v.as_deref()),
        bulk(record),
        record.map_or(0, str::len),
        v.as_deref().map_or(0, str::len),
    )
    .into_bytes()
}

/// `total_net_output_bytes` of a real server: what it has sent to all its clients.
fn output_bytes(server: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut server.connection())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_net_output_bytes:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn a_huge_version_is_refused_and_never_transferred() {
    let server = RedisServer::start();
    let key = format!("line-token:{CHANNEL}:stateless");
    let huge = "9".repeat(1_000_000);
    let () = redis::cmd("HSET")
        .arg(&key)
        .arg("version")
        .arg(&huge)
        .arg("record")
        .arg("{}")
        .query(&mut server.connection())
        .unwrap();
    let (_line, api) = dead_line();
    let before = output_bytes(&server);
    let out = run(&server.url(), &api, &[]);
    let sent = output_bytes(&server) - before;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("version"), "{err}");
    assert!(
        sent < 100_000,
        "the store sent {sent} bytes: the version was read"
    );
    let kept: usize = redis::cmd("HSTRLEN")
        .arg(&key)
        .arg("version")
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(kept, huge.len(), "the key was overwritten");
}

#[test]
fn a_store_that_dribbles_its_answers_is_given_up_on_at_a_deadline() {
    let (_line, api) = dead_line();
    let every = Duration::from_millis(400);
    // One byte every 0.4 s is far inside the 3 s socket timeout; an answer takes ~15 s.
    for drip in [Drip::Eval(every), Drip::All(every)] {
        let fake = Fake::dripping(drip, |_, _, _| Some(read_answer(unix_now(), 0, None)));
        let started = Instant::now();
        let out = run(&fake.url(), &api, &[]);
        let took = started.elapsed();
        let err = stderr(&out);
        assert!(took < Duration::from_secs(10), "took {took:?}: {err}");
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("did not answer within 3 s"), "{err}");
    }
}

#[test]
fn a_token_the_store_echoes_in_an_error_is_never_shown() {
    let (_line, api) = dead_line();
    // A token due for a refresh (800 s of its 900 s gone): the fetch takes a lease, whose
    // write carries the token, and the store's error quotes that write. Also with the store's
    // clock 1000 s behind and a failure noted 5 s ago: the library then decides at the
    // record's own latest time, and keeps a token issued "after" the store's now.
    let now = unix_now() * 1000;
    let token = "SHAREDtokenSECRETzzzzyyyyxxxxwwwwvvvv";
    for (behind, failure) in [
        (0, String::new()),
        (
            1000,
            format!(
                r#","failure":{{"count":1,"at":{},"retry_at":{},"retryable":true}}"#,
                now - 5_000,
                now - 5_000
            ),
        ),
    ] {
        let record = format!(
            r#"{{"format":"line-channel-token/store/v2","kind":"stateless","channel":"{CHANNEL}","token":{{"access_token":"{token}","issued_at":{},"expires_at":{}}}{failure}}}"#,
            now - 800_000,
            now + 100_000
        );
        let fake = Fake::start(move |command, _, _| {
            Some(if command[1].contains("HSTRLEN") {
                read_answer(unix_now() - behind, 5, Some(&record))
            } else {
                let body = command.get(6).cloned().unwrap_or_default();
                format!("-ERR cannot apply {}\r\n", body.replace(['\r', '\n'], " ")).into_bytes()
            })
        });
        let out = run(&fake.url(), &api, &[]);
        let err = stderr(&out);
        assert!(
            err.contains("cannot apply"),
            "{behind} s behind, the store's error: {err}"
        );
        for piece in ["SHAREDtoken", "zzzzyyyy", "xxxxwwwwvvvv"] {
            assert!(
                !err.contains(piece),
                "{behind} s behind, {piece} shown: {err}"
            );
        }
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_store_url_given_without_store_is_not_echoed_with_its_password() {
    let url = "redis://:s3cretpw99@127.0.0.1:6379/0";
    for args in [
        vec!["token", url],
        vec![url],
        vec!["help", "token", url],
        vec!["token", "--channel-id", CHANNEL, url],
    ] {
        let out = line_token(&args, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("s3cretpw99"), "{args:?}: {err}");
        assert!(!err.contains("s3cr"), "{args:?}: {err}");
    }
    let err = stderr(&line_token(&["token", url], &[]));
    assert!(err.contains("127.0.0.1:6379/0"), "{err}");
    assert!(err.contains("after --store"), "{err}");
}

#[test]
fn a_short_password_the_store_echoes_is_not_shown() {
    let (_line, api) = dead_line();
    let echoing = Fake::start(|_, _, earlier| {
        Some(format!("-ERR you sent {}\r\n", earlier.join(" ")).into_bytes())
    });
    for password in ["ab12", "x", "pw5ch"] {
        let url = format!("redis://:{password}@127.0.0.1:{}/0", echoing.port);
        let out = run(&url, &api, &[]);
        let err = stderr(&out);
        assert!(err.contains("you sent AUTH"), "{err}");
        let words: Vec<&str> = err.split(|c: char| !c.is_alphanumeric()).collect();
        assert!(!words.contains(&password), "{password} shown: {err}");
    }
}

/// A store in memory that runs both scripts, its `TIME` `jump` seconds ahead from the third
/// read on (the read after the call to LINE).
fn jumping_store(jump: u64) -> Fake {
    let state = Arc::new(Mutex::new((0u64, None::<String>, 0u32)));
    Fake::start(move |command, _, _| {
        let mut state = state.lock().unwrap();
        let (version, record, reads) = &mut *state;
        Some(if command[1].contains("HSTRLEN") {
            *reads += 1;
            let secs = unix_now() + if *reads >= 3 { jump } else { 0 };
            read_answer(secs, *version, record.as_deref())
        } else if command[4] == version.to_string() {
            *version = command[5].parse().unwrap();
            *record = Some(command[6].clone());
            b":1\r\n".to_vec()
        } else {
            b":0\r\n".to_vec()
        })
    })
}

#[test]
fn a_token_that_expired_during_the_call_is_a_retryable_failure_told_in_words() {
    let line = EmulatorProcess::start(&["--channel", &format!("{CHANNEL}:{SECRET}")]);
    // The call to LINE "took" 1000 s by the store's clock: the stateless token (900 s) it
    // brought back has expired.
    let store = jumping_store(1000);
    let out = run(&store.url(), &line.base, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("StoreFailed"), "{err}");
    assert!(
        err.contains("had expired") && err.contains("try again"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn small_refusals_say_what_to_do() {
    let (_line, api) = dead_line();
    let out = run("redis://127.0.0.1:6379/0", &api, &["--store-lease", "1"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("clock skew") && err.contains("3 s or more"),
        "{err}"
    );
    assert!(!err.contains("outside"), "{err}");
    let out = run("redis://:p@ss/w#rd@127.0.0.1:6379/0", &api, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("%2F %23"), "{err}");
    assert!(!err.contains("w#rd"), "{err}");
}

#[test]
#[cfg_attr(
    no_redis_server,
    ignore = "needs redis-server: apt-get install redis-server"
)]
fn rediss_against_a_plain_text_redis_says_so() {
    let server = RedisServer::start();
    let (_line, api) = dead_line();
    let url = format!("rediss://127.0.0.1:{}/0", server.port);
    let out = run(&url, &api, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("is it a TLS port?"), "{err}");
}
