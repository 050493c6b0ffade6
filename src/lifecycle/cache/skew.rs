//! Clock skew at issuance: LINE's answer states its clock in the `Date` header. A token's
//! expiry counts from the earlier of the two clocks, so it is never handed out past the expiry
//! LINE gave it, whichever clock turns out to be right (the AWS SDKs' clock-skew correction,
//! applied only where it makes a token end sooner). Its issue stamp stays the time it
//! arrived by our clock: the refresh windows measure the life it has left when it arrives,
//! so a clock steadily ahead refreshes once per half of that life, not in a loop.

use std::time::Duration;

use crate::time::UnixTime;

/// How a token answered at `now`, to a refresh handed out at `started`, is stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// When it arrived, by the caller's clock: `started` (or `now`, if earlier).
    pub(crate) arrived: UnixTime,
    /// Where its lifetime counts from: `arrived`, or LINE's `Date` when that is earlier by
    /// more than the margin (the caller's clock is ahead of LINE's).
    pub(crate) issued: UnixTime,
    /// `Some(line)` when LINE's clock and `now` disagree by more than the margin either way:
    /// a skew worth reporting.
    pub(crate) skew: Option<UnixTime>,
}

/// The stamp of a token answered at `now` to a refresh handed out at `started`, with LINE's
/// clock `line` from the answer's `Date`, if it had one. With a clock behind LINE's,
/// `started` is already the earlier stamp.
pub(crate) fn stamp(
    started: UnixTime,
    now: UnixTime,
    line: Option<UnixTime>,
    margin: Duration,
) -> Stamp {
    let arrived = started.min(now);
    let Some(line) = line else {
        return Stamp {
            arrived,
            issued: arrived,
            skew: None,
        };
    };
    let ahead = now - line > margin;
    let behind = line - now > margin;
    Stamp {
        arrived,
        issued: if ahead { arrived.min(line) } else { arrived },
        skew: (ahead || behind).then_some(line),
    }
}

/// How far `now` is ahead of LINE's clock `line`, in whole seconds, when it is ahead.
pub(crate) fn ahead_secs(now: UnixTime, line: UnixTime) -> Option<u64> {
    (now > line).then(|| (now - line).as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: UnixTime = UnixTime::from_secs(1_700_000_000);
    const M: Duration = Duration::from_secs(30);
    const DAY: Duration = Duration::from_secs(86_400);

    fn st(arrived: UnixTime, issued: UnixTime, skew: Option<UnixTime>) -> Stamp {
        Stamp {
            arrived,
            issued,
            skew,
        }
    }

    #[test]
    fn the_earlier_clock_stamps_and_a_skew_beyond_the_margin_is_reported() {
        let s = Duration::from_secs(2);
        // No `Date`, or one within the margin: the refresh's start, nothing to report.
        assert_eq!(stamp(T, T + s, None, M), st(T, T, None));
        assert_eq!(stamp(T, T + s, Some(T + s - M), M), st(T, T, None));
        assert_eq!(stamp(T, T + s, Some(T + s + M), M), st(T, T, None));
        // The caller's clock a day ahead: LINE's clock stamps the expiry; it arrived at T+DAY.
        assert_eq!(
            stamp(T + DAY, T + DAY + s, Some(T), M),
            st(T + DAY, T, Some(T))
        );
        // A day behind: the caller's own stamp is the earlier one.
        assert_eq!(stamp(T, T + s, Some(T + DAY), M), st(T, T, Some(T + DAY)));
        // An answer stamped before the refresh started (a clock that went back).
        assert_eq!(stamp(T + s, T, None, M), st(T, T, None));
        assert_eq!(ahead_secs(T + DAY, T), Some(86_400));
        assert_eq!(ahead_secs(T, T + DAY), None);
    }
}
