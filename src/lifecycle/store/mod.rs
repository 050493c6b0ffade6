//! A fleet shares one channel's tokens through a store: one issuance for every process on
//! every machine.
//!
//! [`cache::TokenCache`](crate::cache::TokenCache) keeps a token for one process, and a file
//! (the `line-token --cache FILE` command) for one machine. Past one machine, processes share
//! a **record** in a store they already run (Redis, SQL, DynamoDB, a Durable Object) and agree
//! through a **lease** fenced by the record's **version**. This module is the protocol, sans
//! IO: it never talks to a store, reads the clock or sleeps. The store needs two operations
//! (the [`Store`] trait):
//!
//! - **read**: the store's own time, the version and the body of one key, in one round trip
//!   (version 0, body absent if the key does not exist), refusing a body over
//!   [`MAX_RECORD_LEN`] (64 KiB) without transferring it;
//! - **compare-and-swap**: write a new version and body if, and only if, the key is still at
//!   the expected version (`0`: does not exist), and let the key expire after
//!   [`Write::keep_for`].
//!
//! [`drive`] (blocking) and [`drive_async`] run the whole loop against a [`Store`] (or
//! [`AsyncStore`]) and the caller's calls to LINE ([`Refresher`]); [`Fetch`] is the same loop
//! as a state machine, for other executors. An adapter is the two store operations;
//! [`MemoryStore`] is the library's own, in this process's memory, for tests and for a
//! fleet of one process.
//!
//! ## The loop
//!
//! ```text
//! read (time, version, body) ──> Record::from_store ──> decide(record, time, me, config)
//!   Serve(token)        use it. On a hit this is the only round trip.
//!   Wait { until, .. }  another process is refreshing, the fleet backs off, or the budget is
//!                       spent: read again at `until`.
//!   TakeLease(write)    compare-and-swap (for counted kinds it records a tentative entry:
//!                       a token issued under the lease is counted before LINE is called);
//!                       lost: read again. Won: read again and decide.
//!   ListKeys { .. }     v2.1 with an uncertain count: list LINE's key ids, read again,
//!                       record.reconcile(..) on that read, compare-and-swap, read again
//!                       and decide.
//!   Refresh { lease_until }
//!        decided on a fresh read: issue a token (IssueStateless, IssueShortLived, IssueV21)
//!        at once, with a timeout ending at call_deadline(lease_until), then read again and
//!        record.commit(..), or record.release(..) on failure, as a compare-and-swap: the
//!        call may have taken most of the lease, so the release, its backoff and whether the
//!        shared token may still be served are judged at that read's time. A commit
//!        that loses: read again and commit on that record (it adopts, never overwrites). A
//!        commit the store keeps failing still hands the valid token to its caller.
//! ```
//!
//! ## One clock
//!
//! Decide with the store's time (Redis: `TIME`, in the read's round trip), not each
//! machine's clock: then a machine whose clock is off cannot serve an expired token or make
//! the fleet issue. [`drive`] does, and reports a machine clock further than
//! [`StoreConfig::clock_skew`] from the store's in [`Events::clock_off_ms`].
//!
//! ## What it promises
//!
//! - **One refresh at a time, bounded.** A lease lasts at most [`StoreConfig::lease`] (default
//!   30 s). A holder that dies or hangs is taken over once its lease runs out.
//! - **Fenced writes.** Every write names the version it read. A holder that was paused past
//!   its lease, or whose commit arrives late, finds another version and can no longer replace
//!   anything: its token is only adopted if the record has no usable token and its token
//!   expires later, so the shared token's expiry never goes backwards. A new record starts at
//!   a version drawn from the writer's random [`OwnerId`], so a store wiped and refilled does
//!   not hand an old version back to a late writer.
//! - **Never past expiry.** [`decide`] serves a token only with more than
//!   [`StoreConfig::min_remaining`] left by the caller's clock, which is at least twice the
//!   tolerated clock skew: a token stamped by a machine whose clock runs ahead is still not
//!   served past its real expiry.
//! - **Calls bounded by the lease.** A holder calls LINE only on a fresh read that shows its
//!   lease, and only until [`call_deadline`] (twice the skew before the lease ends, so a
//!   lease must be longer than that): no other process takes over while its call may issue.
//! - **Nothing LINE issued goes uncounted.** For short-lived and v2.1 tokens the record
//!   lists every token the fleet issued and that has not expired, late ones included, and
//!   counts a tentative entry for every lease from before LINE is called: a holder that dies
//!   after LINE answered, whose call timed out, or that got a 5xx (a gateway may send one
//!   after LINE issued) is still counted until its entry expires, when a token issued under
//!   that lease would have (v2.1: until the next holder lists LINE's key ids). LINE's own 4xx
//!   answers, 429 included, issued nothing. No process issues while [`StoreConfig::budget`]
//!   (default 20 of LINE's 30) are out; none is ever revoked or evicted by the protocol.
//! - **A failing LINE cannot trap the fleet.** Since every 5xx counts as maybe issued, a
//!   fleet that holds a usable token spaces its tries out over that token's usable life
//!   (the last slot goes one gap before it stops being usable); with no usable token left,
//!   entries of failed calls that may have issued (nobody was handed their tokens) give way
//!   while the fleet counts fewer than LINE's own limit (30), below which LINE revokes or
//!   refuses nothing. So short-lived tokens LINE holds that a caller may have been handed
//!   stay within the budget, and all of them within LINE's limit; v2.1 recounts by listing
//!   and stays within the budget. See [`decide`] for the two rules.
//! - **Wipes and lost writes.** A v2.1 record that is new or wiped is uncertain:
//!   its first holder waits one lease (any call under a lease lost with it has ended), lists
//!   LINE's key ids and counts what LINE counts ([`Record::reconcile`]). Every v2.1 holder
//!   lists once before it issues (one call per refresh), which also recounts what a
//!   failover to a lagging replica lost. Short-lived tokens cannot be listed: a
//!   wipe loses their count (keep the store's writes durable, see below).
//! - **One bad process cannot stop the fleet.** A refusal (400, 401) pauses only processes
//!   with the same credential ([`StoreConfig::with_credential`]); a retryable failure (429,
//!   5xx, no answer) pauses everyone. Failure notes carry LINE's HTTP status.
//! - **No loops.** A refresh that fails, or yields a token already due for refresh, starts a
//!   backoff shared by the whole fleet.
//! - **Bound and bounded records.** A record names its channel (part of every
//!   [`StoreConfig`]) and token kind; one under the wrong key, or over 64 KiB,
//!   is refused ([`RecordError`]), never served or overwritten; so is a body that is not a
//!   record, is damaged, or is of another format (a newer one: upgrade). [`Record::from_store`]
//!   bounds leases, tokens and backoffs from the future. Keys expire an hour after everything
//!   they mention.
//!
//! `tests/store_model/` checks these exhaustively over interleavings of three processes
//! with crashes (also after LINE answered), expiring leases, late writes, clock skew within
//! the tolerance in the store's time as read, machine clocks 10 minutes off (reported, and
//! ignored by decisions), a wipe, a failover that loses the last write or two, ambiguous LINE
//! failures and answers that arrive after the lease: for v2.1, LINE never holds more live
//! tokens than the budget; for short-lived tokens (a second run, without wipes and
//! failovers), never more that a caller may have been handed, and never more than LINE's
//! limit in all; the record lists or tentatively counts every one.
//!
//! ## Redis
//!
//! One hash per channel and kind, e.g. `line-token:{channel}:{kind}`, with fields `version`
//! and `record`. Both operations are Lua scripts, run atomically by Redis with `EVAL` (the
//! script text each time, one round trip; `EVALSHA` would save the bytes but needs a
//! fallback when the server's script cache is empty). The read returns the store's time
//! and the body only if it is at most 64 KiB:
//!
//! ```lua
//! -- KEYS[1] = key; ARGV[1] = 65536
//! local t = redis.call('TIME')
//! local v = redis.call('HGET', KEYS[1], 'version')
//! local len = redis.call('HSTRLEN', KEYS[1], 'record')
//! local body = false
//! if len <= tonumber(ARGV[1]) then body = redis.call('HGET', KEYS[1], 'record') end
//! return {t[1], t[2], v, body, len}
//! ```
//!
//! The compare-and-swap:
//!
//! ```lua
//! -- KEYS[1] = key; ARGV[1] = expected version ("0": absent), ARGV[2] = new version,
//! -- ARGV[3] = body, ARGV[4] = Write::keep_for in milliseconds
//! local current = redis.call('HGET', KEYS[1], 'version') or '0'
//! if current ~= ARGV[1] then return 0 end
//! redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
//! redis.call('PEXPIRE', KEYS[1], ARGV[4])
//! return 1
//! ```
//!
//! Versions are compared as strings, exactly (Lua numbers are doubles and would round large
//! versions). `examples/support/src/redis_store.rs` is a complete adapter over the `redis`
//! crate.
//!
//! The budget relies on the store keeping what it acknowledged. v2.1 recovers from a wipe or
//! a lost write by listing LINE's key ids; short-lived tokens cannot be listed, so for them
//! run Redis with `appendonly yes` and `appendfsync always`, and, with replicas, make each
//! write wait for one (`min-replicas-to-write 1`), or accept that a failover may lose count
//! of the tokens issued since the last write a replica received.
//!
//! ## SQL
//!
//! ```sql
//! CREATE TABLE line_token (key TEXT PRIMARY KEY, version BIGINT NOT NULL, record TEXT NOT NULL);
//! -- read
//! SELECT version, record FROM line_token WHERE key = $1;
//! -- compare-and-swap, expected version > 0: applied if one row changed
//! UPDATE line_token SET version = $3, record = $4 WHERE key = $1 AND version = $2;
//! -- compare-and-swap, expected version 0: applied unless the key exists
//! INSERT INTO line_token (key, version, record) VALUES ($1, $3, $4) ON CONFLICT (key) DO NOTHING;
//! ```
//!
//! Store versions as signed 64-bit by reinterpreting the bits (`u64 as i64`, back with
//! `i64 as u64`): only equality matters.
//!
//! ## DynamoDB, Durable Objects
//!
//! DynamoDB: `GetItem` (strongly consistent) reads; `PutItem` with
//! `ConditionExpression: version = :expected` (or `attribute_not_exists(pk)` for version 0)
//! is the compare-and-swap, and `ConditionalCheckFailedException` means "lost". A Cloudflare
//! Durable Object is single-threaded per id: keep the record in its storage and run the
//! compare-and-swap as one method (read the version, compare, `put`), with no awaits between
//! the read and the write, so its input gate makes it atomic.
//!
//! ## What is in the store
//!
//! The access token itself (whoever can read the store can use it: protect it like the
//! secret), its issue and expiry times, the v2.1 `key_id`s and expiries of issued tokens, the
//! lease holder's random id, and a failure count with an HTTP status. Never the channel secret,
//! the signing key or a client assertion.

mod config;
mod count;
mod decide;
mod drive;
mod ended;
mod failure;
mod fetch;
mod ids;
mod memory;
mod patience;
mod read;
mod record;
mod write;

pub use config::StoreConfig;
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::{StoreConfig, StoreConfigError};
/// use line_channel_token::TokenKind;
///
/// let lifetime = Duration::from_secs(900);
/// let refused = StoreConfig::new("1234567890", TokenKind::Stateless, lifetime)
///     .and_then(|c| c.with_budget(99));
/// let Err(e) = refused else { panic!() };
/// assert_eq!(e, StoreConfigError::Budget(99));
/// eprintln!("{e}"); // names the setting and its range
/// ```
pub use config::StoreConfigError;
pub use decide::{call_deadline, decide, Decision, Wait, WaitReason};
pub use drive::{drive, drive_async, AsyncStore, DriveError, Fetched, Refresher, Store};
pub use failure::Failure;
pub use fetch::{Events, Fetch, Input, Outcome, Step};
pub use ids::{CredentialId, OwnerId};
pub use memory::MemoryStore;
pub use read::{Body, Read};
pub use record::{MAX_RECORD_LEN, RECORD_FORMAT};

/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let lifetime = Duration::from_secs(30 * 86_400);
/// # let config = StoreConfig::new("1234567890", TokenKind::ShortLived, lifetime)?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, Failure, OwnerId, Record};
///
/// let me = OwnerId::new(7);
/// let (record, _) = Record::from_store(0, None, now, &config)?;
/// let Decision::TakeLease(take) = decide(&record, now, me, &config) else { panic!() };
/// let held = take.into_record();
/// let release = held.release(now, me, Failure::answered(503), &config).unwrap();
/// let note = release.record().failure().unwrap();
/// assert_eq!((note.count, note.status, note.retryable), (1, Some(503), true));
/// assert!(note.retry_at > now); // the fleet backs off
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use record::FailureNote;
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let lifetime = Duration::from_secs(30 * 86_400);
/// # let config = StoreConfig::new("1234567890", TokenKind::ShortLived, lifetime)?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record};
///
/// let me = OwnerId::new(7);
/// let (record, _) = Record::from_store(0, None, now, &config)?;
/// let Decision::TakeLease(take) = decide(&record, now, me, &config) else { panic!() };
/// // Counted from the moment the lease is taken, before LINE is called.
/// let entry = &take.record().issued()[0];
/// assert_eq!(entry.tentative, Some(me));
/// assert!(entry.expires_at > now);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use record::IssuedEntry;
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let lifetime = Duration::from_secs(30 * 86_400);
/// # let config = StoreConfig::new("1234567890", TokenKind::ShortLived, lifetime)?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record};
///
/// let me = OwnerId::new(7);
/// let (record, _) = Record::from_store(0, None, now, &config)?;
/// let Decision::TakeLease(take) = decide(&record, now, me, &config) else { panic!() };
/// let lease = take.record().lease().unwrap();
/// assert_eq!(lease.owner, me);
/// assert!(lease.taken_at == now && lease.expires_at > now);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use record::Lease;
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record};
///
/// let (record, _repairs) = Record::from_store(0, None, now, &config)?; // no key yet
/// assert_eq!((record.version(), record.token(), record.lease()), (0, None, None));
/// let Decision::TakeLease(take) = decide(&record, now, OwnerId::new(7), &config) else { panic!() };
/// // After the swap, the store holds `take.body()`; read back, it is the same record.
/// let body = take.body();
/// let (read_back, _) = Record::from_store(take.new_version(), Some(body.as_bytes()), now, &config)?;
/// assert_eq!(&read_back, take.record());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use record::Record;
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::UnixTime;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record, RecordError, StoreConfig};
/// use line_channel_token::TokenKind;
///
/// let ours = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// let (record, _) = Record::from_store(0, None, now, &ours)?;
/// let Decision::TakeLease(take) = decide(&record, now, OwnerId::new(7), &ours) else { panic!() };
/// // The same key read by a fleet of another channel: refused, never served or replaced.
/// let theirs = StoreConfig::new("9876543210", TokenKind::Stateless, Duration::from_secs(900))?;
/// let read = Record::from_store(take.new_version(), Some(take.body().as_bytes()), now, &theirs);
/// assert_eq!(read.unwrap_err(), RecordError::OtherChannel);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use record::RecordError;
/// ```
/// use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900))?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record};
///
/// let (record, _) = Record::from_store(0, None, now, &config)?;
/// let ahead = now + Duration::from_secs(3600); // a writer whose clock is an hour ahead
/// let Decision::TakeLease(take) = decide(&record, ahead, OwnerId::new(1), &config) else { panic!() };
/// let body = take.body();
/// let (read, repairs) = Record::from_store(take.new_version(), Some(body.as_bytes()), now, &config)?;
/// assert!(repairs.distrusted && read.lease().is_none()); // a lease from the future is dropped
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use record::Repairs;
/// ```
/// # use std::time::Duration;
/// # use line_channel_token::{store::StoreConfig, TokenKind, UnixTime};
/// # let lifetime = Duration::from_secs(30 * 86_400);
/// # let config = StoreConfig::new("1234567890", TokenKind::ShortLived, lifetime)?;
/// # let now = UnixTime::from_secs(1_700_000_000); // the store's time
/// use line_channel_token::store::{decide, Decision, OwnerId, Record};
///
/// let me = OwnerId::new(7);
/// let (record, _) = Record::from_store(0, None, now, &config)?;
/// let Decision::TakeLease(take) = decide(&record, now, me, &config) else { panic!() };
/// // Redis: if HGET version == expected then HSET version, body; PEXPIRE keep_for.
/// assert_eq!(take.expected_version(), 0);
/// assert_ne!(take.new_version(), 0);
/// assert!(take.keep_for() > std::time::Duration::from_secs(3600));
/// let body: String = take.body();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub use write::Write;
