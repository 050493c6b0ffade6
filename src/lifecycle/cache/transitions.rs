//! Every change to a `TokenCache`'s fields, each with the invariant it keeps.
//!
//! The other files of the cache decide (is a refresh due, is this answer usable, how long to
//! back off, has the clock gone back) and read fields; only the methods here assign them, and
//! each states, in its doc comment, the invariant it keeps. `tests/cache_transitions.rs`
//! fails if a field is assigned, or mutably borrowed, anywhere else.
//!
//! What each method writes:
//!
//! - `fresh`: every field, once;
//! - `bump`: `generation`; `note`, `poll_event`: `events`; `set_aside`, `take_surplus`:
//!   `surplus`;
//! - `set_token`, `expire_token`: `token` and `timeline`;
//! - `start_refresh`: `credentials` (the assertion), `next_seq`, `in_flight`,
//!   `last_refresh_at`, `throttle_waived`, `rejections`; `end_refresh`: `in_flight`,
//!   `abandoned`; `abandon_refresh`: `in_flight`, `abandoned`, `throttle_waived` (or a
//!   failure);
//!   `forget_assertion`: `credentials`;
//! - `store_token`, `record_failure`: `failures`, `retry_at`, `last_failure` (and the token);
//! - `invalidate`: `rejections`, `throttle_waived`, `retry_at`, `rejected`, `token`,
//!   `stale_below`;
//! - `adopt` (restore): the token, the in-flight refresh, the failures and the throttle;
//!   `pull_in_markers`: `retry_at`, `last_refresh_at`, `in_flight`.

use http::Request;

use super::config::CacheConfig;
use super::credentials::Credentials;
use super::events::{self, Event};
use super::failure::RefreshFailure;
use super::poll::Ticket;
use super::random;
use super::state::{longest_lifetime, CacheState, CachedToken};
use super::TokenCache;
use crate::jose::assertion::AssertionError;
use crate::protocol::api_base::ApiBase;
use crate::protocol::token::IssuedToken;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// At most this many surplus tokens wait to be taken; older ones have the shortest life left.
const SURPLUS_LIMIT: usize = crate::facts::MAX_ACTIVE_V21;

impl TokenCache {
    /// A cache with no token, no refresh, no failure: the only place a `TokenCache` is
    /// built.
    ///
    /// Keeps: `api`, `config`, `seed` and `incarnation` are set here and never change. The
    /// incarnation, drawn from the seed, tells this instance's tickets from those of any
    /// other (a restored one included), so no answer is accepted by the wrong cache.
    pub(super) fn fresh(
        api: ApiBase,
        credentials: Credentials,
        config: CacheConfig,
        seed: u64,
        record_events: bool,
    ) -> TokenCache {
        TokenCache {
            api,
            credentials,
            config,
            token: None,
            timeline: None,
            in_flight: None,
            failures: 0,
            retry_at: None,
            last_failure: None,
            last_refresh_at: None,
            seed,
            incarnation: random::incarnation(seed),
            next_seq: 0,
            stale_below: 0,
            rejections: 0,
            throttle_waived: false,
            abandoned: 0,
            rejected: Vec::new(),
            generation: 0,
            events: events::Events::new(record_events),
            surplus: Vec::new(),
        }
    }

    /// Marks a change to what [`TokenCache::poll`] would say.
    ///
    /// Keeps: `generation` changes whenever what `poll` would say changes (every transition
    /// here that changes it calls this), so a caller waiting for another's refresh never
    /// misses its end.
    pub(super) fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Queues an event for [`TokenCache::poll_event`] (the queue bounds itself: `Events`).
    pub(super) fn note(&mut self, event: Event) {
        self.events.push(event);
    }

    /// The oldest undrained [`Event`], if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop()
    }

    /// Counted tokens (short-lived, v2.1) LINE issued that the cache did not keep: revoke
    /// them, or each holds one of LINE's 30 slots until it expires. At most 30 are kept.
    pub fn take_surplus(&mut self) -> Vec<IssuedToken> {
        std::mem::take(&mut self.surplus)
    }

    /// Stores (or drops) the token, with its timeline.
    ///
    /// Keeps: `timeline` is always `token`'s [`window`](TokenCache::window), computed once
    /// here, so the hot path ([`TokenCache::token`]) only compares.
    pub(super) fn set_token(&mut self, token: Option<CachedToken>) {
        self.timeline = token.as_ref().map(|t| self.window(t));
        self.token = token;
    }

    /// Hands out the next refresh at `now`, signing an assertion if the last one is too old
    /// (one valid past the skew margin and the in-flight timeout is reused): the only place a
    /// refresh starts. The caller has checked that one may ([`TokenCache::refresh_wanted`]).
    ///
    /// Keeps: at most one refresh is in flight; its number is below `next_seq` and unique in
    /// this instance. The issuance throttle counts from `last_refresh_at`, set here; a
    /// waiver (`throttle_waived`) serves one refresh only; `rejections` counts rejections in a
    /// row, and a token that lived to its refresh window ends the row.
    pub(super) fn start_refresh(
        &mut self,
        now: UnixTime,
    ) -> Result<(Ticket, Request<Vec<u8>>), AssertionError> {
        let margin = self.config.clock_skew + self.config.in_flight_timeout;
        let request = self.credentials.request(&self.api, now, margin)?;
        let ticket = Ticket {
            incarnation: self.incarnation,
            seq: self.next_seq,
            started: now,
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        self.in_flight = Some((ticket.seq, now));
        self.last_refresh_at = Some(now);
        self.throttle_waived = false;
        if self.token(now).is_some() {
            // The token lived to its refresh window: rejections are not in a row.
            self.rejections = 0;
        }
        self.bump();
        Ok((ticket, request))
    }

    /// The refresh in flight is over (answered, failed, abandoned or timed out). The caller
    /// records what came of it.
    ///
    /// Keeps: `in_flight` is `None` as soon as its refresh's outcome is known, so another
    /// may start, and a later answer to it counts as late.
    pub(super) fn end_refresh(&mut self) {
        self.in_flight = None;
        self.abandoned = 0;
    }

    /// The refresh in flight will never be answered: its send panicked or its future was
    /// dropped. That is no failure of LINE's.
    ///
    /// Keeps: a cancelled request never fails the requests waiting with it, and senders
    /// cancelled every time do not issue once per call. The first abandonment in a row
    /// (`abandoned`, reset by any outcome, [`TokenCache::end_refresh`]) hands the refresh to
    /// the next caller at once, past the issuance throttle, with no failure recorded; a
    /// further one before any answer counts as a failure at the refresh's start, so the
    /// backoff applies.
    pub(super) fn abandon_refresh(&mut self, started: UnixTime) {
        self.in_flight = None;
        self.abandoned = self.abandoned.saturating_add(1);
        if self.abandoned == 1 {
            self.throttle_waived = true;
            self.bump();
        } else {
            self.record_failure(started, RefreshFailure::abandoned());
        }
    }

    /// LINE refused the assertion: sign a new one next time.
    pub(super) fn forget_assertion(&mut self) {
        self.credentials.forget_assertion();
    }

    /// Keeps `candidate`, a token from a refresh that [`TokenCache::handle_response`] found
    /// usable.
    ///
    /// Keeps: `failures`, `retry_at` and `last_failure` are cleared together when a token is
    /// stored, and every stored token queues `Issued` (the first) or `Refreshed`.
    pub(super) fn store_token(&mut self, candidate: CachedToken) {
        let first = self.token.is_none();
        let expires_at = candidate.expires_at;
        self.set_token(Some(candidate));
        self.failures = 0;
        self.retry_at = None;
        self.last_failure = None;
        self.bump();
        self.note(if first {
            Event::Issued { expires_at }
        } else {
            Event::Refreshed { expires_at }
        });
    }

    /// Counts a failure at `now` and schedules the retry ([`TokenCache::retry_delay`]).
    ///
    /// Keeps: `failures` counts failures since the last stored token, `retry_at` is later
    /// than the failure, and `last_failure` is the latest failure: set together, with a
    /// `RefreshFailed` event.
    pub(super) fn record_failure(&mut self, now: UnixTime, failure: RefreshFailure) {
        self.failures = self.failures.saturating_add(1);
        let retry_at = now + self.retry_delay(now, self.failures, failure.retryable);
        self.retry_at = Some(retry_at);
        self.note(Event::RefreshFailed {
            failure: failure.clone(),
            retry_at,
        });
        self.last_failure = Some(Box::new(failure));
        self.bump();
    }

    /// Drops the held token at `now`: past its usable end, or issued "in the future"
    /// ([`TokenCache::observe_token`] decides).
    ///
    /// Keeps: a counted token dropped unexpired (`hand_back`) is set aside for revocation: its
    /// age is unknown, but it holds one of LINE's slots until it is revoked.
    pub(super) fn expire_token(&mut self, now: UnixTime, hand_back: bool) {
        if let Some(t) = self.token.as_ref().filter(|_| hand_back) {
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
        self.note(Event::Expired { at: now });
    }

    /// Keeps a counted token LINE issued but the cache does not use, for the caller to revoke.
    ///
    /// Keeps: at most [`SURPLUS_LIMIT`] tokens wait; the oldest (shortest life left) goes
    /// first.
    pub(super) fn set_aside(&mut self, token: IssuedToken) {
        if self.surplus.len() >= SURPLUS_LIMIT {
            self.surplus.remove(0);
        }
        self.note(Event::Surplus {
            key_id: token.key_id.clone(),
        });
        self.surplus.push(token);
    }

    /// Drops `rejected` if it is the current token (say a Messaging API call answered 401
    /// with it), so the next poll refreshes once. A token that is no longer current changes
    /// nothing: another caller already replaced it. Late answers to refreshes handed out
    /// before the drop are not stored (one may carry the rejected token again); the refresh
    /// in flight, if any, still counts, but no answer that carries the rejected token again
    /// is ever stored.
    ///
    /// The refresh a first rejection asks for is not held back by the issuance throttle, so a
    /// 401 gets a new token within one round trip to LINE (a backoff from a failed refresh
    /// still applies). A channel whose every token is rejected (a suspended channel) does not
    /// loop: each further rejection in a row, of a token that never reached its refresh
    /// window, waits [`CacheConfig::backoff_base`] doubling up to
    /// [`CacheConfig::backoff_cap`] after the last issuance, and the throttle applies again:
    /// at most one issuance a minute with the default policy.
    //
    // Keeps: the dropped token (`rejected`) is never stored again, and no late answer to a
    // refresh numbered below `stale_below` (handed out before the drop) is stored: both are
    // checked where an answer is taken (answer.rs).
    pub fn invalidate(&mut self, rejected: &AccessToken) -> bool {
        if let Some(t) = self.token.as_ref().filter(|t| t.access_token == *rejected) {
            self.rejections = self.rejections.saturating_add(1);
            if self.rejections == 1 {
                self.throttle_waived = true;
            } else {
                let since = self.last_refresh_at.unwrap_or(t.issued_at).max(t.issued_at);
                // The throttle is applied apart (`may_start_at`), from `last_refresh_at`.
                let until = crate::lifecycle::policy::after_rejections(
                    Some(since),
                    self.rejections,
                    self.config.backoff_base,
                    self.config.backoff_cap,
                    std::time::Duration::ZERO,
                );
                self.retry_at = self.retry_at.max(Some(until));
            }
            if let Some(t) = self.token.take() {
                if self.rejected.len() >= super::REJECTED_LIMIT {
                    self.rejected.remove(0);
                }
                self.rejected.push(t.access_token);
            }
            self.set_token(None);
            self.stale_below = self.next_seq;
            self.bump();
            self.note(Event::Invalidated);
            true
        } else {
            false
        }
    }

    /// Takes `state` in at `now`, trusting nothing: state of another channel or kind is
    /// discarded; an impossible token (empty, issued after it expires, longer-lived than LINE
    /// issues, issued in the future) is dropped; every marker is pulled to within the
    /// policy's longest delay of `now`. A repair queues [`Event::StateRepaired`].
    ///
    /// Keeps: a restored cache holds only a token LINE could have issued, and a refresh
    /// recorded in flight elsewhere gets a number of this instance that no ticket carries.
    pub(super) fn adopt(&mut self, state: CacheState, now: UnixTime) {
        let kind = self.credentials.token_kind();
        if state.channel_id != self.credentials.channel_id || state.kind != kind {
            self.note(Event::StateRepaired);
            return;
        }
        let mut repaired = false;
        let longest = longest_lifetime(kind);
        let token = state.token.filter(|t| {
            let ok = !t.access_token.expose_secret().is_empty()
                && t.issued_at < t.expires_at
                && t.lifetime() <= longest;
            repaired |= !ok;
            ok
        });
        // A token "issued in the future" is dropped (handed back if LINE counts it) by
        // `observe`, the same way as when the clock goes back under a running cache.
        self.set_token(token);
        if self
            .token
            .as_ref()
            .is_some_and(|t| t.issued_at > now + self.config.clock_skew)
        {
            repaired = true;
            self.observe_token(now);
        }
        // A refresh in flight elsewhere: wait for it, but at most one timeout from now. Its
        // ticket is not ours, so no answer to it is accepted here.
        self.in_flight = state.in_flight_since.map(|since| {
            repaired |= since > now;
            let seq = self.next_seq;
            self.next_seq = self.next_seq.wrapping_add(1);
            (seq, since.min(now))
        });
        self.failures = state.failures;
        self.retry_at = state.retry_at;
        self.last_failure = state.last_failure.map(Box::new);
        self.last_refresh_at = state.last_refresh_at;
        repaired |= self.pull_in_markers(now);
        if repaired {
            self.note(Event::StateRepaired);
        }
    }

    /// Markers further ahead than any delay the policy sets were set by a clock that has
    /// since gone back: pull them in.
    ///
    /// Keeps: no marker (`retry_at`, `last_refresh_at`, the in-flight start) lies further
    /// ahead of `now` than the policy's longest delay, so nothing waits longer than it says.
    pub(super) fn pull_in_markers(&mut self, now: UnixTime) -> bool {
        let limit = now + self.config.longest_delay();
        let mut pulled = false;
        if let Some(r) = self.retry_at.filter(|r| *r > limit) {
            pulled = true;
            self.retry_at = Some(limit.min(r));
        }
        // The last refresh's start, from the future, is forgotten (`policy::last_issue`, the
        // fleet store's rule too).
        let last = crate::lifecycle::policy::last_issue(self.last_refresh_at, now);
        if last != self.last_refresh_at {
            pulled = true;
            self.last_refresh_at = last;
        }
        if let Some((seq, started)) = self.in_flight.filter(|(_, s)| *s > now) {
            pulled = true;
            self.in_flight = Some((seq, now.min(started)));
        }
        pulled
    }
}
