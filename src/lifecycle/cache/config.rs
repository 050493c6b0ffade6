//! The cache's timing policy, checked once when it is built.

use std::fmt;
use std::time::Duration;

/// The longest any single delay of the policy may be: one day. Longer pauses would leave a
/// cache silent for days on a typo, and bounding them keeps every deadline computation far
/// from overflow.
const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest refresh lead: 30 days, the longest lifetime LINE gives a token.
const MAX_LEAD: Duration = crate::facts::MAX_TOKEN_EXP;

/// The timing policy of a [`TokenCache`](super::TokenCache). Built with
/// [`CacheConfig::for_lifetime`] (defaults) or [`CacheConfig::builder`] (checked): every value
/// a `CacheConfig` holds is usable, so a cache never discovers a bad policy at run time.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::cache::CacheConfig;
/// use line_channel_token::facts::STATELESS_LIFETIME;
///
/// let config = CacheConfig::builder(STATELESS_LIFETIME)
///     .min_issue_interval(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// assert_eq!(config.refresh_before(), Duration::from_secs(300));
/// assert!(CacheConfig::builder(STATELESS_LIFETIME).backoff_base(Duration::ZERO).build().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    pub(super) refresh_before: Duration,
    pub(super) mandatory_before: Duration,
    pub(super) clock_skew: Duration,
    pub(super) backoff_base: Duration,
    pub(super) backoff_cap: Duration,
    pub(super) failure_pause: Duration,
    pub(super) in_flight_timeout: Duration,
    pub(super) min_issue_interval: Duration,
}

impl CacheConfig {
    /// Defaults for a token of this lifetime: the advisory window opens when a third of the
    /// lifetime is left (at least one minute, at most one day) and the mandatory window when a
    /// fifth of that is left; 30 s clock skew; backoff 1 s doubling to 60 s with jitter;
    /// 5 minutes after a failure retrying will not fix; 30 s in-flight timeout; at most one
    /// issuance per 10 s.
    pub fn for_lifetime(lifetime: Duration) -> CacheConfig {
        let refresh_before = (lifetime / 3).clamp(Duration::from_secs(60), MAX_DELAY);
        CacheConfig {
            refresh_before,
            mandatory_before: refresh_before / 5,
            clock_skew: Duration::from_secs(30),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            failure_pause: Duration::from_secs(300),
            in_flight_timeout: Duration::from_secs(30),
            min_issue_interval: Duration::from_secs(10),
        }
    }

    /// A builder starting from [`CacheConfig::for_lifetime`].
    pub fn builder(lifetime: Duration) -> CacheConfigBuilder {
        CacheConfigBuilder(CacheConfig::for_lifetime(lifetime))
    }

    /// The advisory window: with this much (or less) of its usable life left, the token is
    /// refreshed by one caller while every other caller keeps using it. Short tokens get a
    /// proportionate lead: never more than half their usable life.
    pub fn refresh_before(&self) -> Duration {
        self.refresh_before
    }

    /// The mandatory window: with this much usable life left, a failed refresh is retried
    /// before the token runs out, whatever the backoff says.
    pub fn mandatory_before(&self) -> Duration {
        self.mandatory_before
    }

    /// How far the caller's clock may lag LINE's: a token is never handed out within this
    /// margin of its expiry (a quarter of its lifetime for very short tokens).
    pub fn clock_skew(&self) -> Duration {
        self.clock_skew
    }

    /// First retry delay after a retryable failure (429, 5xx, transport, timeout).
    pub fn backoff_base(&self) -> Duration {
        self.backoff_base
    }

    /// The longest retry delay.
    pub fn backoff_cap(&self) -> Duration {
        self.backoff_cap
    }

    /// After a failure retrying will not fix (a bad secret, an unknown `kid`), how long before
    /// trying again.
    pub fn failure_pause(&self) -> Duration {
        self.failure_pause
    }

    /// A refresh not reported back after this long counts as failed: only matters when the
    /// caller that took it vanished.
    pub fn in_flight_timeout(&self) -> Duration {
        self.in_flight_timeout
    }

    /// At most one issuance per this interval (LINE asks clients not to issue per call).
    pub fn min_issue_interval(&self) -> Duration {
        self.min_issue_interval
    }

    /// The longest delay any marker of this policy can set; a marker further in the future
    /// than this came from a clock that has since gone back, and is pulled in.
    pub(super) fn longest_delay(&self) -> Duration {
        self.backoff_cap
            .max(self.failure_pause)
            .max(self.in_flight_timeout)
            .max(self.min_issue_interval)
    }
}

/// Builds a [`CacheConfig`]; [`CacheConfigBuilder::build`] checks it.
///
/// ```
/// use line_channel_token::cache::CacheConfig;
/// use std::time::Duration;
///
/// let config = CacheConfig::builder(Duration::from_secs(30 * 86_400))
///     .refresh_before(Duration::from_secs(86_400)) // a day ahead of expiry
///     .build()
///     .unwrap();
/// assert_eq!(config.refresh_before(), Duration::from_secs(86_400));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CacheConfigBuilder(CacheConfig);

impl CacheConfigBuilder {
    /// See [`CacheConfig::refresh_before`]: more than zero, at most 30 days.
    pub fn refresh_before(mut self, d: Duration) -> Self {
        self.0.refresh_before = d;
        self
    }
    /// See [`CacheConfig::mandatory_before`]: at most half of `refresh_before`.
    pub fn mandatory_before(mut self, d: Duration) -> Self {
        self.0.mandatory_before = d;
        self
    }
    /// See [`CacheConfig::clock_skew`]: at most one day.
    pub fn clock_skew(mut self, d: Duration) -> Self {
        self.0.clock_skew = d;
        self
    }
    /// See [`CacheConfig::backoff_base`]: at least one millisecond.
    pub fn backoff_base(mut self, d: Duration) -> Self {
        self.0.backoff_base = d;
        self
    }
    /// See [`CacheConfig::backoff_cap`]: at least `backoff_base`, at most one day.
    pub fn backoff_cap(mut self, d: Duration) -> Self {
        self.0.backoff_cap = d;
        self
    }
    /// See [`CacheConfig::failure_pause`]: at least one millisecond, at most one day.
    pub fn failure_pause(mut self, d: Duration) -> Self {
        self.0.failure_pause = d;
        self
    }
    /// See [`CacheConfig::in_flight_timeout`]: at least one millisecond, at most one day.
    pub fn in_flight_timeout(mut self, d: Duration) -> Self {
        self.0.in_flight_timeout = d;
        self
    }
    /// See [`CacheConfig::min_issue_interval`]: at most one day (zero turns the throttle off).
    pub fn min_issue_interval(mut self, d: Duration) -> Self {
        self.0.min_issue_interval = d;
        self
    }

    /// The checked policy.
    ///
    /// # Errors
    ///
    /// [`CacheConfigError`] names the first setting out of range and its allowed range.
    ///
    /// ```
    /// use line_channel_token::cache::CacheConfig;
    /// use std::time::Duration;
    ///
    /// let fifteen_minutes = Duration::from_secs(15 * 60);
    /// let config = CacheConfig::builder(fifteen_minutes).clock_skew(Duration::from_secs(10)).build();
    /// assert!(config.is_ok());
    /// let two_days = Duration::from_secs(2 * 86_400);
    /// let refused = CacheConfig::builder(fifteen_minutes).clock_skew(two_days).build();
    /// assert!(refused.unwrap_err().to_string().contains("clock_skew")); // at most one day
    /// ```
    pub fn build(self) -> Result<CacheConfig, CacheConfigError> {
        let c = self.0;
        let ms = Duration::from_millis(1);
        let check = |ok: bool, setting: &'static str, allowed: &'static str| {
            if ok {
                Ok(())
            } else {
                Err(CacheConfigError { setting, allowed })
            }
        };
        check(
            c.refresh_before >= ms && c.refresh_before <= MAX_LEAD,
            "refresh_before",
            "from 1 ms to 30 days",
        )?;
        check(
            c.mandatory_before <= c.refresh_before / 2,
            "mandatory_before",
            "at most half of refresh_before",
        )?;
        check(c.clock_skew <= MAX_DELAY, "clock_skew", "at most one day")?;
        check(
            c.backoff_base >= ms && c.backoff_base <= MAX_DELAY,
            "backoff_base",
            "from 1 ms to one day",
        )?;
        check(
            c.backoff_cap >= c.backoff_base && c.backoff_cap <= MAX_DELAY,
            "backoff_cap",
            "from backoff_base to one day",
        )?;
        check(
            c.failure_pause >= ms && c.failure_pause <= MAX_DELAY,
            "failure_pause",
            "from 1 ms to one day",
        )?;
        check(
            c.in_flight_timeout >= ms && c.in_flight_timeout <= MAX_DELAY,
            "in_flight_timeout",
            "from 1 ms to one day",
        )?;
        check(
            c.min_issue_interval <= MAX_DELAY,
            "min_issue_interval",
            "at most one day",
        )?;
        Ok(c)
    }
}

/// A [`CacheConfigBuilder`] setting out of its allowed range.
///
/// ```
/// use line_channel_token::cache::CacheConfig;
/// use std::time::Duration;
///
/// let builder = CacheConfig::builder(Duration::from_secs(900));
/// let err = builder.clock_skew(Duration::from_secs(2 * 86_400)).build().unwrap_err();
/// assert_eq!(err.setting(), "clock_skew");
/// assert!(err.to_string().contains("at most one day"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfigError {
    setting: &'static str,
    allowed: &'static str,
}

impl CacheConfigError {
    /// The setting, e.g. `backoff_base`.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for CacheConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cache setting `{}` is out of range: use a value {}",
            self.setting, self.allowed
        )
    }
}

impl std::error::Error for CacheConfigError {}
