//! A real `redis-server` for the fleet tests: on a free loopback port, with no persistence
//! (`--save '' --appendonly no`), killed on drop. A test that needs one carries
//! `#[cfg_attr(no_redis_server, ignore = ...)]`: without a server (the package's build script
//! looks) it is listed as ignored, with the reason; with `CI` set it runs, and fails.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    /// More `redis-server` arguments (TLS, a Unix socket), given on every start.
    extra: Vec<String>,
    /// The server's own working directory: a replica writes the dataset it receives there
    /// (`dump.rdb`), which any later server started in the same directory would load.
    dir: std::path::PathBuf,
}

impl RedisServer {
    /// A running server.
    pub fn start() -> RedisServer {
        RedisServer::start_with(Vec::new())
    }

    /// [`RedisServer::start`] with more `redis-server` arguments.
    pub fn start_with(extra: Vec<String>) -> RedisServer {
        let available = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            available,
            "this test needs redis-server: `apt-get install -y redis-server` (.ci/run does)"
        );
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            extra,
            dir: {
                static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let dir = std::env::temp_dir()
                    .join(format!("line-token-redis-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("a directory for redis-server");
                dir
            },
        };
        server.spawn_on_a_free_port();
        server
    }

    /// Starts redis-server on `self.port`, or on another free port if that one is taken. The
    /// port is found free and then released for redis-server to bind, so another server
    /// (several tests start theirs at once) may be given it first: then this one cannot
    /// listen, and the one answering there is not ours.
    fn spawn_on_a_free_port(&mut self) {
        for _ in 0..10 {
            if self.spawn() {
                return;
            }
            self.port = free_port();
        }
        panic!("redis-server found no free port in 10 tries");
    }

    /// Starts redis-server on `self.port` and waits until it answers there: `false` if another
    /// process holds the port.
    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let pid = child.id();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match pid_answering(self.port) {
                Some(p) if p == pid => return true,
                Some(_) => {
                    self.stop();
                    return false;
                }
                None => {}
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                self.child = None;
                return false; // it could not listen: the port is taken
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (SIGKILL: nothing is saved) and starts an empty one on the same port,
    /// or on another if a server another test started took this one meanwhile ([`Self::url`]
    /// gives the new one; the fleet connects afresh on every run).
    pub fn restart_empty(&mut self) {
        self.stop();
        self.spawn_on_a_free_port();
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A connection for inspecting what the CLI stored.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connects to the test redis")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nothing listened on when asked (it may be taken again before it is used).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The process id of the Redis server answering on `port` (`INFO server`), or `None` if none
/// answers there, or what answers is not Redis.
fn pid_answering(port: u16) -> Option<u32> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    s.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n").ok()?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while reply.len() < 64 * 1024 {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        reply.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&reply);
        let pid = text
            .split("process_id:")
            .nth(1)
            .and_then(|rest| rest.split_once("\r\n"))
            .and_then(|(pid, _)| pid.parse().ok());
        if pid.is_some() {
            return pid;
        }
    }
    None
}
