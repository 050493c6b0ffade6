//! What a cache persists, and how a restored state is checked and repaired.

use serde::{Deserialize, Serialize};

use super::events::Event;
use super::failure::RefreshFailure;
use super::TokenCache;
use crate::facts::{TokenKind, MAX_TOKEN_EXP};
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// The token a cache holds.
///
/// ```
/// use line_channel_token::cache::{drive, Credentials, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// drive(&mut cache, || now, std::thread::sleep, send).unwrap();
/// let held = cache.state().token.unwrap();
/// assert_eq!(held.expires_at, now + std::time::Duration::from_secs(15 * 60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    /// The token (a secret: it is persisted, so protect the file).
    pub access_token: AccessToken,
    /// When it was issued, as far as the cache can tell: when its refresh was handed out.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
    /// The v2.1 `key_id`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl CachedToken {
    pub(super) fn lifetime(&self) -> std::time::Duration {
        self.expires_at - self.issued_at
    }
}

/// Everything a cache knows that is worth persisting, as serde data. No secret but the
/// access token itself; no ticket (an answer is only ever accepted by the cache instance
/// that handed out its refresh).
///
/// Save it after each change ([`TokenCache::state`]), restore it on start
/// ([`TokenCacheBuilder::restore`](super::TokenCacheBuilder::restore)). A restored state is
/// never trusted: see [`TokenCacheBuilder::restore`](super::TokenCacheBuilder::restore).
///
/// ```
/// use line_channel_token::cache::{drive, CacheState, Credentials, TokenCache};
/// use line_channel_token::emulator::Emulator;
/// use line_channel_token::{ApiBase, ChannelSecret, UnixTime};
///
/// let mut line = Emulator::new(); // stands in for LINE
/// line.add_channel("1234567890", ChannelSecret::new("s3cret"));
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let now = UnixTime::from_secs(1_700_000_000);
/// let mut cache = TokenCache::new(ApiBase::default(), credentials);
/// let send = |req| Ok::<_, std::convert::Infallible>(line.handle(now, &req));
/// drive(&mut cache, || now, std::thread::sleep, send).unwrap();
/// let saved = serde_json::to_string(&cache.state()).unwrap(); // holds the token: protect the file
/// // On the next start:
/// let state: CacheState = serde_json::from_str(&saved).unwrap();
/// let credentials = Credentials::stateless_by_secret("1234567890", ChannelSecret::new("s3cret"));
/// let restored = TokenCache::builder(ApiBase::default(), credentials).restore(state, now).build();
/// assert!(restored.token(now).is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheState {
    /// The channel this state belongs to.
    pub channel_id: String,
    /// The token kind this state belongs to. Saved as `kind`; state saved as `token_type`
    /// (before 0.1.0) still loads.
    #[serde(alias = "token_type")]
    pub kind: TokenKind,
    /// The current token, if any.
    pub token: Option<CachedToken>,
    /// When the refresh now in flight (in this or another process) was handed out.
    #[serde(default)]
    pub in_flight_since: Option<UnixTime>,
    /// Consecutive failed refreshes.
    #[serde(default)]
    pub failures: u32,
    /// No refresh before this time (backoff).
    #[serde(default)]
    pub retry_at: Option<UnixTime>,
    /// The last failure, until a refresh succeeds.
    #[serde(default)]
    pub last_failure: Option<RefreshFailure>,
    /// When the last refresh was handed out (the issuance throttle counts from it).
    #[serde(default)]
    pub last_refresh_at: Option<UnixTime>,
}

/// The longest lifetime LINE gives a token of this kind: a restored token living longer is
/// impossible, and an answer claiming longer is capped to it (so a restart keeps it).
pub(super) fn longest_lifetime(kind: TokenKind) -> std::time::Duration {
    kind.fixed_lifetime().unwrap_or(MAX_TOKEN_EXP)
}

impl TokenCache {
    /// The persistable state.
    pub fn state(&self) -> CacheState {
        CacheState {
            channel_id: self.credentials.channel_id.clone(),
            kind: self.credentials.token_kind(),
            token: self.token.clone(),
            in_flight_since: self.in_flight.map(|(_, started)| started),
            failures: self.failures,
            retry_at: self.retry_at,
            last_failure: self.last_failure.as_deref().cloned(),
            last_refresh_at: self.last_refresh_at,
        }
    }

    /// Takes `state` in at `now`, trusting nothing: state of another channel or kind is
    /// discarded; an impossible token (empty, issued after it expires, longer-lived than LINE
    /// issues, issued in the future) is dropped; every marker is pulled to within the
    /// policy's longest delay of `now`. A repair queues [`Event::StateRepaired`].
    pub(super) fn adopt(&mut self, state: CacheState, now: UnixTime) {
        let kind = self.credentials.token_kind();
        if state.channel_id != self.credentials.channel_id || state.kind != kind {
            self.events.push(Event::StateRepaired);
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
            self.events.push(Event::StateRepaired);
        }
    }

    /// Markers further ahead than any delay the policy sets were set by a clock that has
    /// since gone back: pull them in so nothing waits longer than the policy says.
    pub(super) fn pull_in_markers(&mut self, now: UnixTime) -> bool {
        let limit = now + self.config.longest_delay();
        let mut pulled = false;
        if let Some(r) = self.retry_at.filter(|r| *r > limit) {
            pulled = true;
            self.retry_at = Some(limit.min(r));
        }
        if let Some(t) = self.last_refresh_at.filter(|t| *t > now) {
            pulled = true;
            self.last_refresh_at = Some(now.min(t));
        }
        if let Some((seq, started)) = self.in_flight.filter(|(_, s)| *s > now) {
            pulled = true;
            self.in_flight = Some((seq, now.min(started)));
        }
        pulled
    }
}
