//! Helpers shared by the tests of `line-token` and `line-emulator`: scratch directories, the
//! programs, external tools.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh directory under the target dir, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback address where nothing listens and, while this is held, nothing can start to:
/// connections to it are refused at once. A port bound and closed again is no such address:
/// the next server any test starts may be given it, and answer.
///
/// The port is held by a listener on 127.0.0.1, which keeps any other socket from listening
/// on it there or on all addresses; the address given out is 127.0.0.2 (Linux routes all of
/// 127.0.0.0/8 to loopback), where the holder does not listen. A client there connects from
/// 127.0.0.1, so it cannot connect to itself either. (Where only 127.0.0.1 is configured, as
/// on macOS, the connection times out instead: slower, and as unreachable.)
pub struct DeadPort {
    _held: std::net::TcpListener,
    pub port: u16,
}

impl DeadPort {
    pub fn new() -> DeadPort {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        DeadPort { _held: held, port }
    }

    /// The host to give with [`DeadPort::port`].
    pub const HOST: &'static str = "127.0.0.2";
}

/// Runs a command, panicking with its stderr if it fails; returns stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    run(Command::new("openssl").args(args).current_dir(dir))
}

/// A Python that can import `modules`. A test that needs one carries
/// `#[cfg_attr(no_pyjwt, ignore = ...)]` (or `no_jwcrypto`, `no_line_bot_sdk`): without the
/// modules (the package's build script looks) it is listed as ignored, with the reason; with
/// `CI` set it runs, and fails here.
pub fn python_with(modules: &[&str]) -> &'static str {
    let check = format!("import {}", modules.join(", "));
    let ok = Command::new("python3")
        .args(["-c", &check])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test needs python3 with {modules:?}: `python3 -m pip install pyjwt cryptography \
         jwcrypto line-bot-sdk`"
    );
    "python3"
}

pub const PYJWT_DOCS_KEY: &str = include_str!("../../../../tests/keys/line-docs-pyjwt.jwk.json");
pub const NODE_JOSE_DOCS_KEY: &str =
    include_str!("../../../../tests/keys/line-docs-node-jose.jwk.json");

/// The `line-token` program cargo built for this test run.
pub const LINE_TOKEN: &str = env!("CARGO_BIN_EXE_line-token");

/// The `line-emulator` program cargo built for this test run.
pub const LINE_EMULATOR: &str = env!("CARGO_BIN_EXE_line-emulator");

/// A running `line-emulator`, killed on drop.
pub struct EmulatorProcess {
    child: std::process::Child,
    pub base: String,
    /// The JSON lines it printed at start (one per registered key or long-lived token).
    pub lines: Vec<serde_json::Value>,
}

impl EmulatorProcess {
    pub fn start(args: &[&str]) -> EmulatorProcess {
        use std::io::BufRead;
        let mut child = Command::new(LINE_EMULATOR)
            .args(["--port", "0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let first = stderr
            .lines()
            .next()
            .expect("line-emulator printed nothing")
            .unwrap();
        let base = first
            .strip_prefix("line-emulator: listening on ")
            .unwrap_or_else(|| panic!("line-emulator: {first}"))
            .to_owned();
        // The JSON lines are printed before the listening line.
        let mut lines = Vec::new();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let expected = args.iter().filter(|a| **a == "--public-key").count()
            + if args.contains(&"--long-lived") {
                args.iter().filter(|a| **a == "--channel").count()
            } else {
                0
            };
        for line in stdout.lines().take(expected) {
            lines.push(serde_json::from_str(&line.unwrap()).unwrap());
        }
        EmulatorProcess { child, base, lines }
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Running `line-token` and faking LINE for it.
pub mod cli;

/// A front for `line-emulator` that counts issuances.
pub mod line_front;

/// A fake RESP server for the fleet tests.
pub mod fake_resp;

/// A real `redis-server` for the fleet tests.
pub mod redis_server;
