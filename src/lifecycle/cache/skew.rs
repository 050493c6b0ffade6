//! Clock skew at issuance: LINE's answer states its clock in the `Date` header. A token is
//! stamped by the earlier of the two clocks, so it is never handed out past the expiry LINE
//! gave it, whichever clock turns out to be right (the AWS SDKs' clock-skew correction,
//! applied only where it makes a token end sooner).

use std::time::Duration;

use crate::time::UnixTime;

/// When a token answered at `now` to a refresh handed out at `started` counts as issued:
/// `started`, or LINE's `Date` when that is earlier by more than `margin` (the caller's clock
/// is ahead of LINE's). With a clock behind LINE's, `started` is already the earlier stamp.
///
/// The second value is `Some(line)` when LINE's clock and `now` disagree by more than
/// `margin` either way: a skew worth reporting.
pub(crate) fn issued_at(
    started: UnixTime,
    now: UnixTime,
    line: Option<UnixTime>,
    margin: Duration,
) -> (UnixTime, Option<UnixTime>) {
    let started = started.min(now);
    let Some(line) = line else {
        return (started, None);
    };
    let ahead = now - line > margin;
    let behind = line - now > margin;
    let issued = if ahead { started.min(line) } else { started };
    (issued, (ahead || behind).then_some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: UnixTime = UnixTime::from_secs(1_700_000_000);
    const M: Duration = Duration::from_secs(30);
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn the_earlier_clock_stamps_and_a_skew_beyond_the_margin_is_reported() {
        let s = Duration::from_secs(2);
        // No `Date`, or one within the margin: the refresh's start, nothing to report.
        assert_eq!(issued_at(T, T + s, None, M), (T, None));
        assert_eq!(issued_at(T, T + s, Some(T + s - M), M), (T, None));
        assert_eq!(issued_at(T, T + s, Some(T + s + M), M), (T, None));
        // The caller's clock a day ahead: LINE's clock stamps.
        assert_eq!(issued_at(T + DAY, T + DAY + s, Some(T), M), (T, Some(T)));
        // A day behind: the caller's own stamp is the earlier one.
        assert_eq!(issued_at(T, T + s, Some(T + DAY), M), (T, Some(T + DAY)));
        // An answer stamped before the refresh started (a clock that went back).
        assert_eq!(issued_at(T + s, T, None, M), (T, None));
    }
}
