//! The shared record: what one store key holds for one channel and token kind, how it is
//! encoded, and how a record read back from the store is checked before anything trusts it.

use std::time::Duration;

use super::config::{OwnerId, StoreConfig};
use crate::facts::TokenKind;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// The `format` marker of an encoded record body.
pub const RECORD_FORMAT: &str = "line-channel-token/store/v1";

/// The most issued-token entries a record keeps; more than LINE's cap of 30 is never useful.
const MAX_ISSUED: usize = 64;

/// A lease: `owner` may refresh until `expires_at`; nobody else may.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    /// The process incarnation holding it.
    pub owner: OwnerId,
    /// When it was taken, by the holder's clock.
    pub taken_at: UnixTime,
    /// When it runs out, by the holder's clock; trusted no further than `taken_at` plus the
    /// reader's lease bound.
    pub expires_at: UnixTime,
}

/// The token the fleet shares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StoredToken {
    /// The bearer token. It is a secret: whoever can read the store can use it.
    pub access_token: AccessToken,
    /// When the issuing request was sent, by the issuer's clock (so `expires_at` errs early).
    pub issued_at: UnixTime,
    /// `issued_at + expires_in`.
    pub expires_at: UnixTime,
    /// The v2.1 `key_id`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// One token of a counted kind the fleet issued and that has not expired yet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct IssuedEntry {
    /// When it expires.
    pub expires_at: UnixTime,
    /// The v2.1 `key_id`, if any (matches LINE's key-ids listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// The last refresh failure and the backoff it imposes on the fleet. No server text is kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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
}

/// What one store key holds: a version, a lease, the shared token and, for counted kinds, the
/// tokens issued. No channel secret, key or assertion is ever in it.
///
/// The version is the fence. The store keeps it beside the encoded body ([`Record::body`]) and
/// compares it in every write; `0` means "no record yet".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    pub(crate) version: u64,
    pub(crate) kind: TokenKind,
    pub(crate) lease: Option<Lease>,
    pub(crate) token: Option<StoredToken>,
    pub(crate) issued: Vec<IssuedEntry>,
    pub(crate) failure: Option<FailureNote>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Body {
    format: String,
    kind: TokenKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<StoredToken>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    issued: Vec<IssuedEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<FailureNote>,
}

/// What [`Record::from_store`] had to repair; `Record` is usable either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Repairs {
    /// The body was not a record of this format and kind: it was treated as empty.
    pub unreadable: bool,
    /// A lease, token, entry or failure note was dropped or shortened as implausible.
    pub distrusted: bool,
}

impl Record {
    /// The record of a key that does not exist yet (version 0).
    pub fn empty(kind: TokenKind) -> Record {
        Record {
            version: 0,
            kind,
            lease: None,
            token: None,
            issued: Vec::new(),
            failure: None,
        }
    }

    /// Decodes what the store returned and checks it against `now` (the caller's clock) and
    /// `config`, repairing rather than failing: an absent key (`body` is `None`) or a corrupt
    /// body is an empty record at that version, so the next write replaces it.
    ///
    /// Nothing read is trusted further than its bound: a lease is held no longer than
    /// `taken_at + lease` and not at all if taken more than the clock skew in the future; a
    /// token issued in the future, living longer than LINE allows or of another kind is
    /// dropped (a counted one stays in the budget); a backoff longer than the longest pause is
    /// ignored. The decision never serves a token past its expiry by `now`, whatever the body.
    ///
    /// ```
    /// use std::time::Duration;
    /// use line_channel_token::store::{Record, StoreConfig};
    /// use line_channel_token::{TokenKind, UnixTime};
    /// let config = StoreConfig::new(TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    /// let now = UnixTime::from_secs(1_700_000_000);
    /// let (record, repairs) = Record::from_store(7, Some(b"not json"), now, &config);
    /// assert_eq!(record.version(), 7);
    /// assert!(repairs.unreadable && record.token().is_none());
    /// ```
    pub fn from_store(
        version: u64,
        body: Option<&[u8]>,
        now: UnixTime,
        config: &StoreConfig,
    ) -> (Record, Repairs) {
        let mut repairs = Repairs::default();
        let mut record = Record::empty(config.kind());
        record.version = version;
        let Some(bytes) = body else {
            return (record, repairs);
        };
        match serde_json::from_slice::<Body>(bytes) {
            Ok(b) if b.format == RECORD_FORMAT && b.kind == config.kind() => {
                record.lease = b.lease;
                record.token = b.token;
                record.issued = b.issued;
                record.failure = b.failure;
            }
            _ => {
                repairs.unreadable = true;
                return (record, repairs);
            }
        }
        repairs.distrusted = record.sanitize(now, config);
        (record, repairs)
    }

    /// Drops or bounds whatever `now` and `config` make implausible; true if anything changed.
    pub(crate) fn sanitize(&mut self, now: UnixTime, config: &StoreConfig) -> bool {
        let before = self.clone();
        // Two machines' clocks may be twice the skew apart.
        let skew = config.clock_skew().saturating_mul(2);
        let horizon = now + skew;
        let max_life = max_lifetime(config.kind()).saturating_add(skew);

        if let Some(lease) = &mut self.lease {
            if lease.taken_at > horizon || lease.expires_at < lease.taken_at {
                self.lease = None;
            } else {
                lease.expires_at = lease.expires_at.min(lease.taken_at + config.lease());
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
                    };
                    if !self.issued.contains(&entry) {
                        self.issued.push(entry);
                    }
                }
                self.token = None;
            }
        }
        if config.kind().is_counted() {
            // Entries from the future are bounded, not dropped: they still count.
            let latest = now + max_life;
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
    pub fn token(&self) -> Option<&StoredToken> {
        self.token.as_ref()
    }
    /// Counted kinds: the fleet's issued tokens not yet expired, oldest expiry first.
    pub fn issued(&self) -> &[IssuedEntry] {
        &self.issued
    }
    /// The last refresh failure, if the fleet is backing off.
    pub fn failure(&self) -> Option<&FailureNote> {
        self.failure.as_ref()
    }

    /// The shared token if it has more than the minimum remaining life by `now`.
    pub fn usable_token(&self, now: UnixTime, config: &StoreConfig) -> Option<&StoredToken> {
        self.token
            .as_ref()
            .filter(|t| now + config.min_remaining() < t.expires_at)
    }

    /// The body to store beside the version: JSON with a format marker, no secret but the
    /// access token itself.
    pub fn body(&self) -> String {
        let body = Body {
            format: RECORD_FORMAT.to_owned(),
            kind: self.kind,
            lease: self.lease.clone(),
            token: self.token.clone(),
            issued: self.issued.clone(),
            failure: self.failure.clone(),
        };
        // Plain data with string keys: serialization cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }
}

/// The longest life LINE gives a token of this kind.
fn max_lifetime(kind: TokenKind) -> Duration {
    kind.fixed_lifetime().unwrap_or(crate::facts::MAX_TOKEN_EXP)
}

/// A compare-and-swap write: replace the record at `expected_version` with `record()` (at
/// `new_version`), or do nothing if the store holds another version. Run it with your store's
/// conditional write (see the module docs), then tell the protocol whether it won.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use = "a write does nothing until the caller runs it against the store"]
pub struct Write {
    pub(crate) expected: u64,
    pub(crate) record: Record,
}

impl Write {
    pub(crate) fn new(mut record: Record, me: OwnerId, now: UnixTime) -> Write {
        let expected = record.version;
        record.version = next_version(&record, me, now);
        Write { expected, record }
    }

    /// The version the store must hold for the write to apply (`0`: the key must not exist).
    pub fn expected_version(&self) -> u64 {
        self.expected
    }
    /// The version the record gets.
    pub fn new_version(&self) -> u64 {
        self.record.version
    }
    /// The body to store.
    pub fn body(&self) -> String {
        self.record.body()
    }
    /// The record as it is once the write applied: decide on it again without re-reading.
    pub fn record(&self) -> &Record {
        &self.record
    }
    /// The record, by value.
    pub fn into_record(self) -> Record {
        self.record
    }
}

/// The version after `record`'s: a hash of the old version, the writer's random owner id, its
/// clock and the content written, never a counter. So a version comes back only with the very
/// same content (or by a 64-bit collision): if the store is wiped and refilled, a writer fenced
/// on an old version cannot land on different content, and its write applies to exactly what
/// it read.
fn next_version(record: &Record, me: OwnerId, now: UnixTime) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same on every machine and run.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (record.version, me, now).hash(&mut h);
    (
        &record.lease,
        &record.token,
        &record.issued,
        &record.failure,
    )
        .hash(&mut h);
    // 0 means "no record": never use it.
    splitmix64(h.finish()).max(1)
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
