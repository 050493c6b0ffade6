//! A fleet shares one channel's tokens through a store: one issuance for every process on
//! every machine.
//!
//! [`cache::TokenCache`](crate::cache::TokenCache) keeps a token for one process, and a file
//! (the `line-token --cache FILE` command) for one machine. Past one machine, processes share
//! a **record** in a store they already run (Redis, SQL, DynamoDB, a Durable Object) and agree
//! through a **lease** fenced by the record's **version**. This module is the protocol, sans
//! IO: it never talks to a store, reads the clock or sleeps. The store needs two operations:
//!
//! - **read**: the version and the body of one key, in one round trip (version 0, body `None`
//!   if the key does not exist);
//! - **compare-and-swap**: write a new version and body if, and only if, the key is still at
//!   the expected version (`0`: does not exist).
//!
//! ## The loop
//!
//! ```text
//! read (version, body) ──> Record::from_store ──> decide(record, now, me, config)
//!   Serve(token)        use it. On a hit this is the only round trip.
//!   Wait { until, .. }  another process is refreshing, or the fleet backs off: read again at `until`.
//!   TakeLease(write)    compare-and-swap; lost: read again. Won: decide(write.record()) = Refresh.
//!   Refresh { lease_until }
//!        issue a token (IssueStateless, IssueShortLived, IssueV21) before `lease_until`, then
//!        record.commit(..) or record.release(..) -> compare-and-swap on the lease's version.
//!        A commit that loses: read again and commit on that record (it adopts, never overwrites).
//! ```
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
//! - **A budget for counted kinds.** For short-lived and v2.1 tokens the record lists every
//!   token the fleet issued and that has not expired, late ones included. No process issues
//!   while [`StoreConfig::budget`] (default 20 of LINE's 30) are out; none is ever revoked or
//!   evicted by the protocol, since another process may be using it.
//! - **No loops.** A refresh that fails, or yields a token already due for refresh, starts a
//!   backoff shared by the whole fleet.
//! - **Distrust of what is read.** [`Record::from_store`] bounds leases, tokens and backoffs
//!   from the future, and treats a corrupt body as empty (it is replaced by the next write).
//!
//! `tests/store_model.rs` checks these exhaustively over interleavings of three processes
//! with crashes, expiring leases, late writes and clock skew.
//!
//! ## Redis
//!
//! One hash per channel and kind, e.g. `line-token:{channel}:{kind}`, with fields `version`
//! and `record`. A read is `HMGET key version record`. The compare-and-swap is a Lua script,
//! run atomically by Redis (`EVALSHA`, one round trip):
//!
//! ```lua
//! -- KEYS[1] = key; ARGV[1] = expected version ("0": absent), ARGV[2] = new version, ARGV[3] = body
//! local current = redis.call('HGET', KEYS[1], 'version') or '0'
//! if current ~= ARGV[1] then return 0 end
//! redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
//! return 1
//! ```
//!
//! Versions are compared as strings, exactly (Lua numbers are doubles and would round large
//! versions). `WATCH key` / `HMGET` / `MULTI` / `HSET` / `EXEC` does the same in three round
//! trips. `examples/support/src/redis_store.rs` is a complete adapter over the `redis` crate.
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
mod decide;
mod record;

pub use config::{ConfigError, OwnerId, StoreConfig};
pub use decide::{decide, Decision, Failure, Wait, WaitReason};
pub use record::{
    FailureNote, IssuedEntry, Lease, Record, Repairs, StoredToken, Write, RECORD_FORMAT,
};
