//! A minimal HTTP/1.1 server on std that puts the sans-IO emulator on a loopback socket.
//! Just enough HTTP for token clients: Content-Length bodies, keep-alive, bounded sizes.
//!
//! A test tool, but people run it, so it holds up against a misbehaving client: at most
//! [`MAX_CONNECTIONS`] connection threads, a deadline for each whole request head and body (not
//! each read, which a client trickling one byte at a time would reset forever) and for each
//! whole response (a client that never reads would otherwise hold its thread forever), no body
//! without one Content-Length, and no panic when a thread cannot be started. When every place
//! is taken, a new connection is served and the one that has waited longest for a request
//! (idle, or sending slowly) is cut: idle connections cannot lock anyone out.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use line_channel_token::emulator::Emulator;
use line_channel_token::UnixTime;

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;
/// Connections served at once; a new one beyond them replaces the longest-waiting one.
pub const MAX_CONNECTIONS: usize = 64;
/// The time a client has to send one whole request (head and body) from when the
/// connection opens or its previous answer is sent, and to take one whole response.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// Where "now" comes from for a served emulator.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| UnixTime::from(SystemTime::now()))
}

/// Sees every request the emulator answered, with its answer (`line-emulator --log`).
pub type Observe =
    Arc<dyn Fn(UnixTime, &http::Request<Vec<u8>>, &http::Response<Vec<u8>>) + Send + Sync>;

/// Binds `127.0.0.1:port` (0 picks a free port) and serves `emulator` on background threads.
pub fn serve(
    emulator: Arc<Mutex<Emulator>>,
    port: u16,
    clock: Clock,
) -> std::io::Result<SocketAddr> {
    serve_observed(emulator, port, clock, Arc::new(|_, _, _| {}))
}

/// [`serve`], calling `observe` with each request the emulator answered and its answer.
pub fn serve_observed(
    emulator: Arc<Mutex<Emulator>>,
    port: u16,
    clock: Clock,
    observe: Observe,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let addr = listener.local_addr()?;
    let open = Arc::new(Mutex::new(Open::default()));
    std::thread::Builder::new()
        .name("http-accept".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let Some(slot) = Slot::take(&open, &stream) else {
                    continue; // every place is answering: dropping the stream closes it
                };
                let emulator = Arc::clone(&emulator);
                let clock = Arc::clone(&clock);
                let observe = Arc::clone(&observe);
                // If no thread can be started, the closure (and the stream and slot in it) is
                // dropped: the connection closes and the server carries on.
                let _ = std::thread::Builder::new().spawn(move || {
                    let _ = serve_connection(stream, &emulator, &clock, &observe, &slot);
                });
            }
        })?;
    Ok(addr)
}

/// The connections being served: a handle to cut each, and since when it has waited for
/// its next request (`None` while it is being answered).
#[derive(Default)]
struct Open {
    next: u64,
    conns: BTreeMap<u64, (TcpStream, Option<Instant>)>,
}

/// One of the [`MAX_CONNECTIONS`] places, given back on drop.
struct Slot {
    open: Arc<Mutex<Open>>,
    id: u64,
}

impl Slot {
    /// A place for `stream`, cutting the connection that has waited longest for a request if
    /// every place is taken; `None` if every place is busy answering.
    fn take(open: &Arc<Mutex<Open>>, stream: &TcpStream) -> Option<Slot> {
        let handle = stream.try_clone().ok()?;
        let mut o = open.lock().unwrap_or_else(|e| e.into_inner());
        if o.conns.len() >= MAX_CONNECTIONS {
            let oldest = o
                .conns
                .iter()
                .filter_map(|(id, (_, since))| since.map(|s| (s, *id)))
                .min()?;
            if let Some((cut, _)) = o.conns.remove(&oldest.1) {
                // Its thread's blocked read ends; its slot finds itself gone.
                let _ = cut.shutdown(Shutdown::Both);
            }
        }
        let id = o.next;
        o.next += 1;
        o.conns.insert(id, (handle, Some(Instant::now())));
        Some(Slot {
            open: Arc::clone(open),
            id,
        })
    }

    /// Marks the connection as waiting for a request (may be cut) or being answered.
    fn waiting(&self, waiting: bool) {
        let mut o = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, since)) = o.conns.get_mut(&self.id) {
            *since = waiting.then(Instant::now);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut o = self.open.lock().unwrap_or_else(|e| e.into_inner());
        o.conns.remove(&self.id);
    }
}

/// A stream whose reads (or writes) all end by one deadline, set per request.
struct Deadlined {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_write_timeout(Some(left))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

fn serve_connection(
    stream: TcpStream,
    emulator: &Mutex<Emulator>,
    clock: &Clock,
    observe: &Observe,
    slot: &Slot,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(Deadlined {
        stream: stream.try_clone()?,
        deadline: Instant::now() + REQUEST_DEADLINE,
    });
    let mut writer = Deadlined {
        stream,
        deadline: Instant::now(),
    };
    loop {
        // The whole of the next request, its head first, must arrive by the deadline, from
        // when the connection opened or the last answer went out: an idle connection is cut.
        slot.waiting(true);
        reader.get_mut().deadline = Instant::now() + REQUEST_DEADLINE;
        if reader.fill_buf()?.is_empty() {
            return Ok(());
        }
        let (request, close) = match read_request(&mut reader)? {
            Some(Ok(r)) => r,
            Some(Err(status)) => {
                writer.deadline = Instant::now() + REQUEST_DEADLINE;
                write_response(&mut writer, &plain(status), true)?;
                return Ok(());
            }
            None => return Ok(()),
        };
        slot.waiting(false);
        let now = clock();
        let response = match emulator.lock() {
            Ok(mut e) => e.handle(now, &request),
            Err(_) => plain(500),
        };
        observe(now, &request, &response);
        writer.deadline = Instant::now() + REQUEST_DEADLINE;
        write_response(&mut writer, &response, close)?;
        if close {
            return Ok(());
        }
    }
}

fn plain(status: u16) -> http::Response<Vec<u8>> {
    let mut r = http::Response::new(Vec::new());
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    r
}

type Parsed = Result<(http::Request<Vec<u8>>, bool), u16>;

/// One request, `None` at a clean end of stream, `Some(Err(status))` for a malformed one.
fn read_request(reader: &mut BufReader<Deadlined>) -> std::io::Result<Option<Parsed>> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take((MAX_HEAD + 1) as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(if head.is_empty() {
                None
            } else {
                Some(Err(400))
            });
        }
        if head.is_empty() && (line == b"\r\n" || line == b"\n") {
            continue; // tolerate stray blank lines between requests
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Ok(Some(Err(431)));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    let Ok(text) = std::str::from_utf8(&head) else {
        return Ok(Some(Err(400)));
    };
    let mut lines = text.lines();
    let mut start = lines.next().unwrap_or("").split_whitespace();
    let (Some(method), Some(target), Some(version)) = (start.next(), start.next(), start.next())
    else {
        return Ok(Some(Err(400)));
    };
    let mut builder = http::Request::builder().method(method).uri(target);
    let mut length = None;
    let mut close = version == "HTTP/1.0";
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Ok(Some(Err(400)));
        };
        // `Content-Length :` (or a folded line) is not Content-Length here, but may be to a
        // proxy in front: the body would frame differently for the two. RFC 9112 says 400.
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Ok(Some(Err(400)));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            if length.is_some() {
                return Ok(Some(Err(400))); // two lengths: which one frames the body?
            }
            match value.parse() {
                Ok(n) if n <= MAX_BODY => length = Some(n),
                Ok(_) => return Ok(Some(Err(413))),
                Err(_) => return Ok(Some(Err(400))),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Ok(Some(Err(501)));
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
        builder = builder.header(name, value);
    }
    let length = match length {
        Some(n) => n,
        // A body without a length cannot be framed: refuse it rather than guess.
        None if matches!(method, "POST" | "PUT" | "PATCH") => return Ok(Some(Err(411))),
        None => 0,
    };
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(
        builder.body(body).map(|r| (r, close)).map_err(|_| 400),
    ))
}

fn write_response(
    w: &mut Deadlined,
    r: &http::Response<Vec<u8>>,
    close: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        r.status().as_u16(),
        r.status().canonical_reason().unwrap_or("")
    );
    for (name, value) in r.headers() {
        out.push_str(&format!("{}: {}\r\n", name, value.to_str().unwrap_or("")));
    }
    out.push_str(&format!("content-length: {}\r\n", r.body().len()));
    out.push_str(if close {
        "connection: close\r\n\r\n"
    } else {
        "connection: keep-alive\r\n\r\n"
    });
    w.write_all(out.as_bytes())?;
    w.write_all(r.body())?;
    w.flush()
}
