//! What a cache persists. Restored state is checked and repaired by `TokenCache::adopt`
//! (`transitions.rs`), with every other change to the cache.

use serde::{Deserialize, Serialize};

use super::failure::RefreshFailure;
use super::TokenCache;
use crate::facts::TokenKind;
use crate::secret::AccessToken;
use crate::time::UnixTime;

/// The token a cache holds, and the fleet store's record too
/// ([`Record::token`](crate::store::Record::token)).
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CachedToken {
    /// The token (a secret: it is persisted, so protect the file).
    pub access_token: AccessToken,
    /// When it was issued, as far as the cache can tell: when its refresh was handed out.
    pub issued_at: UnixTime,
    /// When it expires: by LINE's clock (the answer's `Date`) when ours was ahead of it,
    /// so then sooner than `issued_at` plus the token's lifetime.
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

/// The longest lifetime LINE gives a token of this kind (the rule the fleet store applies
/// too): a restored token living longer is impossible, and an answer claiming longer is
/// capped to it (so a restart keeps it).
pub(super) use crate::lifecycle::policy::longest_lifetime;

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
}
