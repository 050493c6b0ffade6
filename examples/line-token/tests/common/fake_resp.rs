//! A fake Redis for the fleet tests, on a free loopback port: what a real server cannot be made
//! to do (passing states, redirects, echoes of what it was sent, an answer dribbled one byte
//! at a time). It answers every command but `EVAL` and `ASKING` with `+OK` (the client's
//! connection setup), and `EVAL` as the test says.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which answers the fake writes one byte at a time, this far apart.
#[derive(Clone, Copy)]
pub enum Drip {
    No,
    /// `EVAL`'s answers only: the connection opens at once.
    Eval(Duration),
    /// Every answer, the connection's setup (`+OK`) too.
    All(Duration),
}

/// What the fake answers a command: RESP bytes, or `None` to drop the connection.
type Reply = dyn Fn(&[String], bool, &[String]) -> Option<Vec<u8>> + Send + Sync;

/// A fake Redis on a free loopback port, stopped on drop. It answers every command but `EVAL`
/// and `ASKING` with `+OK` (the client's connection setup); `EVAL` with `reply(command,
/// asked, earlier)`, where `asked` says the connection's previous command was `ASKING` and
/// `earlier` holds every word of the connection's earlier commands (its `AUTH` among them).
pub struct Fake {
    pub port: u16,
    evals: Arc<Mutex<u32>>,
    stop: Arc<AtomicBool>,
}

impl Fake {
    pub fn start(
        reply: impl Fn(&[String], bool, &[String]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> Fake {
        Fake::dripping(Drip::No, reply)
    }

    /// A fake that writes answers one byte at a time (see [`Drip`]).
    pub fn dripping(
        drip: Drip,
        reply: impl Fn(&[String], bool, &[String]) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let evals = Arc::new(Mutex::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let reply: Arc<Reply> = Arc::new(reply);
        let (counter, stopped) = (evals.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (reply, counter) = (reply.clone(), counter.clone());
                std::thread::spawn(move || serve(stream, &*reply, &counter, drip));
            }
        });
        Fake { port, evals, stop }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn evals(&self) -> u32 {
        *self.evals.lock().unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, reply: &Reply, evals: &Mutex<u32>, drip: Drip) {
    let mut out = Out(stream.try_clone().unwrap(), drip, false);
    let mut input = BufReader::new(stream);
    let mut asked = false;
    let mut earlier = Vec::new();
    while let Some(command) = read_command(&mut input) {
        let name = command
            .first()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_default();
        let answer = match name.as_str() {
            "ASKING" => {
                asked = true;
                let _ = out.write_all(b"+OK\r\n");
                continue;
            }
            "EVAL" => {
                out.2 = true;
                *evals.lock().unwrap() += 1;
                reply(&command, asked, &earlier)
            }
            _ => Some(b"+OK\r\n".to_vec()),
        };
        asked = false;
        earlier.extend(command);
        match answer {
            Some(bytes) => {
                if out.write_all(&bytes).is_err() {
                    return;
                }
                out.2 = false;
            }
            None => {
                let _ = out.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
    }
}

/// One RESP command (an array of bulk strings), or `None` at the end of the stream.
fn read_command(input: &mut BufReader<TcpStream>) -> Option<Vec<String>> {
    let mut line = String::new();
    input.read_line(&mut line).ok()?;
    let n: usize = line.trim_end().strip_prefix('*')?.parse().ok()?;
    let mut parts = Vec::with_capacity(n);
    for _ in 0..n {
        line.clear();
        input.read_line(&mut line).ok()?;
        let len: usize = line.trim_end().strip_prefix('$')?.parse().ok()?;
        let mut bytes = vec![0; len + 2];
        input.read_exact(&mut bytes).ok()?;
        bytes.truncate(len);
        parts.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    Some(parts)
}

/// The fake's side of a connection, writing whole or one byte at a time; `.2` says the
/// answer is `EVAL`'s.
struct Out(TcpStream, Drip, bool);

impl Out {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let drip = match self.1 {
            Drip::All(drip) => drip,
            Drip::Eval(drip) if self.2 => drip,
            _ => return self.0.write_all(bytes),
        };
        for byte in bytes {
            self.0.write_all(std::slice::from_ref(byte))?;
            std::thread::sleep(drip);
        }
        Ok(())
    }

    fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
        self.0.shutdown(how)
    }
}
