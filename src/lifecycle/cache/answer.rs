//! Inputs: LINE's answer to a refresh, or the lack of one.

use http::Response;

use super::events::Event;
use super::failure::RefreshFailure;
use super::poll::Ticket;
use super::state::CachedToken;
use super::TokenCache;
use crate::protocol::error::Error;
use crate::protocol::http_date::response_date;
use crate::protocol::known_secrets::KnownSecrets;
use crate::protocol::token::IssuedToken;
use crate::time::UnixTime;

/// Why an answer's token is refused when it arrives too late to be used.
const TOO_SOON: &str = "the token expires too soon to use (a slow answer, or a wrong clock)";

/// What the cache did with an answer.
///
/// ```
/// use line_channel_token::cache::{Credentials, Handled, Poll, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let Poll::Refresh(refresh) = cache.poll(now) else { panic!("a new cache has no token") };
/// let response = line.handle(now, refresh.request());
/// assert_eq!(cache.handle_response(refresh.ticket(), now, &response), Handled::Stored);
/// // The same answer again changes nothing.
/// assert_eq!(cache.handle_response(refresh.ticket(), now, &response), Handled::Ignored);
/// ```
#[must_use = "a failure or a surplus token needs the caller's attention"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The token was stored and is handed out from now on.
    Stored,
    /// The refresh produced no usable token; the cache backs off. Also queued as an event.
    Failed(RefreshFailure),
    /// A late or duplicate answer carried a counted token (short-lived, v2.1) the cache does
    /// not keep: [`TokenCache::take_surplus`] it and revoke it.
    Surplus,
    /// Nothing changed: an answer for another cache or an earlier instance of this one, a
    /// late error, a late stateless token no better than the one held, or a late answer to
    /// a refresh handed out before [`TokenCache::invalidate`] dropped a token.
    Ignored,
}

impl TokenCache {
    /// Takes LINE's answer to the refresh `ticket` at `now`. The token's expiry counts from
    /// when the refresh was handed out ([`Ticket::started`]), so a slow network only makes
    /// the cache refresh early, or from the answer's `Date` when that is earlier by more than
    /// [`CacheConfig::clock_skew`](super::CacheConfig::clock_skew) (`now` is ahead of
    /// LINE's clock): a token is never handed out past the expiry LINE gave it. Its refresh
    /// windows measure the life it has left when it arrives, so a clock steadily ahead
    /// refreshes once per half of that life, not in a loop; a token that arrives with no
    /// more life than the skew margin is refused, and when the clock is that far ahead the
    /// failure says by how much and is not retried before
    /// [`CacheConfig::failure_pause`](super::CacheConfig::failure_pause). A skew beyond
    /// the margin either way queues [`Event::ClockSkew`]. A late answer (after the
    /// in-flight timeout, or a duplicate) is kept if its token is better than the one held;
    /// a counted token that is not kept is set aside for revocation ([`Handled::Surplus`]).
    pub fn handle_response<B: AsRef<[u8]>>(
        &mut self,
        ticket: Ticket,
        now: UnixTime,
        response: &Response<B>,
    ) -> Handled {
        if ticket.incarnation != self.incarnation {
            return Handled::Ignored;
        }
        self.pull_in_markers(now);
        let current = self.in_flight.is_some_and(|(seq, _)| seq == ticket.seq);
        let status = response.status().as_u16();
        match self.credentials.parse(response) {
            Ok(token) => {
                let line_clock = response_date(response);
                self.take_token(ticket, current, now, status, token, line_clock)
            }
            Err(_) if !current => Handled::Ignored,
            Err(error) => {
                self.end_refresh();
                // Before the assertion is forgotten: an echo of it is redacted too.
                let failure = self.failure_of(error);
                if matches!(status, 400 | 401) {
                    self.forget_assertion();
                }
                self.record_failure(now, failure.clone());
                Handled::Failed(failure)
            }
        }
    }

    /// The refresh `ticket` got no response at all (DNS, connection, TLS, client timeout):
    /// the cache retries with backoff. Report it at once: until then, other callers wait.
    pub fn handle_transport_failure(&mut self, ticket: Ticket, now: UnixTime) -> Handled {
        let current = ticket.incarnation == self.incarnation
            && self.in_flight.is_some_and(|(seq, _)| seq == ticket.seq);
        if !current {
            return Handled::Ignored;
        }
        self.pull_in_markers(now);
        self.end_refresh();
        let failure = RefreshFailure::transport();
        self.record_failure(now, failure.clone());
        Handled::Failed(failure)
    }

    /// The refresh `ticket` will never be answered: the send panicked or its future was
    /// dropped (the drivers report this themselves), so nobody waits out the in-flight
    /// timeout. That is no failure of LINE's: the first abandonment in a row hands the
    /// refresh to the next caller at once, past the issuance throttle, and records no
    /// failure (a cancelled request must not fail every request waiting with it). A further
    /// abandonment before any answer counts as a failure at the refresh's start, so senders
    /// cancelled every time back off as failures do instead of issuing once per call.
    pub(super) fn abandon(&mut self, ticket: Ticket) {
        let current = ticket.incarnation == self.incarnation
            && self.in_flight.is_some_and(|(seq, _)| seq == ticket.seq);
        if current {
            self.abandon_refresh(ticket.started);
        }
    }

    /// The failure `error` is, with every secret it may echo (the request's channel secret
    /// or assertion, the held token) redacted in any encoding: from the server's text before
    /// it is quoted into the message (quoting escapes a newline between groups), and from the
    /// message after.
    fn failure_of(&self, error: Error) -> RefreshFailure {
        let held = self.token.as_ref().map(|t| t.access_token.expose_secret());
        let secrets = self.credentials.secrets().into_iter().chain(held);
        let known = KnownSecrets::new(secrets.map(str::as_bytes));
        RefreshFailure::from(&error.redact_known(&known)).redact(&known)
    }

    fn take_token(
        &mut self,
        ticket: Ticket,
        current: bool,
        now: UnixTime,
        status: u16,
        token: IssuedToken,
        line_clock: Option<UnixTime>,
    ) -> Handled {
        if current {
            self.end_refresh();
        }
        // Its expiry counts from LINE's clock when ours is ahead, or a token issued while our
        // clock ran a day fast would be handed out for a day after LINE expired it. Its issue
        // stamp is its arrival by our clock: the refresh windows measure the life it has left.
        let stamp = super::skew::stamp(ticket.started, now, line_clock, self.config.clock_skew);
        if let Some(line) = stamp.skew {
            self.note(Event::ClockSkew { now, line });
        }
        // LINE never issues a token of this kind living longer: cap what the answer claims,
        // or the cache would keep it for ever and a restored state would drop it as impossible.
        let kind = self.credentials.token_kind();
        let lifetime = token.lifetime().min(super::state::longest_lifetime(kind));
        let empty = token.access_token.expose_secret().is_empty();
        let candidate = CachedToken {
            access_token: token.access_token.clone(),
            issued_at: stamp.arrived,
            expires_at: crate::lifecycle::policy::capped_expiry(kind, stamp.issued, lifetime),
            key_id: token.key_id.clone(),
        };
        // Kept only if it arrives with more life than the skew margin of its whole lifetime.
        let usable_until = (candidate.expires_at - self.config.clock_skew.min(lifetime / 4))
            .min(self.window(&candidate).usable_until);
        let too_soon = match stamp
            .skew
            .and_then(|line| super::skew::ahead_secs(now, line))
        {
            Some(secs) if stamp.issued < stamp.arrived => format!(
                "the token expires too soon to use: your clock is {secs} s ahead of LINE's \
                 (Date header) and the token lives {} s; fix the clock (NTP)",
                lifetime.as_secs()
            ),
            _ => TOO_SOON.to_owned(),
        };
        let held = self.token.as_ref().filter(|_| self.token(now).is_some());
        let same = held.is_some_and(|h| h.access_token == candidate.access_token);
        if same && !current {
            // A duplicate answer for what is held: nothing new.
            return Handled::Ignored;
        }
        let rejected = self.rejected.contains(&candidate.access_token);
        let why = if same {
            // Its expiry cannot be later than LINE first said: no refresh happened.
            Some("LINE answered with the token already held")
        } else if rejected {
            // A replaying proxy, or a cache in front of LINE, answered with it again.
            Some("LINE answered with the token rejected with `invalidate`")
        } else if !current && ticket.seq < self.stale_below {
            // Maybe the very token just rejected, answered twice.
            Some("the answer predates a token rejected with `invalidate`")
        } else if empty {
            Some("the `access_token` is empty")
        } else if token.expires_in == 0 {
            Some("`expires_in` is 0")
        } else if now >= usable_until {
            Some(too_soon.as_str())
        } else if held.is_some_and(|h| h.expires_at >= candidate.expires_at) {
            Some("the token ends no later than the one already held")
        } else {
            None
        };
        let Some(why) = why else {
            self.store_token(candidate);
            return Handled::Stored;
        };
        let counted = self.credentials.token_kind().is_counted() && !empty && !same && !rejected;
        if counted {
            self.set_aside(token);
        }
        if current {
            let mut failure = RefreshFailure::invalid(status, why);
            // A slow answer (a paused VM, a stalled proxy) is not a configuration error:
            // retry with backoff, not after the long failure pause with no token. A clock
            // ahead of LINE's by about a lifetime is: it pauses (one issuance per pause).
            failure.retryable = why == TOO_SOON;
            self.record_failure(now, failure.clone());
            Handled::Failed(failure)
        } else if counted {
            Handled::Surplus
        } else {
            Handled::Ignored
        }
    }
}
