//! Helpers for the `line-token` tests: running it as a user would, and servers that play
//! LINE badly (a proxy echoing the request, a hostile error body).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::{DeadPort, EmulatorProcess, Scratch, LINE_TOKEN};

pub const CHANNEL: &str = "1234567890";
pub const SECRET: &str = "cli-s3cret-0123456789abcdef";

/// Every variable the CLI reads, removed so the caller's environment cannot leak in: its own,
/// and the proxies its HTTP client (ureq) honours, which would take even 127.0.0.1 requests.
const VARS: &[&str] = &[
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "LINE_API_BASE",
    "LINE_CHANNEL_ID",
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_SECRET_FILE",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "LINE_KEY_ID",
    "LINE_PRIVATE_KEY_FILE",
    "LINE_PRIVATE_KEY",
    "LINE_TOKEN_TEST_STALL_BEFORE_RENAME",
];

/// `line-token` with these arguments and only these LINE variables.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(LINE_TOKEN);
    cmd.args(args);
    for var in VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn line_token(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().unwrap()
}

/// `line-token` reading `input` on stdin.
pub fn line_token_stdin(args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    let mut child = command(args, env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `line-token` to be run by `sh` under `umask 000`, with only these LINE variables.
pub fn command_umask_000(args: &[&str], env: &[(&str, &str)]) -> Command {
    let bin = LINE_TOKEN;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(bin)
        .args(args);
    for var in VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// `line-token` run by `sh` under `umask 000`.
pub fn line_token_umask_000(args: &[&str], env: &[(&str, &str)]) -> Output {
    command_umask_000(args, env).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn ok_json(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// A failed run: the exit code, nothing on stdout, exactly one line on stderr. Returns it.
pub fn failed(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
    assert!(
        err.ends_with('\n') && err.matches('\n').count() == 1 && err.starts_with("line-token: "),
        "one line on stderr: {err:?}"
    );
    err
}

/// An emulator with the channel and a fresh key registered; returns (server, key dir, kid).
pub fn setup(name: &str) -> (EmulatorProcess, Scratch, String) {
    let dir = Scratch::new(name);
    let o = line_token(
        &[
            "keygen",
            "--private",
            dir.path("private.json").to_str().unwrap(),
            "--public",
            dir.path("public.json").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let channel = format!("{CHANNEL}:{SECRET}");
    let server = EmulatorProcess::start(&[
        "--channel",
        &channel,
        "--public-key",
        dir.path("public.json").to_str().unwrap(),
    ]);
    let kid = server.lines[0]["kid"].as_str().unwrap().to_owned();
    (server, dir, kid)
}

/// `http://` an address that refuses connections while this is held: LINE unreachable.
/// It reads as that URL (`&dead_base()` is a `&str`); keep it for as long as it is used.
pub struct DeadBase {
    url: String,
    _port: DeadPort,
}

impl std::ops::Deref for DeadBase {
    type Target = str;
    fn deref(&self) -> &str {
        &self.url
    }
}

pub fn dead_base() -> DeadBase {
    let port = DeadPort::new();
    DeadBase {
        url: format!("http://{}:{}", DeadPort::HOST, port.port),
        _port: port,
    }
}

/// Whether the tests run as root (CI does): needed to chown files to another user.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The permission bits of a file, not following a link.
pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

/// The channel and its secret, against `base`.
pub fn channel_env(base: &str) -> [(&str, &str); 3] {
    [
        ("LINE_API_BASE", base),
        ("LINE_CHANNEL_ID", CHANNEL),
        ("LINE_CHANNEL_SECRET", SECRET),
    ]
}

/// `token --cache CACHE EXTRA...`: the token printed, or a panic with stderr.
pub fn token(base: &str, cache: &Path, extra: &[&str]) -> String {
    let mut args = vec!["token", "--cache", cache.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = line_token(&args, &channel_env(base));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o).trim().to_owned()
}

pub fn token_output(base: &str, cache: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["token", "--cache", cache.to_str().unwrap()];
    args.extend_from_slice(extra);
    line_token(&args, &channel_env(base))
}

/// How a fake server answers one request (given as text: head, blank line, body). A 3xx
/// answer's text is sent as its `location`, with an empty body.
pub type Answer = dyn Fn(&str) -> (u16, String) + Send + Sync;

/// A fake LINE on 127.0.0.1 (a free port), answering every request with `answer`; stopped on
/// drop.
pub struct FakeLine {
    pub base: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl FakeLine {
    pub fn start(answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static) -> FakeLine {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let answer: Box<Answer> = Box::new(answer);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(s) = stream {
                    let _ = serve_one(s, &answer);
                }
            }
        });
        FakeLine {
            base: format!("http://{addr}"),
            stop,
            addr,
            thread: Some(thread),
        }
    }

    /// A proxy that answers 502 with the request echoed in an HTML page, body first.
    pub fn echoing_proxy() -> FakeLine {
        FakeLine::start(|request| {
            let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
            (
                502,
                format!("<html><pre>{body}\n{head}</pre><h1>502 Bad Gateway</h1></html>"),
            )
        })
    }
}

impl Drop for FakeLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(mut stream: TcpStream, answer: &Answer) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let (status, body) = answer(&String::from_utf8_lossy(&buf));
    if (300..400).contains(&status) {
        write!(
            stream,
            "HTTP/1.1 {status} Status\r\nlocation: {body}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )?;
        return stream.flush();
    }
    let content_type = if body.starts_with('{') {
        "application/json"
    } else {
        "text/html"
    };
    write!(
        stream,
        "HTTP/1.1 {status} Status\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
