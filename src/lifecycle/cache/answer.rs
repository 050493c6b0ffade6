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

/// At most this many surplus tokens wait to be taken; older ones have the shortest life left.
const SURPLUS_LIMIT: usize = crate::facts::MAX_ACTIVE_V21;

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
    /// LINE's clock): a token is never handed out past the expiry LINE gave it. A skew
    /// beyond that margin either way queues [`Event::ClockSkew`]. A late answer (after the in-flight timeout, or a duplicate)
    /// is kept if its token is better than the one held; a counted token that is not kept is
    /// set aside for revocation ([`Handled::Surplus`]).
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
                self.in_flight = None;
                // Before the assertion is forgotten: an echo of it is redacted too.
                let failure = self.failure_of(error);
                if matches!(status, 400 | 401) {
                    self.credentials.forget_assertion();
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
        self.in_flight = None;
        let failure = RefreshFailure::transport();
        self.record_failure(now, failure.clone());
        Handled::Failed(failure)
    }

    /// The refresh `ticket` will never be answered: the send panicked or its future was
    /// dropped (the drivers report this themselves). Counted as a failure at the refresh's
    /// start, so the backoff applies but nobody waits out the in-flight timeout.
    pub(super) fn abandon(&mut self, ticket: Ticket) {
        let current = ticket.incarnation == self.incarnation
            && self.in_flight.is_some_and(|(seq, _)| seq == ticket.seq);
        if current {
            self.in_flight = None;
            self.record_failure(ticket.started, RefreshFailure::abandoned());
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

    /// Keeps a counted token LINE issued but the cache does not use, for the caller to revoke.
    pub(super) fn set_aside(&mut self, token: IssuedToken) {
        if self.surplus.len() >= SURPLUS_LIMIT {
            self.surplus.remove(0);
        }
        self.events.push(Event::Surplus {
            key_id: token.key_id.clone(),
        });
        self.surplus.push(token);
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
            self.in_flight = None;
        }
        // Stamped by LINE's clock when ours is ahead, or a token issued while our clock ran
        // a day fast would be handed out for a day after LINE expired it.
        let (issued_at, skew) =
            super::skew::issued_at(ticket.started, now, line_clock, self.config.clock_skew);
        if let Some(line) = skew {
            self.events.push(Event::ClockSkew { now, line });
        }
        // LINE never issues a token of this kind living longer: cap what the answer claims,
        // or the cache would keep it for ever and a restored state would drop it as impossible.
        let longest = super::state::longest_lifetime(self.credentials.token_kind());
        let empty = token.access_token.expose_secret().is_empty();
        let candidate = CachedToken {
            access_token: token.access_token.clone(),
            issued_at,
            expires_at: issued_at + token.lifetime().min(longest),
            key_id: token.key_id.clone(),
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
        } else if now >= self.window(&candidate).usable_until {
            Some(TOO_SOON)
        } else if held.is_some_and(|h| h.expires_at >= candidate.expires_at) {
            Some("the token ends no later than the one already held")
        } else {
            None
        };
        let Some(why) = why else {
            let first = self.token.is_none();
            let expires_at = candidate.expires_at;
            self.set_token(Some(candidate));
            self.failures = 0;
            self.retry_at = None;
            self.last_failure = None;
            self.bump();
            self.events.push(if first {
                Event::Issued { expires_at }
            } else {
                Event::Refreshed { expires_at }
            });
            return Handled::Stored;
        };
        let counted = self.credentials.token_kind().is_counted() && !empty && !same && !rejected;
        if counted {
            self.set_aside(token);
        }
        if current {
            let mut failure = RefreshFailure::invalid(status, why);
            // A slow answer (a paused VM, a stalled proxy) is not a configuration error:
            // retry with backoff, not after the long failure pause with no token.
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
