//! Every exchange with Redis within one overall deadline. The `redis` crate's sync API bounds
//! each socket read, not a command: a server (or a node it redirects to) that sends one byte
//! every second or two would hold a run for minutes. So each connection (connect, `AUTH`,
//! `SELECT`, the client's setup commands) and each command runs on a helper thread, and the
//! caller waits for it at most [`DEADLINE`]. A connection whose command passed the deadline
//! is left to that thread (it ends at the next socket timeout) and is never used again.

use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use redis::{Client, Cmd, Connection, RedisResult, Value};

/// How long a connection may take to open, or a command to be answered whole.
pub const DEADLINE: Duration = Duration::from_secs(3);

/// The error of an exchange that passed [`DEADLINE`]: an I/O timeout, so
/// `redis_store::is_unreachable` calls it passing (exit 3 in the CLI).
pub fn too_late() -> redis::RedisError {
    redis::RedisError::from(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "the store did not answer within {} s (it may be overloaded, or the network slow)",
            DEADLINE.as_secs()
        ),
    ))
}

/// Runs `work` on a helper thread and waits for it at most [`DEADLINE`].
fn within<R: Send + 'static>(
    work: impl FnOnce() -> RedisResult<R> + Send + 'static,
) -> RedisResult<R> {
    let (done, result) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("redis-exchange".into())
        .spawn(move || {
            // The caller may have stopped waiting: nobody to tell then.
            let _ = done.send(work());
        })?;
    match result.recv_timeout(DEADLINE) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(too_late()),
        Err(RecvTimeoutError::Disconnected) => Err(redis::RedisError::from(io::Error::other(
            "the exchange with the store ended without an answer",
        ))),
    }
}

/// A connection to `client`'s server, opened (with its setup commands) within [`DEADLINE`],
/// each socket read and write also bounded by it.
pub fn open(client: Client) -> RedisResult<Connection> {
    within(move || {
        let connection = client.get_connection_with_timeout(DEADLINE)?;
        connection.set_read_timeout(Some(DEADLINE))?;
        connection.set_write_timeout(Some(DEADLINE))?;
        Ok(connection)
    })
}

/// Sends `cmd` on `connection` and reads its whole answer within [`DEADLINE`]. The
/// connection comes back unless the deadline passed (then it must not be used again: an
/// answer may still be on its way).
pub fn query(mut connection: Connection, cmd: &Cmd) -> (Option<Connection>, RedisResult<Value>) {
    let cmd = cmd.clone();
    match within(move || {
        let answer = cmd.query::<Value>(&mut connection);
        Ok((connection, answer))
    }) {
        Ok((connection, answer)) => (Some(connection), answer),
        Err(e) => (None, Err(e)),
    }
}
