//! A compare-and-swap write of a record: the version it is fenced on, the version it gets,
//! and how long the store keeps the key after it.

use std::time::Duration;

use super::ids::OwnerId;
use super::record::Record;
use crate::time::UnixTime;

/// How long a key is kept after the last time its record mentions (a token's or an issued
/// entry's expiry, the lease, a backoff): long enough for a late reader, short enough that a
/// channel nobody uses leaves nothing behind.
const KEEP_AFTER: Duration = Duration::from_secs(3_600);

/// A compare-and-swap write: replace the record at `expected_version` with `record()` (at
/// `new_version`), or do nothing if the store holds another version. Run it with your store's
/// conditional write (see the module docs), then tell the protocol whether it won.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use = "a write does nothing until the caller runs it against the store"]
pub struct Write {
    pub(crate) expected: u64,
    pub(crate) record: Record,
    pub(crate) keep_for: Duration,
}

impl Write {
    pub(crate) fn new(mut record: Record, me: OwnerId, now: UnixTime) -> Write {
        let expected = record.version;
        record.version = next_version(&record, me, now);
        let last = [
            record.token.as_ref().map(|t| t.expires_at),
            record.issued.iter().map(|e| e.expires_at).max(),
            record.lease.as_ref().map(|l| l.expires_at),
            record.failure.as_ref().map(|f| f.retry_at),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now);
        let keep_for = last
            .saturating_duration_since(now)
            .saturating_add(KEEP_AFTER);
        Write {
            expected,
            record,
            keep_for,
        }
    }

    /// How long the store should keep the key after this write (Redis: `PEXPIRE` in the
    /// same script): an hour past the latest time the record mentions, so the key expires
    /// some time after its token and every counted entry do.
    pub fn keep_for(&self) -> Duration {
        self.keep_for
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
        record.uncertain,
    )
        .hash(&mut h);
    // Only when set: a record without one gets the version it always got.
    if let Some(r) = &record.rejected {
        r.hash(&mut h);
    }
    // 0 means "no record": never use it.
    splitmix64(h.finish()).max(1)
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
