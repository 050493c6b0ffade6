//! When things happen: a token's usable end and refresh windows, the next deadline, and the
//! delay after a failure.

use std::time::Duration;

use super::events::Event;
use super::failure::RefreshFailure;
use super::random::{backoff_delay, mix, part_of};
use super::state::CachedToken;
use super::TokenCache;
use crate::protocol::token::IssuedToken;
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
    /// Margins proportionate to the lifetime: a skew of at most a quarter of it, a refresh
    /// lead of at most half the usable life (so at most one refresh per half life), a
    /// mandatory lead of at most an eighth of it. Both count from `issued_at`, the token's
    /// arrival by our clock: with a clock ahead of LINE's its expiry is LINE's (see
    /// `skew.rs`), so it arrives with less life, and that shorter life is what is halved.
    pub(super) fn window(&self, t: &CachedToken) -> Window {
        let lifetime = t.lifetime();
        let skew = self.config.clock_skew.min(lifetime / 4);
        let usable_until = t.expires_at - skew;
        let usable = usable_until - t.issued_at;
        let lead = self.config.refresh_before.min(usable / 2);
        // Later by up to a fifth of the lead, the same for the same token and instance.
        let jitter = part_of(lead / 5, mix(self.seed ^ t.expires_at.as_millis()));
        Window {
            usable_until,
            advisory_at: (usable_until - lead) + jitter,
        }
    }

    /// When the mandatory window of the held token opens, if there is one.
    fn mandatory_at(&self) -> Option<UnixTime> {
        let (t, w) = (self.token.as_ref()?, self.timeline?);
        let usable = w.usable_until - t.issued_at;
        Some(w.usable_until - self.config.mandatory_before.min(usable / 8))
    }

    /// Stores (or drops) the token, with its timeline.
    pub(super) fn set_token(&mut self, token: Option<CachedToken>) {
        self.timeline = token.as_ref().map(|t| self.window(t));
        self.token = token;
    }

    /// When the refresh of the current token is due (the advisory window opens), if there
    /// is a token.
    pub fn refresh_due_at(&self) -> Option<UnixTime> {
        self.timeline.map(|w| w.advisory_at)
    }

    /// The earliest a new refresh may start: after the backoff and the issuance throttle
    /// (unless a first rejection waived it, see [`TokenCache::invalidate`]).
    fn may_start_at(&self) -> UnixTime {
        let throttle = match self.last_refresh_at {
            Some(t) if !self.throttle_waived => t + self.config.min_issue_interval,
            _ => UnixTime::EPOCH,
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
                self.in_flight = None;
                self.record_failure(now, RefreshFailure::timed_out());
            }
        }
    }

    /// Drops the token if it is past its usable end, or seems issued in the future.
    pub(super) fn observe_token(&mut self, now: UnixTime) {
        if let (Some(t), Some(w)) = (&self.token, self.timeline) {
            let from_the_future = t.issued_at > now + self.config.clock_skew;
            if from_the_future || now >= w.usable_until {
                if from_the_future && self.credentials.token_kind().is_counted() {
                    // Its age is unknown, but LINE still counts it: hand it back to revoke.
                    let token = IssuedToken {
                        access_token: t.access_token.clone(),
                        expires_in: t.lifetime().as_secs(),
                        token_type: "Bearer".into(),
                        key_id: t.key_id.clone(),
                    };
                    self.set_aside(token);
                }
                self.set_token(None);
                self.bump();
                self.events.push(Event::Expired { at: now });
            }
        }
    }

    /// Counts a failure and schedules the retry: exponential backoff with jitter for what
    /// may pass, [`CacheConfig::failure_pause`](super::CacheConfig::failure_pause) for what
    /// will not; in the mandatory window, never later than halfway to the token's end.
    pub(super) fn record_failure(&mut self, now: UnixTime, failure: RefreshFailure) {
        self.failures = self.failures.saturating_add(1);
        let mut delay = if failure.retryable {
            let random = mix(self.seed ^ now.as_millis() ^ u64::from(self.failures));
            backoff_delay(&self.config, self.failures, random)
        } else {
            self.config.failure_pause
        };
        if let (Some(w), Some(mandatory_at)) = (self.timeline, self.mandatory_at()) {
            if now >= mandatory_at && now < w.usable_until {
                let half_left = (w.usable_until - now) / 2;
                delay = delay.min(half_left.max(self.config.backoff_base));
            }
        }
        let retry_at = now + delay.max(Duration::from_millis(1));
        self.retry_at = Some(retry_at);
        self.events.push(Event::RefreshFailed {
            failure: failure.clone(),
            retry_at,
        });
        self.last_failure = Some(Box::new(failure));
        self.bump();
    }

    pub(super) fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }
}
