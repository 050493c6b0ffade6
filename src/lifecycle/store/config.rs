//! What a fleet agrees on: the token kind, the lease bound, the refresh window, the clock
//! skew it tolerates and, for counted kinds, the issuance budget. Built once, never wrong.

use std::fmt;
use std::time::Duration;

use super::ids::CredentialId;
use crate::facts::{TokenKind, MAX_ACTIVE_SHORT_LIVED, MAX_ACTIVE_V21, MAX_TOKEN_EXP};
use crate::lifecycle::{cache::CachedToken, policy};

/// The longest channel ID a record may name.
const MAX_CHANNEL_LEN: usize = 64;

/// A channel ID held inline, so the configuration stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Channel {
    bytes: [u8; MAX_CHANNEL_LEN],
    len: u8,
}

impl Channel {
    /// Parses a channel ID: 1 to 64 printable ASCII characters.
    fn parse(channel_id: &str) -> Result<Channel, StoreConfigError> {
        let printable = channel_id.bytes().all(|b| b.is_ascii_graphic());
        if channel_id.is_empty() || channel_id.len() > MAX_CHANNEL_LEN || !printable {
            return Err(StoreConfigError::Channel);
        }
        let mut bytes = [0u8; MAX_CHANNEL_LEN];
        bytes[..channel_id.len()].copy_from_slice(channel_id.as_bytes());
        let len = u8::try_from(channel_id.len()).map_err(|_| StoreConfigError::Channel)?;
        Ok(Channel { bytes, len })
    }

    fn as_str(&self) -> &str {
        // Built from printable ASCII only.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Why a [`StoreConfig`] could not be built. The message says which value to change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfigError {
    /// Long-lived tokens are issued in the LINE Developers Console, not by an API a fleet
    /// could share.
    NotIssuable(TokenKind),
    /// The token lifetime is zero, or longer than LINE issues for this kind.
    Lifetime(Duration),
    /// The lease is shorter than one second, longer than ten minutes, or not longer than
    /// twice the clock skew (a holder must end its call to LINE that long before the lease).
    Lease(Duration),
    /// The budget is zero or above LINE's cap of 30 active tokens.
    Budget(usize),
    /// The windows do not nest: `2 * clock_skew <= min_remaining < refresh_before < lifetime`
    /// must hold.
    Windows,
    /// The channel ID is empty, longer than 64 bytes or not printable ASCII.
    Channel,
}

impl fmt::Display for StoreConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfigError::NotIssuable(kind) => write!(
                f,
                "{kind} tokens are issued in the LINE Developers Console; share them as configuration, not through a store"
            ),
            StoreConfigError::Lifetime(d) => write!(
                f,
                "token lifetime {} s is not between 1 s and LINE's maximum for this kind",
                d.as_secs()
            ),
            StoreConfigError::Lease(d) => write!(
                f,
                "lease {} ms is outside 1 s ..= 600 s or not above twice the clock skew; use a lease longer than one refresh round trip",
                d.as_millis()
            ),
            StoreConfigError::Budget(n) => write!(
                f,
                "budget {n} is outside 1 ..= 30 (LINE's cap); leave room for other tools, e.g. 20"
            ),
            StoreConfigError::Windows => f.write_str(
                "the margins do not nest: need 2 x clock skew <= minimum remaining < refresh-before < lifetime",
            ),
            StoreConfigError::Channel => f.write_str(
                "the channel ID must be 1 to 64 printable ASCII characters, as in the LINE Developers Console",
            ),
        }
    }
}

impl std::error::Error for StoreConfigError {}

/// How a fleet shares one channel's tokens. Every process of the fleet should use the same
/// values; the record's validation tolerates small differences.
///
/// The channel is part of it: every record written names it, and a record naming another
/// channel (copied under the wrong key) is refused instead of served.
///
/// Defaults ([`StoreConfig::new`]): a 30 s lease, refresh when a third of the lifetime is left
/// (at least 60 s, at most one day), never serve a token with less than 30 s left (or a tenth
/// of its life, if shorter), tolerate 5 s of clock skew between machines, a budget of 20 of
/// LINE's 30 active tokens, re-read every 100 ms while another process refreshes, back off
/// 1 s doubling to 60 s (with the cache's equal jitter) after retryable failures and 300 s
/// after a refusal. A lease must be longer than twice the skew (a holder ends its call to
/// LINE that long before the lease does): with the default 5 s, longer than 10 s.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::store::StoreConfig;
/// use line_channel_token::TokenKind;
///
/// let thirty_days = Duration::from_secs(30 * 86_400);
/// let config = StoreConfig::new("1234567890", TokenKind::ShortLived, thirty_days)?
///     .with_lease(Duration::from_secs(15))?
///     .with_budget(10)?;
/// assert_eq!(config.budget(), Some(10));
/// assert_eq!(config.channel(), "1234567890");
/// assert!(StoreConfig::new("1234567890", TokenKind::LongLived, Duration::from_secs(1)).is_err());
/// assert!(StoreConfig::new("", TokenKind::ShortLived, thirty_days).is_err());
/// # Ok::<(), line_channel_token::store::StoreConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreConfig {
    kind: TokenKind,
    channel: Channel,
    credential: Option<CredentialId>,
    lifetime: Duration,
    lease: Duration,
    refresh_before: Duration,
    min_remaining: Duration,
    clock_skew: Duration,
    budget: usize,
    poll_interval: Duration,
    pub(super) backoff_base: Duration,
    pub(super) backoff_cap: Duration,
    failure_pause: Duration,
    min_issue_interval: Duration,
    jitter_seed: u64,
}

const MIN_LEASE: Duration = Duration::from_secs(1);
pub(super) const MAX_LEASE: Duration = Duration::from_secs(600);

impl StoreConfig {
    /// Defaults for the channel `channel_id`'s tokens of `kind` that live `lifetime` (15
    /// minutes for stateless, 30 days for short-lived, the assertion's `token_exp` for v2.1).
    ///
    /// # Errors
    /// [`StoreConfigError::Channel`] for an empty, over-long (64 bytes) or non-printable
    /// channel ID, [`StoreConfigError::NotIssuable`] for long-lived tokens,
    /// [`StoreConfigError::Lifetime`] for a lifetime of zero or beyond what LINE issues.
    /// ```
    /// # use std::time::Duration; use line_channel_token::{store::StoreConfig, TokenKind};
    /// assert!(StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).is_ok());
    /// ```
    pub fn new(
        channel_id: &str,
        kind: TokenKind,
        lifetime: Duration,
    ) -> Result<StoreConfig, StoreConfigError> {
        let channel = Channel::parse(channel_id)?;
        let max = match kind {
            TokenKind::LongLived => return Err(StoreConfigError::NotIssuable(kind)),
            TokenKind::V21 => MAX_TOKEN_EXP,
            other => other.fixed_lifetime().unwrap_or(MAX_TOKEN_EXP),
        };
        if lifetime < Duration::from_secs(1) || lifetime > max {
            return Err(StoreConfigError::Lifetime(lifetime));
        }
        let config = StoreConfig {
            kind,
            channel,
            credential: None,
            lifetime,
            lease: Duration::from_secs(30),
            refresh_before: (lifetime / 3)
                .clamp(Duration::from_secs(60), Duration::from_secs(86_400))
                .min(lifetime / 2),
            min_remaining: (lifetime / 10).min(Duration::from_secs(30)),
            clock_skew: Duration::from_secs(5),
            budget: 20,
            poll_interval: Duration::from_millis(100),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            failure_pause: Duration::from_secs(300),
            min_issue_interval: Duration::from_secs(10),
            jitter_seed: 0,
        };
        // Short lifetimes get proportionate margins; the skew shrinks with them.
        let skew = config.clock_skew.min(config.min_remaining / 2);
        StoreConfig {
            clock_skew: skew,
            ..config
        }
        .checked()
    }

    fn checked(self) -> Result<StoreConfig, StoreConfigError> {
        // A holder calls LINE only until twice the skew before its lease ends.
        let callable = self.lease > self.clock_skew.saturating_mul(2);
        if !(MIN_LEASE..=MAX_LEASE).contains(&self.lease) || !callable {
            return Err(StoreConfigError::Lease(self.lease));
        }
        let cap = match self.kind {
            TokenKind::ShortLived => MAX_ACTIVE_SHORT_LIVED,
            _ => MAX_ACTIVE_V21,
        };
        if self.budget == 0 || self.budget > cap {
            return Err(StoreConfigError::Budget(self.budget));
        }
        let nested = self.clock_skew.saturating_mul(2) <= self.min_remaining
            && self.min_remaining < self.refresh_before
            && self.refresh_before < self.lifetime;
        if !nested {
            return Err(StoreConfigError::Windows);
        }
        Ok(self)
    }

    /// The credential this process refreshes with: a refusal it gets pauses only processes
    /// with the same credential, and one recorded by another credential does not pause it.
    /// Without one, every refusal pauses every process.
    pub fn with_credential(self, credential: CredentialId) -> StoreConfig {
        StoreConfig {
            credential: Some(credential),
            ..self
        }
    }

    /// The lease bound: how long a process may refresh before another may take over.
    ///
    /// # Errors
    /// [`StoreConfigError::Lease`] outside 1 s ..= 600 s.
    /// ```
    /// # use std::time::Duration; use line_channel_token::{store::{StoreConfig, StoreConfigError::*}, TokenKind};
    /// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    /// assert_eq!(config.with_lease(Duration::from_secs(15)).unwrap().lease(), Duration::from_secs(15));
    /// ```
    pub fn with_lease(self, lease: Duration) -> Result<StoreConfig, StoreConfigError> {
        StoreConfig { lease, ..self }.checked()
    }

    /// Refresh once less than this is left.
    ///
    /// # Errors
    /// [`StoreConfigError::Windows`] unless `min_remaining < refresh_before < lifetime`.
    /// ```
    /// # use std::time::Duration; use line_channel_token::{store::{StoreConfig, StoreConfigError::*}, TokenKind};
    /// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    /// assert_eq!(config.with_refresh_before(config.lifetime()), Err(Windows)); // too late
    /// ```
    pub fn with_refresh_before(
        self,
        refresh_before: Duration,
    ) -> Result<StoreConfig, StoreConfigError> {
        StoreConfig {
            refresh_before,
            ..self
        }
        .checked()
    }

    /// Never serve a token with less than this left, and tolerate clocks this far apart.
    ///
    /// # Errors
    /// [`StoreConfigError::Windows`] unless `2 * clock_skew <= min_remaining < refresh_before`.
    /// ```
    /// # use std::time::Duration; use line_channel_token::{store::{StoreConfig, StoreConfigError::*}, TokenKind};
    /// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    /// assert_eq!(config.with_margins(Duration::from_secs(3), Duration::from_secs(2)), Err(Windows));
    /// ```
    pub fn with_margins(
        self,
        min_remaining: Duration,
        clock_skew: Duration,
    ) -> Result<StoreConfig, StoreConfigError> {
        StoreConfig {
            min_remaining,
            clock_skew,
            ..self
        }
        .checked()
    }

    /// At most this many tokens of a counted kind (short-lived, v2.1) issued by the fleet and
    /// not yet expired. Ignored for stateless tokens.
    ///
    /// # Errors
    /// [`StoreConfigError::Budget`] outside 1 ..= 30.
    /// ```
    /// # use std::time::Duration; use line_channel_token::{store::{StoreConfig, StoreConfigError::*}, TokenKind};
    /// # let config = StoreConfig::new("1234567890", TokenKind::Stateless, Duration::from_secs(900)).unwrap();
    /// assert_eq!(config.with_budget(31), Err(Budget(31))); // LINE's cap is 30
    /// ```
    pub fn with_budget(self, budget: usize) -> Result<StoreConfig, StoreConfigError> {
        StoreConfig { budget, ..self }.checked()
    }

    /// How often a process re-reads the record while another one refreshes (clamped to
    /// 10 ms ..= the lease), and the retry delays after failures (the cap at least the base).
    pub fn with_timing(
        self,
        poll_interval: Duration,
        backoff_base: Duration,
        backoff_cap: Duration,
        failure_pause: Duration,
    ) -> StoreConfig {
        let backoff_base = backoff_base.max(Duration::from_millis(10));
        StoreConfig {
            poll_interval: poll_interval.clamp(Duration::from_millis(10), self.lease),
            backoff_base,
            backoff_cap: backoff_cap.max(backoff_base),
            failure_pause: failure_pause.max(backoff_base),
            ..self
        }
    }

    /// The token kind.
    pub const fn kind(&self) -> TokenKind {
        self.kind
    }
    /// The channel records are bound to.
    pub fn channel(&self) -> &str {
        self.channel.as_str()
    }
    /// This process's credential, if set.
    pub const fn credential(&self) -> Option<CredentialId> {
        self.credential
    }
    /// The expected token lifetime.
    pub const fn lifetime(&self) -> Duration {
        self.lifetime
    }
    /// The lease bound.
    pub const fn lease(&self) -> Duration {
        self.lease
    }
    /// Refresh once less than this is left before the usable end (at most half the usable
    /// life, jittered later by up to a fifth of it).
    pub const fn refresh_before(&self) -> Duration {
        self.refresh_before
    }
    /// Never serve a token with less than this left (at most a quarter of its lifetime).
    pub const fn min_remaining(&self) -> Duration {
        self.min_remaining
    }
    /// How far any machine's clock may be from true time (two machines: twice this apart).
    pub const fn clock_skew(&self) -> Duration {
        self.clock_skew
    }
    /// The issuance budget, for counted kinds only.
    pub const fn budget(&self) -> Option<usize> {
        if self.kind.is_counted() {
            Some(self.budget)
        } else {
            None
        }
    }
    /// How often to re-read while another process refreshes.
    pub const fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// At most one issuance this often (default 10 s, as `TokenCache`'s; zero turns the
    /// throttle off): counted from the stored token's issuance.
    pub const fn with_min_issue_interval(self, min_issue_interval: Duration) -> StoreConfig {
        StoreConfig {
            min_issue_interval,
            ..self
        }
    }

    /// The seed of the refresh point's jitter: the refresh of a token is due later by up to
    /// a fifth of `refresh_before`, by the same rule as `TokenCache`'s. Every process of a
    /// fleet must use the same seed (default 0) so that they agree.
    pub const fn with_jitter_seed(self, seed: u64) -> StoreConfig {
        StoreConfig {
            jitter_seed: seed,
            ..self
        }
    }

    /// The issuance throttle.
    pub const fn min_issue_interval(&self) -> Duration {
        self.min_issue_interval
    }

    /// A stored token's timeline, by the rules `TokenCache` uses (`lifecycle::policy`): the
    /// minimum remaining life as the margin, `refresh_before` as the lead.
    pub(crate) fn window(&self, t: &CachedToken) -> policy::Window {
        policy::window(
            t.issued_at,
            t.expires_at,
            self.min_remaining,
            self.refresh_before,
            self.jitter_seed,
        )
    }

    /// The longest wait a failure can impose, used to distrust markers from the future.
    pub(crate) fn longest_pause(&self) -> Duration {
        self.backoff_cap.max(self.failure_pause)
    }

    /// The retry delay after `failures` failures in a row: the cache's rule (equal jitter,
    /// from `random`) for retryable failures, the failure pause for refusals.
    pub(crate) fn backoff(&self, failures: u32, retryable: bool, random: u64) -> Duration {
        if !retryable {
            return self.failure_pause;
        }
        policy::equal_jitter(self.backoff_base, self.backoff_cap, failures, random)
    }
}
