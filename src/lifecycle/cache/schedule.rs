//! When things happen: a token's usable end and refresh windows, the next deadline, and the
//! delay after a failure.

use std::time::Duration;

use super::failure::RefreshFailure;
use super::random::{backoff_delay, mix};
use super::state::CachedToken;
use super::TokenCache;
use crate::lifecycle::policy;
use crate::time::UnixTime;

/// The end of representable time. A deadline that saturated here (a clock reading near
/// `u64::MAX` ms) is never reached: otherwise every poll at that instant would be "past" the
/// throttle, the backoff and the in-flight timeout, and start a refresh.
const END: UnixTime = UnixTime::from_millis(u64::MAX);

/// Whether `deadline` has come at `now`; a saturated deadline never comes.
fn reached(now: UnixTime, deadline: UnixTime) -> bool {
    now >= deadline && deadline < END
}

/// A held token's timeline, computed once when the token is stored.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// The token is handed out strictly before this: expiry minus the skew margin.
    pub(super) usable_until: UnixTime,
    /// The advisory window opens (jittered).
    pub(super) advisory_at: UnixTime,
}

impl TokenCache {
    /// The token's timeline by the shared rules (`lifecycle::policy::window`): the skew as
    /// the margin, `refresh_before` as the lead, jittered by this instance's seed. Both
    /// count from `issued_at`, the token's arrival by our clock: with a clock ahead of
    /// LINE's its expiry is LINE's (see `skew.rs`), so it arrives with less life, and that
    /// shorter life is what is halved.
    pub(super) fn window(&self, t: &CachedToken) -> Window {
        let (c, seed) = (&self.config, self.seed);
        let w = policy::window(
            t.issued_at,
            t.expires_at,
            c.clock_skew,
            c.refresh_before,
            seed,
        );
        Window {
            usable_until: w.usable_until,
            advisory_at: w.refresh_at,
        }
    }

    /// When the mandatory window of the held token opens, if there is one.
    fn mandatory_at(&self) -> Option<UnixTime> {
        let (t, w) = (self.token.as_ref()?, self.timeline?);
        let usable = w.usable_until - t.issued_at;
        Some(w.usable_until - self.config.mandatory_before.min(usable / 8))
    }

    /// When the refresh of the current token is due (the advisory window opens), if there
    /// is a token.
    pub fn refresh_due_at(&self) -> Option<UnixTime> {
        self.timeline.map(|w| w.advisory_at)
    }

    /// The earliest a new refresh may start: after the backoff and the issuance throttle
    /// (unless a first rejection waived it, see [`TokenCache::invalidate`], or a first
    /// abandoned refresh).
    fn may_start_at(&self) -> UnixTime {
        let throttle = if self.throttle_waived {
            UnixTime::EPOCH
        } else {
            policy::throttle_until(self.last_refresh_at, self.config.min_issue_interval)
        };
        self.retry_at.unwrap_or(UnixTime::EPOCH).max(throttle)
    }

    /// Whether a refresh should start at `now`.
    pub(super) fn refresh_wanted(&self, now: UnixTime) -> bool {
        let due = self.timeline.is_none_or(|w| now >= w.advisory_at);
        due && self.in_flight.is_none() && reached(now, self.may_start_at())
    }

    /// The next time polling can change anything: a refresh becoming due or allowed, the
    /// token's usable end, or the in-flight timeout. After [`TokenCache::poll`] returned
    /// `InFlight(t)`, `Wait(t)` or `Failed`, this is `t` (and later than that poll's `now`);
    /// a time at or before now means "poll now".
    pub fn next_deadline(&self) -> UnixTime {
        let window = self.timeline;
        let usable_until = window.as_ref().map(|w| w.usable_until);
        let next = match (self.in_flight, &window) {
            (Some((_, started)), _) => started + self.config.in_flight_timeout,
            (None, Some(w)) => w.advisory_at.max(self.may_start_at()),
            (None, None) => self.may_start_at(),
        };
        usable_until.map_or(next, |u| next.min(u))
    }

    /// Brings the state up to `now`: markers from a clock that went back are pulled in, a
    /// token issued "in the future" or past its usable end is dropped, and a refresh that
    /// outlived the in-flight timeout counts as failed.
    pub(super) fn observe(&mut self, now: UnixTime) {
        self.pull_in_markers(now);
        self.observe_token(now);
        if let Some((_, started)) = self.in_flight {
            if reached(now, started + self.config.in_flight_timeout) {
                self.end_refresh();
                self.record_failure(now, RefreshFailure::timed_out());
            }
        }
    }

    /// Drops the token if it is past its usable end, or seems issued in the future.
    pub(super) fn observe_token(&mut self, now: UnixTime) {
        if let (Some(t), Some(w)) = (&self.token, self.timeline) {
            let from_the_future = t.issued_at > now + self.config.clock_skew;
            if from_the_future || now >= w.usable_until {
                let hand_back = from_the_future && self.credentials.token_kind().is_counted();
                self.expire_token(now, hand_back);
            }
        }
    }

    /// How long to wait after failure number `failures` at `now`: exponential backoff with
    /// jitter for what may pass (`retryable`),
    /// [`CacheConfig::failure_pause`](super::CacheConfig::failure_pause) for what will not;
    /// in the mandatory window, never later than halfway to the token's end.
    pub(super) fn retry_delay(&self, now: UnixTime, failures: u32, retryable: bool) -> Duration {
        let mut delay = if retryable {
            let random = mix(self.seed ^ now.as_millis() ^ u64::from(failures));
            backoff_delay(&self.config, failures, random)
        } else {
            self.config.failure_pause
        };
        if let (Some(w), Some(mandatory_at)) = (self.timeline, self.mandatory_at()) {
            if now >= mandatory_at && now < w.usable_until {
                let half_left = (w.usable_until - now) / 2;
                delay = delay.min(half_left.max(self.config.backoff_base));
            }
        }
        delay.max(Duration::from_millis(1))
    }
}
