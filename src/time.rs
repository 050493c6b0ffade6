//! Wall-clock instants passed in by the caller.
//!
//! The crate never reads the clock: every function that needs "now" takes a [`UnixTime`].
//! Token expiries are wall-clock facts (they outlive the process and are shared between
//! processes), so the type is a Unix timestamp rather than a monotonic `Instant`.

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, as told by the caller.
///
/// ```
/// use std::time::Duration;
/// use line_channel_token::UnixTime;
///
/// let now = UnixTime::from_secs(1_700_000_000);
/// let later = now + Duration::from_secs(900);
/// assert_eq!(later.as_secs(), 1_700_000_900);
/// assert_eq!(later - now, Duration::from_secs(900));
/// // In real code: `UnixTime::from(std::time::SystemTime::now())`.
/// ```
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// From whole seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs.saturating_mul(1000))
    }

    /// From milliseconds since the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        UnixTime(millis)
    }

    /// Whole seconds since the epoch (rounded down), as JWT `exp` claims want them.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + duration`, saturating at the far future instead of overflowing.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        UnixTime(self.0.saturating_add(millis))
    }

    /// `self - duration`, saturating at the epoch.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        UnixTime(self.0.saturating_sub(millis))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: UnixTime) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<SystemTime> for UnixTime {
    /// Converts a wall-clock reading; a time before 1970 becomes the epoch.
    fn from(time: SystemTime) -> Self {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        UnixTime(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }
}

impl From<UnixTime> for SystemTime {
    fn from(time: UnixTime) -> Self {
        UNIX_EPOCH + Duration::from_millis(time.0)
    }
}

impl Add<Duration> for UnixTime {
    type Output = UnixTime;
    /// Saturating: see [`UnixTime::saturating_add`].
    fn add(self, rhs: Duration) -> UnixTime {
        self.saturating_add(rhs)
    }
}

impl Sub<Duration> for UnixTime {
    type Output = UnixTime;
    /// Saturating: see [`UnixTime::saturating_sub`].
    fn sub(self, rhs: Duration) -> UnixTime {
        self.saturating_sub(rhs)
    }
}

impl Sub<UnixTime> for UnixTime {
    type Output = Duration;
    /// Saturating: see [`UnixTime::saturating_duration_since`].
    fn sub(self, rhs: UnixTime) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnixTime({}.{:03})", self.0 / 1000, self.0 % 1000)
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC with milliseconds, e.g. `2023-11-14T22:13:20.250Z`: what a person
    /// reading a message or a log can place. (`Debug` shows the seconds since the epoch.)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1000;
        let (y, m, d) = civil_from_days(secs / 86_400);
        let s = secs % 86_400;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            s / 3600,
            s % 3600 / 60,
            s % 60,
            self.0 % 1000
        )
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`); exact for every `u64` millisecond count, no overflow. The one copy:
/// `UnixTime`'s RFC 3339 text and the HTTP `Date` header both use it.
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = UnixTime::from_millis(u64::MAX - 1);
        assert_eq!(t + Duration::from_secs(5), UnixTime::from_millis(u64::MAX));
        assert_eq!(UnixTime::EPOCH - Duration::from_secs(5), UnixTime::EPOCH);
        assert_eq!(UnixTime::EPOCH - t, Duration::ZERO);
        assert_eq!(UnixTime::from_secs(u64::MAX).as_millis(), u64::MAX);
    }

    #[test]
    fn system_time_round_trip() {
        let now = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let t = UnixTime::from(now);
        assert_eq!(t.as_secs(), 1_700_000_000);
        assert_eq!(SystemTime::from(t), now);
        let before_epoch = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(UnixTime::from(before_epoch), UnixTime::EPOCH);
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn display_is_rfc_3339_utc() {
        assert_eq!(UnixTime::EPOCH.to_string(), "1970-01-01T00:00:00.000Z");
        // A leap day, the end of a century that is not leap, one that is.
        let day = |d: u64| UnixTime::from_secs(d * 86_400).to_string();
        assert_eq!(day(11_016), "2000-02-29T00:00:00.000Z");
        assert_eq!(day(47_541), "2100-03-01T00:00:00.000Z");
        assert_eq!(
            UnixTime::from_millis(253_402_300_799_999).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        // Never a panic, however far.
        assert!(UnixTime::from_millis(u64::MAX).to_string().ends_with('Z'));
    }
}
