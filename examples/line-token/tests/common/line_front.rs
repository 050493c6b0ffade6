//! A front for `line-emulator` that counts the token issuances reaching LINE, and can stall
//! them (as a LINE that stops answering would) so a test can kill a process mid-refresh, or
//! fail them with a 500, or pass them to LINE and answer 502 (a gateway that lost LINE's
//! answer).
//! Every other byte passes through unchanged.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const ISSUE_PATHS: &[&str] = &[
    "/oauth2/v3/token",
    "/v2/oauth/accessToken",
    "/oauth2/v2.1/token",
];

#[derive(Default)]
pub struct Counters {
    /// Issuances LINE answered with 200.
    pub issued: AtomicU64,
    /// Issuance requests held back while stalling.
    pub stalled: AtomicU64,
    /// While set, issuance requests get no answer.
    pub stall: AtomicBool,
    /// While set, issuance requests get a 500 (counted in `failed`).
    pub fail: AtomicBool,
    pub failed: AtomicU64,
    /// While set, an issuance LINE answered is held back from the caller (LINE issued, the
    /// answer is late), counted in `held`.
    pub hold: AtomicBool,
    pub held: AtomicU64,
    /// While set, an issuance LINE answered is answered 502 instead (LINE issued, a gateway
    /// lost the answer), counted in `gateway_failed`.
    pub gateway: AtomicBool,
    pub gateway_failed: AtomicU64,
}

pub struct LineFront {
    pub base: String,
    pub counters: Arc<Counters>,
}

impl LineFront {
    pub fn start(upstream: &str) -> LineFront {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("emulator address");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counters = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = relay(client, upstream, &counters);
                });
            }
        });
        LineFront { base, counters }
    }

    pub fn issued(&self) -> u64 {
        self.counters.issued.load(Ordering::SeqCst)
    }
}

/// One HTTP/1.1 message: head and Content-Length body. `None` at end of stream.
fn read_message(reader: &mut impl BufRead) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some((head, body)))
}

fn relay(client: TcpStream, upstream: SocketAddr, counters: &Counters) -> std::io::Result<()> {
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let server = TcpStream::connect(upstream)?;
    let mut from_server = BufReader::new(server.try_clone()?);
    let mut to_server = server;
    while let Some((head, body)) = read_message(&mut from_client)? {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        // Exactly an issuing path: `/oauth2/v2.1/tokens/kid` (the listing) issues nothing.
        let route = path.split('?').next().unwrap_or_default();
        let issuing = ISSUE_PATHS.contains(&route);
        if issuing && counters.stall.load(Ordering::SeqCst) {
            counters.stalled.fetch_add(1, Ordering::SeqCst);
            // No answer until the caller gives up or is killed (it closes the connection).
            std::thread::sleep(Duration::from_secs(60));
            return Ok(());
        }
        if issuing && counters.fail.load(Ordering::SeqCst) {
            counters.failed.fetch_add(1, Ordering::SeqCst);
            let body = r#"{"message":"Internal server error"}"#;
            write!(
                to_client,
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )?;
            continue;
        }
        to_server.write_all(head.as_bytes())?;
        to_server.write_all(&body)?;
        let Some((answer, answer_body)) = read_message(&mut from_server)? else {
            return Ok(());
        };
        if issuing && answer.starts_with("HTTP/1.1 200") {
            counters.issued.fetch_add(1, Ordering::SeqCst);
            if counters.hold.load(Ordering::SeqCst) {
                counters.held.fetch_add(1, Ordering::SeqCst);
                while counters.hold.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
        if issuing && counters.gateway.load(Ordering::SeqCst) {
            counters.gateway_failed.fetch_add(1, Ordering::SeqCst);
            let body = "<html>502 Bad Gateway</html>";
            write!(
                to_client,
                "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )?;
            continue;
        }
        to_client.write_all(answer.as_bytes())?;
        to_client.write_all(&answer_body)?;
    }
    Ok(())
}
