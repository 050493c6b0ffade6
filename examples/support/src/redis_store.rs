//! The store protocol (`line_channel_token::store`) on Redis, with the `redis` crate's sync
//! API: one hash per channel and token kind, read in one round trip, written with a Lua
//! compare-and-swap. The library decides; this file only moves bytes.
//!
//! ```text
//! key  = PREFIX:CHANNEL_ID:KIND        e.g. line-token:1234567890:stateless
//! HMGET key version record             read: the version ("0" when absent) and the body
//! EVAL CAS_SCRIPT 1 key expected new body   write: 1 if applied, 0 if another version is there
//! ```

use std::time::{Duration, SystemTime};

use line_channel_token::rand_core::TryRng;
use line_channel_token::store::{
    decide, Decision, Failure, OwnerId, Record, StoreConfig, StoredToken, Wait, WaitReason, Write,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

/// The compare-and-swap. Versions are compared as strings: Lua numbers are doubles and would
/// round large versions.
pub const CAS_SCRIPT: &str = "\
local current = redis.call('HGET', KEYS[1], 'version') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
return 1";

/// A fleet backoff this short is waited out; a longer one is reported to the caller.
const SHORT_BACKOFF: Duration = Duration::from_secs(5);

/// How long to wait for Redis to connect or answer before calling it unreachable.
const REDIS_TIMEOUT: Duration = Duration::from_secs(3);

/// One channel's record on one Redis server.
pub struct RedisStore {
    connection: redis::Connection,
    key: String,
    /// Commands sent to Redis (each one round trip), for the benchmark and the tests.
    pub round_trips: u64,
}

/// Why the store could not be used. The message never holds the URL's password.
#[derive(Debug)]
pub enum StoreError {
    /// Not a `redis://HOST:PORT/DB` URL.
    Url(String),
    /// Redis did not answer: worth retrying.
    Unreachable(String),
    /// Redis answered but refused (wrong password, no such database): retrying will not help.
    Refused(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Url(m) | StoreError::Unreachable(m) | StoreError::Refused(m) => {
                f.write_str(m)
            }
        }
    }
}

/// The URL as it may be shown: `redis://HOST:PORT/DB`, without user, password, query or
/// fragment (Unix socket URLs take the password as `?pass=`).
pub fn shown_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            // User info first: a password may hold '?' or '#'.
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            format!("{scheme}://{rest}")
        }
        None => "the store URL".to_owned(),
    }
}

/// The key of one channel's record of one token kind.
pub fn key(prefix: &str, channel_id: &str, kind: TokenKind) -> String {
    format!("{prefix}:{channel_id}:{kind}")
}

impl RedisStore {
    /// Connects to `url` (`redis://HOST:PORT/DB`) for the record under `key`.
    pub fn connect(url: &str, key: String) -> Result<RedisStore, StoreError> {
        if !url.starts_with("redis://") {
            return Err(StoreError::Url(format!(
                "--store takes redis://HOST:PORT/DB, not {}",
                shown_url(url)
            )));
        }
        let unreachable = |e: redis::RedisError| {
            if is_unreachable(&e) {
                StoreError::Unreachable(format!("cannot reach the store {}: {e}", shown_url(url)))
            } else {
                StoreError::Refused(format!("the store {} refused: {e}", shown_url(url)))
            }
        };
        let client = redis::Client::open(url).map_err(|_| {
            StoreError::Url(format!(
                "--store takes redis://HOST:PORT/DB, not {}",
                shown_url(url)
            ))
        })?;
        let connection = client
            .get_connection_with_timeout(REDIS_TIMEOUT)
            .map_err(unreachable)?;
        connection
            .set_read_timeout(Some(REDIS_TIMEOUT))
            .and_then(|()| connection.set_write_timeout(Some(REDIS_TIMEOUT)))
            .map_err(unreachable)?;
        Ok(RedisStore {
            connection,
            key,
            round_trips: 0,
        })
    }

    /// The version (0 when the key is absent) and the body: one round trip.
    pub fn read(&mut self) -> redis::RedisResult<(u64, Option<Vec<u8>>)> {
        self.round_trips += 1;
        let (version, body): (Option<String>, Option<Vec<u8>>) = redis::cmd("HMGET")
            .arg(&self.key)
            .arg("version")
            .arg("record")
            .query(&mut self.connection)?;
        let version = match version {
            None => 0,
            // Only the canonical spelling: the compare-and-swap compares strings, so "007"
            // read as 7 would fail every write and the fetch would retry forever.
            Some(v) => v.parse().ok().filter(|n: &u64| n.to_string() == v).ok_or_else(|| {
                redis::RedisError::from((
                    redis::ErrorKind::Parse,
                    "not a line-token record",
                    format!("{} holds a version that is not a number; delete the key or use another --store-prefix", self.key),
                ))
            })?,
        };
        Ok((version, body))
    }

    /// Runs a compare-and-swap write: `true` if it applied. One round trip.
    pub fn cas(&mut self, write: &Write) -> redis::RedisResult<bool> {
        self.round_trips += 1;
        let applied: i64 = redis::cmd("EVAL")
            .arg(CAS_SCRIPT)
            .arg(1)
            .arg(&self.key)
            .arg(write.expected_version().to_string())
            .arg(write.new_version().to_string())
            .arg(write.body())
            .query(&mut self.connection)?;
        Ok(applied == 1)
    }
}

/// How a fetch through the store ended without a token.
#[derive(Debug)]
pub enum FetchError<E> {
    /// Redis failed or went away (see [`is_unreachable`]).
    Store(redis::RedisError),
    /// This process refreshed, and LINE (or the way to it) failed.
    Issue(E),
    /// Another process's refresh failed; the fleet backs off until `wait.until`.
    Wait(Wait),
}

/// The wall clock.
pub fn clock() -> UnixTime {
    UnixTime::from(SystemTime::now())
}

/// A random owner id for this process. Should the OS RNG fail, the time and process id stand
/// in: they differ between processes, which is what an owner id needs.
pub fn new_owner() -> OwnerId {
    let random = line_channel_token::OsRng
        .try_next_u64()
        .unwrap_or_else(|_| {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ (u64::from(std::process::id()) << 32)
        });
    OwnerId::new(random)
}

/// Gets a token through the store: reads, decides, waits while another process refreshes (at
/// most `max_wait` in all) or through a backoff of at most 5 s, takes the lease and refreshes
/// with `issue` when it is this process's turn. `issue` gets the send time and answers LINE's token, or a failure to share
/// with the fleet plus this process's own error.
pub fn fetch<E>(
    store: &mut RedisStore,
    config: &StoreConfig,
    me: OwnerId,
    max_wait: Duration,
    mut issue: impl FnMut() -> Result<IssuedToken, (Failure, E)>,
) -> Result<StoredToken, FetchError<E>> {
    let give_up = clock() + max_wait;
    loop {
        let (version, body) = store.read().map_err(FetchError::Store)?;
        let now = clock();
        let (record, _) = Record::from_store(version, body.as_deref(), now, config);
        let held = match decide(&record, now, me, config) {
            Decision::Serve(token) => return Ok(token.clone()),
            Decision::Wait(wait) => {
                // Sit out another process's refresh (up to `max_wait`) and a short backoff;
                // report anything longer.
                let bound = match wait.reason {
                    WaitReason::Refreshing { .. } => give_up,
                    _ => give_up.min(now + SHORT_BACKOFF),
                };
                if wait.until > bound {
                    return Err(FetchError::Wait(wait));
                }
                std::thread::sleep(wait.until - now);
                continue;
            }
            Decision::TakeLease(write) => {
                if !store.cas(&write).map_err(FetchError::Store)? {
                    continue;
                }
                write.into_record()
            }
            Decision::Refresh { .. } => record,
        };
        let sent_at = clock();
        match issue() {
            Ok(token) => {
                let mut current = held;
                while let Some(write) = current.commit(clock(), me, sent_at, &token, config) {
                    if store.cas(&write).map_err(FetchError::Store)? {
                        // Usually served from what was just written, with no re-read.
                        if let Decision::Serve(token) = decide(write.record(), clock(), me, config)
                        {
                            return Ok(token.clone());
                        }
                        break;
                    }
                    let (version, body) = store.read().map_err(FetchError::Store)?;
                    current = Record::from_store(version, body.as_deref(), clock(), config).0;
                }
            }
            Err((failure, error)) => {
                if let Some(write) = held.release(clock(), me, failure, config) {
                    store.cas(&write).map_err(FetchError::Store)?;
                }
                return match held.usable_token(clock(), config) {
                    Some(token) => Ok(token.clone()),
                    None => Err(FetchError::Issue(error)),
                };
            }
        }
    }
}

/// Whether a Redis error means "not reachable now" (worth retrying) rather than a key that
/// holds something else.
pub fn is_unreachable(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped()
}
