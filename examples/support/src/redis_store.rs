//! The store protocol (`line_channel_token::store`) on Redis, with the `redis` crate's sync
//! API: one hash per channel and token kind, read in one round trip, written with a Lua
//! compare-and-swap. The library decides; this file only moves bytes.
//!
//! ```text
//! key  = PREFIX:CHANNEL_ID:KIND        e.g. line-token:1234567890:stateless
//! EVAL READ_SCRIPT 1 key 65536 20       read: TIME, the version (unless > 20 bytes) and the body
//!                                       (unless > 64 KiB), with both lengths
//! EVAL CAS_SCRIPT 1 key expected new body keep_ms   write: 1 if applied, 0 if not; PEXPIRE
//! ```

use std::time::{Duration, Instant, SystemTime};

use line_channel_token::rand_core::TryRng;
use line_channel_token::store::{
    self, Body, DriveError, Failure, Fetched, Outcome, OwnerId, Read, RecordError, Refresher,
    StoreConfig, Wait, Write, MAX_RECORD_LEN,
};
use line_channel_token::{IssuedToken, TokenKind, UnixTime};

use crate::redis_deadline;
use crate::redis_redirect::{redirected, Redirect};

/// The read, in one round trip: the store's time, the version unless it is longer than
/// `ARGV[2]` bytes, the body unless it is larger than `ARGV[1]` bytes, and both lengths (so a
/// planted huge value in either field is never transferred).
pub const READ_SCRIPT: &str = "\
local t = redis.call('TIME')
local vlen = redis.call('HSTRLEN', KEYS[1], 'version')
local v = false
if vlen <= tonumber(ARGV[2]) then v = redis.call('HGET', KEYS[1], 'version') end
local len = redis.call('HSTRLEN', KEYS[1], 'record')
local body = false
if len <= tonumber(ARGV[1]) then body = redis.call('HGET', KEYS[1], 'record') end
return {t[1], t[2], v, body, len, vlen}";

/// The longest version read: `u64::MAX` has 20 digits.
const MAX_VERSION_LEN: usize = 20;

/// The compare-and-swap, which also sets the key's expiry (`ARGV[4]` ms). Versions are compared
/// as strings: Lua numbers are doubles and would round large versions.
pub const CAS_SCRIPT: &str = "\
local current = redis.call('HGET', KEYS[1], 'version') or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1";

/// What [`RedisStore::on_read`] calls with every read.
type ReadWatch = dyn FnMut(&Read) + Send;

/// One channel's record on one Redis server.
pub struct RedisStore {
    /// `None` once a command passed its deadline (`redis_deadline`): not used again.
    connection: Option<redis::Connection>,
    /// The URL connected to and the CA given, to follow a `MOVED`/`ASK` to another node.
    url: String,
    ca_pem: Option<Vec<u8>>,
    key: String,
    /// The store's time at the last read, and when (on this machine's monotonic clock).
    last_read: Option<(UnixTime, Instant)>,
    /// Commands sent to Redis (each one round trip), for the benchmark and the tests.
    pub round_trips: u64,
    /// Shown every read, before anything else happens (see [`RedisStore::on_read`]).
    on_read: Option<Box<ReadWatch>>,
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

/// The URL schemes `--store` takes.
pub const SCHEMES: &str =
    "redis://[USER:PASSWORD@]HOST:PORT/DB, rediss:// (TLS), redis+unix:///PATH or unix:///PATH";

impl RedisStore {
    /// Connects to `url` for the record under `key`, trusting the system's CAs for
    /// `rediss://` (`SSL_CERT_FILE` names a private one).
    pub fn connect(url: &str, key: String) -> Result<RedisStore, StoreError> {
        RedisStore::connect_with(url, key, None)
    }

    /// Connects to `url` for the record under `key`: `redis://` (an ACL user and password in
    /// the URL), `rediss://` over TLS (rustls; the CAs in `ca_pem` if given, else the
    /// system's, where `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured), or a Unix socket
    /// (`redis+unix:///PATH`, `unix:///PATH`, `?db=N&user=U&pass=P`).
    pub fn connect_with(
        url: &str,
        key: String,
        ca_pem: Option<Vec<u8>>,
    ) -> Result<RedisStore, StoreError> {
        let scheme = url.split_once("://").map_or("", |(s, _)| s);
        // A password holding '/', '#', '?' or '@' as is cuts the URL in the wrong place.
        let hint = match url.split_once("://") {
            Some((_, rest)) if rest.contains('@') => {
                "; in a password, write / # ? @ % as %2F %23 %3F %40 %25"
            }
            _ => "",
        };
        let bad_url = || {
            StoreError::Url(format!(
                "--store takes {SCHEMES}, not {}{hint}",
                shown_url(url)
            ))
        };
        if !matches!(scheme, "redis" | "rediss" | "redis+unix" | "unix") {
            return Err(bad_url());
        }
        if ca_pem.is_some() && scheme != "rediss" {
            return Err(StoreError::Url(
                "a CA file applies to rediss:// (TLS) only".to_owned(),
            ));
        }
        let unreachable = |e: redis::RedisError| {
            if scheme == "rediss" && e.is_timeout() {
                StoreError::Unreachable(format!(
                    "cannot reach the store {}: the server did not answer TLS; is it a TLS port? ({e})",
                    shown_url(url)
                ))
            } else if is_unreachable(&e) {
                StoreError::Unreachable(format!("cannot reach the store {}: {e}", shown_url(url)))
            } else {
                StoreError::Refused(format!("the store {} refused: {e}", shown_url(url)))
            }
        };
        let client = client(url, ca_pem.clone()).map_err(|e| match ca_pem {
            Some(_) => StoreError::Url(format!("{}: {e}", shown_url(url))),
            None => bad_url(),
        })?;
        let connection = redis_deadline::open(client).map_err(unreachable)?;
        Ok(RedisStore {
            connection: Some(connection),
            url: url.to_owned(),
            ca_pem,
            key,
            last_read: None,
            round_trips: 0,
            on_read: None,
        })
    }

    /// Runs `cmd`, following one `MOVED` (to the node that now serves the key: this store
    /// stays connected there) or `ASK` (to the node importing it, for this command only,
    /// after `ASKING`). A second redirect is the error, which [`is_unreachable`] calls
    /// passing.
    ///
    /// A redirect is followed only to another port of the URL's own host, spelled as the URL
    /// spells it (or named by port alone), and connected with the URL's user, password and
    /// TLS settings, so a certificate is still checked against that host name. A redirect
    /// to any other host is refused (an error [`is_unreachable`] does not call passing): the
    /// password would go to a host nobody configured. For a cluster spread over hosts, give
    /// the URL of the node that serves the key.
    fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        use redis::{ErrorKind, ServerErrorKind as S};
        let e = match self.exchange(cmd) {
            Err(e) if matches!(e.kind(), ErrorKind::Server(S::Moved | S::Ask)) => e,
            other => return Ok(redis::from_redis_value(other?)?),
        };
        let Some((addr, _slot)) = e.redirect_node() else {
            return Err(e);
        };
        let url = match redirected(&self.url, addr) {
            Some(Redirect::Follow(url)) => url,
            Some(Redirect::OtherHost) => {
                return Err(redis::RedisError::from((
                    ErrorKind::Client,
                    "the store redirected the key to another host",
                    format!(
                        "{addr}: a MOVED or ASK is followed only to the host in the URL, so \
                         the password goes nowhere else; give the URL of the node that \
                         serves the key"
                    ),
                )))
            }
            None => return Err(e),
        };
        let connection = redis_deadline::open(client(&url, self.ca_pem.clone())?)?;
        self.round_trips += 1;
        if matches!(e.kind(), ErrorKind::Server(S::Ask)) {
            self.round_trips += 1;
            let (connection, asked) = redis_deadline::query(connection, &redis::cmd("ASKING"));
            asked?;
            let connection = connection.ok_or_else(redis_deadline::too_late)?;
            let (_, answer) = redis_deadline::query(connection, cmd);
            return Ok(redis::from_redis_value(answer?)?);
        }
        self.url = url;
        self.connection = Some(connection);
        Ok(redis::from_redis_value(self.exchange(cmd)?)?)
    }

    /// Sends `cmd` on this store's connection and reads the whole answer within
    /// `redis_deadline::DEADLINE`; past it, the connection is dropped for good.
    fn exchange(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        let connection = self
            .connection
            .take()
            .ok_or_else(redis_deadline::too_late)?;
        let (connection, answer) = redis_deadline::query(connection, cmd);
        self.connection = connection;
        answer
    }

    /// The store's time, the version (0 when the key is absent) and the body, bounded to
    /// 64 KiB: one round trip.
    pub fn read(&mut self) -> redis::RedisResult<Read> {
        self.round_trips += 1;
        type Reply = (u64, u64, Option<String>, Option<Vec<u8>>, usize, usize);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(READ_SCRIPT)
            .arg(1)
            .arg(&self.key)
            .arg(MAX_RECORD_LEN)
            .arg(MAX_VERSION_LEN);
        let (secs, micros, version, body, len, version_len): Reply = self.query(&cmd)?;
        let version = match version {
            None if version_len == 0 => 0,
            // Longer than any u64: not transferred, and no number.
            None => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Parse,
                    "not a line-token record",
                    format!("{} holds a version of {version_len} bytes, not a number; delete the key or use another --store-prefix", self.key),
                )))
            }
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
        let body = match body {
            _ if len > MAX_RECORD_LEN => Body::TooLarge(len),
            Some(bytes) => Body::Present(bytes),
            None if version == 0 => Body::Absent,
            None => Body::Present(Vec::new()),
        };
        let now = UnixTime::from_millis(secs.saturating_mul(1000).saturating_add(micros / 1000));
        self.last_read = Some((now, Instant::now()));
        let read = Read { now, version, body };
        if let Some(watch) = &mut self.on_read {
            watch(&read);
        }
        Ok(read)
    }

    /// Calls `watch` with every record read, as soon as it is read: for a caller that must
    /// know the secrets in it (the access token) before anything else may print an error
    /// that echoes them (a write the store refused, quoted in its error).
    pub fn on_read(&mut self, watch: impl FnMut(&Read) + Send + 'static) {
        self.on_read = Some(Box::new(watch));
    }

    /// The store's time now: the last read's `TIME` plus the time since on this machine's
    /// monotonic clock (which setting the wall clock does not move), so a message about when
    /// the fleet acts is true on a machine whose clock is off. `None` before the first read.
    pub fn now(&self) -> Option<UnixTime> {
        self.last_read
            .map(|(at, read)| at.saturating_add(read.elapsed()))
    }

    /// Runs a compare-and-swap write and sets the key's expiry: `true` if it applied. One
    /// round trip.
    pub fn cas(&mut self, write: &Write) -> redis::RedisResult<bool> {
        self.round_trips += 1;
        let keep_ms = u64::try_from(write.keep_for().as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(CAS_SCRIPT)
            .arg(1)
            .arg(&self.key)
            .arg(write.expected_version().to_string())
            .arg(write.new_version().to_string())
            .arg(write.body())
            .arg(keep_ms);
        let applied: i64 = self.query(&cmd)?;
        Ok(applied == 1)
    }
}

/// A client for `url`, trusting the CAs in `ca_pem` if given (TLS).
fn client(url: &str, ca_pem: Option<Vec<u8>>) -> redis::RedisResult<redis::Client> {
    match ca_pem {
        Some(ca) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(ca),
            },
        ),
        None => redis::Client::open(url),
    }
}

impl store::Store for RedisStore {
    type Error = redis::RedisError;
    fn read(&mut self) -> redis::RedisResult<Read> {
        RedisStore::read(self)
    }
    fn swap(&mut self, write: &Write) -> redis::RedisResult<bool> {
        self.cas(write)
    }
}

/// How a fetch through the store ended without a token.
#[derive(Debug)]
pub enum FetchError<E> {
    /// Redis failed or went away (see [`is_unreachable`]).
    Store(redis::RedisError),
    /// This process refreshed, and LINE (or the way to it) failed.
    Issue(E),
    /// The fleet waits (another process refreshes, a backoff, the budget) until `wait.until`.
    Wait(Wait),
    /// The key holds another channel's or kind's record, one too large, one that cannot
    /// be read, or one of another format: left as is (exit 2 in the CLI).
    Refused(RecordError),
    /// The fetch ended without a token for a reason the library's [`Outcome`] tells in words
    /// (its `Display`): worth retrying when [`Outcome::is_retryable`] says so (exit 3 in the
    /// CLI: a token that expired during a slow call, the store failing a step), otherwise a
    /// person must act (exit 2: a store that does not keep its writes).
    Ended(Outcome),
    /// The fetch ended some other way (a protocol error of this adapter).
    Other(String),
}

/// The calls to LINE as two closures: `issue` and, for v2.1, `key_ids`.
pub struct Line<I, K>(pub I, pub K);

impl<E, I, K> Refresher for Line<I, K>
where
    I: FnMut(Duration) -> Result<IssuedToken, (Failure, E)>,
    K: FnMut(Duration) -> Result<Vec<String>, (Failure, E)>,
{
    type Error = E;
    fn issue(&mut self, timeout: Duration) -> Result<IssuedToken, (Failure, E)> {
        (self.0)(timeout)
    }
    fn key_ids(&mut self, timeout: Duration) -> Result<Vec<String>, (Failure, E)> {
        (self.1)(timeout)
    }
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

/// Gets a token through the store with the library's driver (`store::drive`): every decision
/// on Redis's `TIME`, another process's refresh sat out for at most `max_wait`, and this
/// process's calls to LINE bounded by its lease.
pub fn fetch<E>(
    store: &mut RedisStore,
    config: &StoreConfig,
    me: OwnerId,
    max_wait: Duration,
    line: &mut impl Refresher<Error = E>,
) -> Result<Fetched, FetchError<E>> {
    store::drive(store, line, config, me, max_wait, clock, std::thread::sleep).map_err(
        |e| match e {
            DriveError::Store(e) => FetchError::Store(e),
            DriveError::Refresh(_, e) => FetchError::Issue(e),
            DriveError::Ended(Outcome::Wait(w)) => FetchError::Wait(w),
            DriveError::Ended(Outcome::Refused(r)) => FetchError::Refused(r),
            DriveError::Ended(other) => FetchError::Ended(other),
            _ => FetchError::Other("the fetch ended without a token".into()),
        },
    )
}

/// After the Messaging API refused `token` (HTTP 401): drops it from the record if it is
/// still the shared token, so the next fetch refreshes. `Ok(false)` if the record no longer
/// holds it (another process reported it first, or it was replaced): the fleet drops a token
/// once. A record that is not this fleet's is left alone (`Ok(false)`; the fetch refuses it).
pub fn invalidate(
    store: &mut RedisStore,
    config: &StoreConfig,
    me: OwnerId,
    token: &line_channel_token::AccessToken,
) -> redis::RedisResult<bool> {
    // A lost compare-and-swap means the record changed: read it again, a few times.
    for _ in 0..3 {
        let read = store.read()?;
        let body = match &read.body {
            Body::Absent => None,
            Body::Present(bytes) => Some(bytes.as_slice()),
            Body::TooLarge(_) => return Ok(false),
        };
        let Ok((record, _)) = store::Record::from_store(read.version, body, read.now, config)
        else {
            return Ok(false);
        };
        let Some(write) = record.invalidate(read.now, me, token, config) else {
            return Ok(false);
        };
        if store.cas(&write)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a Redis error means "not reachable now" (worth retrying, exit 3) rather than a
/// key that holds something else: no connection, a timeout, a reset connection, or a server
/// in a passing state (`LOADING` a dataset, a `READONLY` replica mid-failover, `TRYAGAIN`,
/// a second `MOVED`/`ASK` after the one followed, `CLUSTERDOWN`, `MASTERDOWN`).
pub fn is_unreachable(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind as S};
    let passing = matches!(
        e.kind(),
        ErrorKind::Server(
            S::BusyLoading
                | S::ReadOnly
                | S::TryAgain
                | S::Moved
                | S::Ask
                | S::ClusterDown
                | S::MasterDown
        )
    );
    passing
        || e.is_io_error()
        || e.is_timeout()
        || e.is_connection_refusal()
        || e.is_connection_dropped()
}
