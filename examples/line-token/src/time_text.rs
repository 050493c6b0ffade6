//! Times for humans and for files: RFC 3339 in UTC, and "in 4 min" next to it in messages.

use std::time::Duration;

use line_channel_token::UnixTime;

/// The last instant RFC 3339's four-digit years can spell: later times are written as this.
const MAX_MILLIS: u64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/// `2026-11-24T10:40:00Z`, for messages.
pub fn rfc3339(t: UnixTime) -> String {
    let mut text = rfc3339_millis(t);
    // `…:00.123Z`: the milliseconds are the four characters before the `Z`.
    text.replace_range(text.len() - 5..text.len() - 1, "");
    text
}

/// `2026-11-24T10:40:00.123Z`, for files: exact to the millisecond, and it says what it is.
/// `UnixTime`'s own RFC 3339 text, held to four-digit years.
pub fn rfc3339_millis(t: UnixTime) -> String {
    UnixTime::from_millis(t.as_millis().min(MAX_MILLIS)).to_string()
}

/// A time with where it is from `now`: `2026-11-24T10:44:00Z (in 4 min)`.
pub fn at(t: UnixTime, now: UnixTime) -> String {
    format!("{} ({})", rfc3339(t), relative(t, now))
}

/// "in 4 min", "2 h 5 min ago", "now".
pub fn relative(t: UnixTime, now: UnixTime) -> String {
    if t >= now {
        let d = t - now;
        if d < Duration::from_secs(1) {
            "now".to_owned()
        } else {
            format!("in {}", span(d))
        }
    } else {
        format!("{} ago", span(now - t))
    }
}

fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..172_800 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} days", s / 86_400),
    }
}

/// Parses what [`rfc3339`] and [`rfc3339_millis`] write (UTC, `Z`, optional milliseconds).
pub fn parse(text: &str) -> Option<UnixTime> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = text.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let millis = match b.len() {
        20 => 0,
        24 if b[19] == b'.' => num(20..23)?,
        _ => return None,
    };
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let secs = days
        .checked_mul(86_400)?
        .checked_add(hour * 3600 + minute * 60 + second)?;
    Some(UnixTime::from_millis(
        secs.checked_mul(1000)?.checked_add(millis)?,
    ))
}

fn is_leap(y: u64) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 to a date (Howard Hinnant's algorithm), for years 1970..=9999.
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    if y < 1970 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// What a clock off by more than the skew margin means, in one line.
pub fn skew(now: UnixTime, line: UnixTime) -> String {
    if now > line {
        format!(
            "this host's clock is {} s ahead of LINE's (its Date header): tokens end by LINE's \
             clock, so they are refreshed more often, and with the clock ahead by a token's \
             lifetime none can be used; fix the clock (NTP)",
            (now - line).as_secs()
        )
    } else {
        format!(
            "this host's clock is {} s behind LINE's (its Date header): tokens still end when \
             LINE says, but fix the clock (NTP)",
            (line - now).as_secs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        let t = UnixTime::from_millis(1_700_000_000_123);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_millis(t), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(UnixTime::EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            parse("2024-02-29T23:59:59Z"),
            Some(UnixTime::from_secs(1_709_251_199))
        );
        assert_eq!(
            rfc3339(UnixTime::from_millis(u64::MAX)),
            "9999-12-31T23:59:59Z"
        );
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "2023-01-01T00:00:00",
            "2023-01-01 00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2023-01-01T00:00:00.1Z",
            "+023-01-01T00:00:00Z",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn relative_times() {
        let now = UnixTime::from_secs(1_000_000);
        assert_eq!(relative(now, now), "now");
        assert_eq!(relative(now + Duration::from_secs(240), now), "in 4 min");
        assert_eq!(relative(now - Duration::from_secs(45), now), "45 s ago");
        assert_eq!(
            relative(now + Duration::from_secs(7500), now),
            "in 2 h 5 min"
        );
        assert_eq!(
            relative(now + Duration::from_secs(5 * 86_400), now),
            "in 5 days"
        );
    }

    proptest! {
        #[test]
        fn millis_round_trip(ms in 0..=MAX_MILLIS) {
            let t = UnixTime::from_millis(ms);
            prop_assert_eq!(parse(&rfc3339_millis(t)), Some(t));
            prop_assert_eq!(parse(&rfc3339(t)), Some(UnixTime::from_secs(ms / 1000)));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = parse(&text);
        }
    }
}
