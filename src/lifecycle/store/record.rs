//! The shared record: what one store key holds for one channel and token kind, how it is
//! encoded, and how a record read back from the store is checked before anything trusts it.

use super::config::{StoreConfig, MAX_LEASE};
use super::ids::{CredentialId, OwnerId};
use crate::facts::TokenKind;
use crate::time::UnixTime;

/// The `format` marker of an encoded record body. `v2` names its channel. A body of another
/// format is refused ([`RecordError::OtherFormat`]), never overwritten: what it counts would
/// be lost.
pub const RECORD_FORMAT: &str = "line-channel-token/store/v2";

/// The marker's prefix; the format's number follows it.
const FORMAT_PREFIX: &str = "line-channel-token/store/v";
/// This build's format number, as in [`RECORD_FORMAT`].
const FORMAT_VERSION: u32 = 2;

/// The largest record body [`Record::from_store`] accepts, as for files: 64 KiB. A store
/// adapter should refuse larger values before reading them (Redis: check `HSTRLEN` in the
/// read script), so a planted value cannot make every process allocate it.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

/// The most issued-token entries a record keeps; more than LINE's cap of 30 is never useful.
pub(crate) const MAX_ISSUED: usize = 64;

/// A lease: `owner` may refresh until `expires_at`; nobody else may.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Lease {
    /// The process incarnation holding it.
    pub owner: OwnerId,
    /// When it was taken, by the holder's clock.
    pub taken_at: UnixTime,
    /// When it runs out, by the holder's clock; trusted no further than `taken_at` plus the
    /// longest lease a process may configure, 600 s (twice it, plus the skew, if settling).
    pub expires_at: UnixTime,
    /// Taken on a record that lost its count (v2.1): it first waits for calls under leases
    /// lost with the count to end, so it may last twice the lease bound plus the skew.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub settles: bool,
    /// v2.1: the holder has listed LINE's key ids under this lease; it may issue.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listed: bool,
}

// The token the fleet shares is the cache's `CachedToken`: the one token-at-rest type. Its
// `issued_at` is when the issuing request was sent (so `expires_at` errs early); whoever can
// read the store can use `access_token`.
use crate::lifecycle::cache::CachedToken;

/// One token of a counted kind the fleet issued and that has not expired yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct IssuedEntry {
    /// When it expires.
    pub expires_at: UnixTime,
    /// The v2.1 `key_id`, if any (matches LINE's key-ids listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Set on the entry a process records when it takes the lease, before it calls LINE, so
    /// a token LINE issues is counted even if the process dies before it commits: it then
    /// stays counted until `expires_at`. The holder's commit replaces it with the real entry;
    /// a failure that certainly issued nothing removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tentative: Option<OwnerId>,
    /// Set on a tentative entry whose call failed in a way that may have issued (a 5xx, no
    /// answer: [`Failure::maybe_issued`](super::Failure::maybe_issued)), by
    /// [`Record::release`]: if LINE issued that token, nobody was handed it. A tentative
    /// entry without it (its holder stopped, or issued and could not commit) may count a
    /// token in use. See [`decide`](super::decide) for what the difference allows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
}

/// The last refresh failure and the backoff it imposes on the fleet. No server text is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FailureNote {
    /// Failures in a row.
    pub count: u32,
    /// When the last one happened, by the reporter's clock.
    pub at: UnixTime,
    /// No process refreshes before this, unless the record has no usable token and the pause
    /// looks forged (see [`Record::from_store`]).
    pub retry_at: UnixTime,
    /// Whether trying again may help (429, 5xx, transport) or a person must act (400, 401).
    pub retryable: bool,
    /// The HTTP status LINE answered, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The credential that got a refusal: the pause applies only to processes holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialId>,
    /// Whether LINE may have issued all the same (a 5xx, no answer): while the fleet holds a
    /// usable token, the next try is also spaced out over its usable life (see
    /// [`decide`](super::decide)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub maybe_issued: bool,
}

/// Why [`Record::from_store`] refused what the store returned. Nothing from it may be served
/// or overwritten: a person must look at the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The body is larger than [`MAX_RECORD_LEN`].
    TooLarge(usize),
    /// The record names another channel, or none (written by a build that did not bind
    /// records to their channel): it was copied under the wrong key.
    OtherChannel,
    /// The record holds another token kind than the key is for.
    OtherKind,
    /// The body is not a record (not JSON, no format marker, or fields that do not decode):
    /// something else wrote the key, or it was damaged. What it counted cannot be known, so
    /// it is not overwritten either.
    Unreadable,
    /// The record is of another format of this library, numbered here: newer (upgrade this
    /// process) or older (an earlier development build; delete the key).
    OtherFormat(u32),
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::TooLarge(n) => write!(
                f,
                "the store's record is {n} bytes, more than the 64 KiB a record can be; delete the key"
            ),
            RecordError::OtherChannel => f.write_str(
                "the store's record belongs to another channel; delete the key or check the key prefix",
            ),
            RecordError::OtherKind => f.write_str(
                "the store's record holds another token kind; delete the key or check the key prefix",
            ),
            RecordError::Unreadable => f.write_str(
                "the store's record is not a line-channel-token record or is damaged; it is left as is: check what wrote the key, then delete it (tokens it counted are no longer counted)",
            ),
            RecordError::OtherFormat(n) if *n > FORMAT_VERSION => write!(
                f,
                "the store's record is format v{n}, written by a newer line-channel-token than this one (v{FORMAT_VERSION}); upgrade this process"
            ),
            RecordError::OtherFormat(n) => write!(
                f,
                "the store's record is format v{n}, written by an older line-channel-token; delete the key (tokens it counted are no longer counted)"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// What one store key holds: a version, a lease, the shared token and, for counted kinds, the
/// tokens issued. No channel secret, key or assertion is ever in it.
///
/// The version is the fence. The store keeps it beside the encoded body ([`Record::body`]) and
/// compares it in every write; `0` means "no record yet".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    pub(crate) version: u64,
    pub(crate) kind: TokenKind,
    pub(crate) channel: String,
    /// v2.1: the issued list may miss tokens LINE holds (the record is new, was wiped, or
    /// lost writes): the next holder lists LINE's key ids before it issues.
    pub(crate) uncertain: bool,
    pub(crate) lease: Option<Lease>,
    pub(crate) token: Option<CachedToken>,
    pub(crate) issued: Vec<IssuedEntry>,
    pub(crate) failure: Option<FailureNote>,
    /// Shared tokens dropped by [`Record::invalidate`] in a row, and the last issuance.
    pub(crate) rejected: Option<Box<super::count::Rejections>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Body {
    format: String,
    kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    uncertain: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<CachedToken>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    issued: Vec<IssuedEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<FailureNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rejected: Option<Box<super::count::Rejections>>,
}

/// Only the format marker, read first: a body of another format is refused by its number
/// even if its fields would not decode as this format's.
#[derive(serde::Deserialize)]
struct Marker {
    format: String,
}

/// What [`Record::from_store`] had to repair; `Record` is usable either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Repairs {
    /// A lease, token, entry or failure note was dropped or shortened as implausible.
    pub distrusted: bool,
}

impl Record {
    /// The record of a key that does not exist yet (version 0), for `config`'s channel and
    /// token kind.
    pub fn empty(config: &StoreConfig) -> Record {
        let kind = config.kind();
        Record {
            version: 0,
            kind,
            channel: config.channel().to_owned(),
            uncertain: kind == TokenKind::V21,
            lease: None,
            token: None,
            issued: Vec::new(),
            failure: None,
            rejected: None,
        }
    }

    /// Decodes what the store returned and checks it against `now` (the fleet's clock: the
    /// store's time, see the module docs) and `config`. An absent key (`body` is `None`) is an
    /// empty record at that version.
    ///
    /// Nothing read is trusted further than its bound: a lease is held no longer than
    /// `taken_at + 600 s` (the longest lease) and not at all if taken more than the clock
    /// skew in the future; a token issued in the future, living longer than LINE allows or of
    /// another kind is dropped (a counted one stays in the budget); a backoff longer than the
    /// longest pause is ignored. The decision never serves a token past its expiry by `now`, whatever the body.
    ///
    /// # Errors
    /// A body this fleet cannot count on is refused, never served or replaced (a person must
    /// look at the key): one that is not a record or is damaged
    /// ([`RecordError::Unreadable`]), of another format ([`RecordError::OtherFormat`]), of
    /// another channel or kind ([`RecordError::OtherChannel`], [`RecordError::OtherKind`]),
    /// or over [`MAX_RECORD_LEN`] ([`RecordError::TooLarge`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use line_channel_token::store::{Record, RecordError, StoreConfig};
    /// use line_channel_token::{TokenKind, UnixTime};
    /// let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    /// let now = UnixTime::from_secs(1_700_000_000);
    /// let (record, _) = Record::from_store(0, None, now, &config)?;
    /// assert!(record.token().is_none());
    /// assert_eq!(
    ///     Record::from_store(7, Some(b"not json"), now, &config).unwrap_err(),
    ///     RecordError::Unreadable
    /// );
    /// # Ok::<(), line_channel_token::store::RecordError>(())
    /// ```
    pub fn from_store(
        version: u64,
        body: Option<&[u8]>,
        now: UnixTime,
        config: &StoreConfig,
    ) -> Result<(Record, Repairs), RecordError> {
        let mut record = Record::decode(version, body, config)?;
        let distrusted = record.sanitize(now, config);
        Ok((record, Repairs { distrusted }))
    }

    /// As [`Record::from_store`], at `now` or, if later, the latest time the record itself
    /// records (the token's issuance, the lease's start, the last failure) up to `ceiling`:
    /// a store clock that went back behind its own record does not make an expired token
    /// look fresh. Returns the record and the time to decide at.
    pub(crate) fn from_store_floored(
        version: u64,
        body: Option<&[u8]>,
        now: UnixTime,
        ceiling: UnixTime,
        config: &StoreConfig,
    ) -> Result<(Record, UnixTime), RecordError> {
        let mut record = Record::decode(version, body, config)?;
        let recorded = [
            record.token.as_ref().map(|t| t.issued_at),
            record.lease.as_ref().map(|l| l.taken_at),
            record.failure.as_ref().map(|f| f.at),
        ];
        let latest = recorded
            .into_iter()
            .flatten()
            .filter(|t| *t <= ceiling)
            .max();
        let at = latest.map_or(now, |t| t.max(now));
        record.sanitize(at, config);
        Ok((record, at))
    }

    /// The record a body holds, checked for its format, channel and kind, not yet sanitized.
    fn decode(
        version: u64,
        body: Option<&[u8]>,
        config: &StoreConfig,
    ) -> Result<Record, RecordError> {
        let mut record = Record::empty(config);
        record.version = version;
        let Some(bytes) = body else {
            return Ok(record);
        };
        if bytes.len() > MAX_RECORD_LEN {
            return Err(RecordError::TooLarge(bytes.len()));
        }
        let marker: Marker = serde_json::from_slice(bytes).map_err(|_| RecordError::Unreadable)?;
        if marker.format != RECORD_FORMAT {
            let number = marker.format.strip_prefix(FORMAT_PREFIX);
            // Only a number as this crate writes one (`v02`, `v+2` are nobody's format).
            let parsed = number.and_then(|n| n.parse::<u32>().ok().filter(|v| v.to_string() == n));
            return Err(match parsed {
                Some(n) if n != FORMAT_VERSION => RecordError::OtherFormat(n),
                _ => RecordError::Unreadable,
            });
        }
        let b: Body = serde_json::from_slice(bytes).map_err(|_| RecordError::Unreadable)?;
        if b.kind != config.kind() {
            return Err(RecordError::OtherKind);
        }
        if b.channel.as_deref() != Some(config.channel()) {
            return Err(RecordError::OtherChannel);
        }
        record.uncertain = b.uncertain;
        record.lease = b.lease;
        record.token = b.token;
        record.issued = b.issued;
        record.failure = b.failure;
        record.rejected = b.rejected;
        Ok(record)
    }

    /// The record to write next, sanitized at `now`, if `me` holds the lease; `None` if the
    /// lease is no longer `me`'s (whoever holds it now is trying).
    pub(crate) fn held_copy(
        &self,
        now: UnixTime,
        me: OwnerId,
        config: &StoreConfig,
    ) -> Option<Record> {
        if !self.lease.as_ref().is_some_and(|l| l.owner == me) {
            return None;
        }
        let mut next = self.clone();
        next.sanitize(now, config);
        Some(next)
    }

    /// Drops or bounds whatever `now` and `config` make implausible; true if anything changed.
    pub(crate) fn sanitize(&mut self, now: UnixTime, config: &StoreConfig) -> bool {
        let before = self.clone();
        if self.channel != config.channel() {
            config.channel().clone_into(&mut self.channel);
        }
        // Two machines' clocks may be twice the skew apart.
        let skew = config.clock_skew().saturating_mul(2);
        let horizon = now + skew;
        let max_life = max_lifetime(config.kind()).saturating_add(skew);

        if let Some(lease) = &mut self.lease {
            if lease.taken_at > horizon || lease.expires_at < lease.taken_at {
                self.lease = None;
            } else {
                // Trusted up to the longest lease any process may configure, not the reader's
                // own: a holder with a longer lease (a rolling change of the setting) is not
                // taken over while its call may still issue. A lease on a record that lost its
                // count also waits for lost calls to end.
                let bound = if lease.settles {
                    MAX_LEASE.saturating_mul(2).saturating_add(skew)
                } else {
                    MAX_LEASE
                };
                lease.expires_at = lease.expires_at.min(lease.taken_at + bound);
            }
        }
        if let Some(t) = &self.token {
            let plausible = !t.access_token.expose_secret().is_empty()
                && t.issued_at <= horizon
                && t.expires_at > t.issued_at
                && t.expires_at - t.issued_at <= max_life;
            if !plausible {
                // A counted token stays in the budget: someone may be using it.
                if config.kind().is_counted() {
                    let entry = IssuedEntry {
                        expires_at: t.expires_at,
                        key_id: t.key_id.clone(),
                        tentative: None,
                        failed: false,
                    };
                    if !self.issued.contains(&entry) {
                        self.issued.push(entry);
                    }
                }
                self.token = None;
            }
        }
        if config.kind().is_counted() {
            // Entries from the future are bounded, not dropped: they still count. A tentative
            // entry may reach a lease past `now` (a token sent at the lease's end).
            let latest = now + max_life + MAX_LEASE.saturating_mul(2) + skew;
            for e in &mut self.issued {
                e.expires_at = e.expires_at.min(latest);
            }
            self.issued.retain(|e| e.expires_at + skew > now);
            self.issued.sort_by_key(|e| e.expires_at);
            if self.issued.len() > MAX_ISSUED {
                let drop = self.issued.len() - MAX_ISSUED;
                self.issued.drain(..drop);
            }
        } else {
            self.issued.clear();
        }
        if let Some(f) = &self.failure {
            let forged = f.at > horizon
                || f.retry_at < f.at
                || f.retry_at - f.at > config.longest_pause().saturating_add(skew);
            if forged {
                self.failure = None;
            }
        }
        let longest = config.longest_pause().saturating_add(skew);
        if self
            .rejected
            .as_ref()
            .is_some_and(|r| r.retry_at > now + longest)
        {
            self.rejected = None;
        }
        *self != before
    }

    /// The version the store holds this record at (`0`: no record yet).
    pub fn version(&self) -> u64 {
        self.version
    }
    /// The token kind.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
    /// The lease, if one was taken and not released (it may have run out).
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }
    /// The shared token, whatever its age; [`Record::usable_token`] is the one to serve.
    pub fn token(&self) -> Option<&CachedToken> {
        self.token.as_ref()
    }
    /// Counted kinds: the fleet's issued tokens not yet expired, oldest expiry first.
    pub fn issued(&self) -> &[IssuedEntry] {
        &self.issued
    }
    /// v2.1: whether the count of issued tokens may be short of LINE's (a new, wiped or
    /// taken-over record); the next holder lists LINE's key ids first.
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }
    /// The last refresh failure, if the fleet is backing off.
    pub fn failure(&self) -> Option<&FailureNote> {
        self.failure.as_ref()
    }

    /// The shared token if it has more than the minimum remaining life by `now`.
    pub fn usable_token(&self, now: UnixTime, config: &StoreConfig) -> Option<&CachedToken> {
        self.token
            .as_ref()
            .filter(|t| now < config.window(t).usable_until)
    }

    /// The body to store beside the version: JSON with a format marker, no secret but the
    /// access token itself.
    pub fn body(&self) -> String {
        let body = Body {
            format: RECORD_FORMAT.to_owned(),
            kind: self.kind,
            channel: Some(self.channel.clone()),
            uncertain: self.uncertain,
            lease: self.lease.clone(),
            token: self.token.clone(),
            issued: self.issued.clone(),
            failure: self.failure.clone(),
            rejected: self.rejected.clone(),
        };
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }
}

use crate::lifecycle::policy::longest_lifetime as max_lifetime;
