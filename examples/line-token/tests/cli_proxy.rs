//! The proxy variables (README, "The `line-token` command line"): `line-token` reaches LINE
//! through the first of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` set, reaches `NO_PROXY` hosts
//! directly, and refuses a variable it cannot use rather than going around the proxy.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use common::cli::*;
use common::EmulatorProcess;

const ISSUED: &str =
    r#"{"access_token":"proxied-token","expires_in":2592000,"token_type":"Bearer"}"#;

/// An HTTP CONNECT proxy on 127.0.0.1 that plays LINE inside the tunnel for one connection,
/// and keeps the CONNECT line it was sent.
struct ConnectProxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let connect = read_head(&mut s);
            log.lock()
                .unwrap()
                .push(connect.lines().next().unwrap_or("").to_owned());
            let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            // The whole request, body included: a socket closed with bytes unread is reset,
            // and the reset can reach the client before the answer does.
            let head = read_head(&mut s);
            let _ = s.read_exact(&mut vec![0; content_length(&head)]);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{ISSUED}",
                ISSUED.len()
            );
        });
        ConnectProxy {
            url,
            seen,
            thread: Some(thread),
        }
    }

    /// The CONNECT lines received, once the one connection is over.
    fn seen(mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        self.seen.lock().unwrap().clone()
    }
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Reads up to the end of a request head.
fn read_head(s: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
        buf.push(byte[0]);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn the_first_proxy_variable_set_carries_the_request() {
    let line = dead_base(); // LINE itself is unreachable: only the proxy can answer
    let dead_proxy = dead_base();
    let proxy = ConnectProxy::start();
    let mut env = channel_env(&line).to_vec();
    env.extend([
        ("ALL_PROXY", proxy.url.as_str()),
        ("HTTP_PROXY", &dead_proxy),
    ]);
    let o = line_token(&["issue-short-lived"], &env);
    assert_eq!(ok_json(&o)["access_token"], "proxied-token");
    let host = line.strip_prefix("http://").unwrap();
    assert_eq!(proxy.seen(), [format!("CONNECT {host} HTTP/1.1")]);
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let server = EmulatorProcess::start(&["--channel", &format!("{CHANNEL}:{SECRET}")]);
    let dead_proxy = dead_base();
    let mut env = channel_env(&server.base).to_vec();
    env.extend([("HTTPS_PROXY", &*dead_proxy), ("NO_PROXY", "127.0.0.1")]);
    let o = line_token(&["issue-short-lived"], &env);
    assert_eq!(ok_json(&o)["expires_in"], 2592000);
}

#[test]
fn a_proxy_variable_it_cannot_use_stops_the_run_instead_of_going_around_it() {
    // LINE answers directly: before, ureq skipped these variables (or, without its SOCKS
    // support, connected directly) and the run succeeded around the proxy.
    let server = EmulatorProcess::start(&["--channel", &format!("{CHANNEL}:{SECRET}")]);
    for (var, value, says) in [
        (
            "ALL_PROXY",
            "socks5://user:pr0xy-pw@127.0.0.1:1080",
            "SOCKS",
        ),
        ("HTTPS_PROXY", "not a url", "not a proxy URL"),
        ("http_proxy", "http://user:pr0xy-pw@[::1", "not a proxy URL"),
    ] {
        let mut env = channel_env(&server.base).to_vec();
        env.push((var, value));
        let err = failed(&line_token(&["issue-short-lived"], &env), 2);
        assert!(
            err.contains(&format!("${var}")) && err.contains(says),
            "{err}"
        );
        assert!(!err.contains("pr0xy-pw") && !err.contains(value), "{err}");
    }
    // Commands that never reach LINE do not care.
    let o = command(&["public-jwk"], &[("ALL_PROXY", "socks5://127.0.0.1:1080")])
        .env("LINE_PRIVATE_KEY", common::PYJWT_DOCS_KEY)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
