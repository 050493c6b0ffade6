//! How a fetch takes in what the store says and how long it keeps at it: the time to decide
//! at (the store's, unless its clock went back behind its own record), its wait limit,
//! counted on the store's clock and on this machine's (a store clock that stands still or
//! steps back must not make a wait endless), and a bound on writes the store does not keep
//! (an evicted key, a failover that drops them), which would otherwise make the fetch take
//! the lease again and again, at once.

use std::time::Duration;

use super::config::StoreConfig;
use super::fetch::Events;
use super::read::{Body, Read};
use super::record::{Record, RecordError, MAX_RECORD_LEN};
use super::write::Write;
use crate::time::UnixTime;

/// Writes in a row the store may lose before the fetch slows down to the poll interval: a
/// write of another process between this one's write and its read counts too, so a few are
/// tolerated.
pub(crate) const LOST_FREE: u32 = 2;

/// How far this machine's clock (`local`) is from the fleet's (`fleet`) in ms, positive if
/// ahead, when beyond `tolerated`.
pub(crate) fn clock_off(local: UnixTime, fleet: UnixTime, tolerated: Duration) -> Option<i64> {
    let off = i128::from(local.as_millis()) - i128::from(fleet.as_millis());
    let tolerated = i128::try_from(tolerated.as_millis()).unwrap_or(i128::MAX);
    (off.abs() > tolerated)
        .then(|| i64::try_from(off).unwrap_or(if off > 0 { i64::MAX } else { i64::MIN }))
}

/// A fetch's wait limit and lost-writes count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patience {
    max_wait: Duration,
    /// The store's time at the first read, plus `max_wait`.
    give_up: Option<UnixTime>,
    /// This machine's clock at the first read, and at the latest.
    local_start: Option<UnixTime>,
    local: UnixTime,
    /// After a swap: the version the next read must show (it applied), or must no longer
    /// show (it was refused: another process wrote).
    expect: Option<(u64, bool)>,
    /// Writes in a row the next read showed were not kept.
    lost: u32,
    /// The fetch has paused for them since the last write: it may write once more.
    paused: bool,
}

impl Patience {
    pub(crate) fn new(max_wait: Duration) -> Patience {
        Patience {
            max_wait,
            give_up: None,
            local_start: None,
            local: UnixTime::EPOCH,
            expect: None,
            lost: 0,
            paused: false,
        }
    }

    /// Takes in a read the store answered when this machine's clock said `local`: the record,
    /// and the time to decide at. That is the store's time or, if the store's clock went back
    /// behind the latest time its record records, that time, no later than this machine's clock
    /// (plus twice the skew) allows (`events.store_clock_back_ms` says so). A clock off from it
    /// goes to `events.clock_off_ms`.
    pub(crate) fn take_in(
        &mut self,
        read: Read,
        local: UnixTime,
        config: &StoreConfig,
        events: &mut Events,
    ) -> Result<(Record, UnixTime), RecordError> {
        self.read(read.now, local, read.version);
        let body = match &read.body {
            Body::Absent => None,
            Body::Present(bytes) => Some(bytes.as_slice()),
            Body::TooLarge(n) => return Err(RecordError::TooLarge((*n).max(MAX_RECORD_LEN + 1))),
        };
        let ceiling = local + config.clock_skew().saturating_mul(2);
        let (record, now) =
            Record::from_store_floored(read.version, body, read.now, ceiling, config)?;
        let back = now - read.now;
        if back > Duration::ZERO {
            events.store_clock_back_ms = u64::try_from(back.as_millis()).ok();
        }
        events.clock_off_ms = clock_off(local, now, config.clock_skew()).or(events.clock_off_ms);
        Ok((record, now))
    }

    /// A read of `version` at the store's time `now`, when this machine's clock said `local`.
    pub(crate) fn read(&mut self, now: UnixTime, local: UnixTime, version: u64) {
        self.give_up.get_or_insert(now + self.max_wait);
        self.local_start.get_or_insert(local);
        self.local = local;
        if let Some((expected, applied)) = self.expect.take() {
            let lost = if applied {
                version != expected
            } else {
                version == expected
            };
            self.lost = if lost { self.lost.saturating_add(1) } else { 0 };
            self.paused = false;
        }
    }

    /// The store answered `write`'s compare-and-swap.
    pub(crate) fn swapped(&mut self, write: &Write, applied: bool) {
        self.expect = Some(if applied {
            (write.new_version(), true)
        } else {
            (write.expected_version(), false)
        });
    }

    /// The latest a wait may end, as a time of the store's clock at `now`: `max_wait` after
    /// the first read by the store's clock, and by this machine's (which goes back to zero
    /// elapsed if it steps back: the store's bound then still holds).
    pub(crate) fn give_up(&self, now: UnixTime) -> UnixTime {
        let elapsed = self.local - self.local_start.unwrap_or(self.local);
        let left = self.max_wait.saturating_sub(elapsed);
        self.give_up.unwrap_or(now).min(now + left)
    }

    /// Writes in a row the store did not keep, if more than a store that keeps them shows
    /// and the fetch has not paused since the last one.
    pub(crate) fn losing_writes(&self) -> Option<u32> {
        (self.lost > LOST_FREE && !self.paused).then_some(self.lost)
    }

    /// The fetch pauses (a poll interval) before it writes again.
    pub(crate) fn pause(&mut self) {
        self.paused = true;
    }
}
