//! The HTTP `Date` header (RFC 7231 section 7.1.1.1, IMF-fixdate: `Sun, 06 Nov 1994 08:49:37
//! GMT`): LINE's clock, as its answers state it. Parsed by hand: it is one fixed format of 29
//! bytes, and a header from outside must never panic anything.

use http::header::DATE;
use http::Response;

#[cfg(any(feature = "emulator", test))]
use crate::time::civil_from_days;
use crate::time::UnixTime;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The time a response's `Date` header states, if it has one in IMF-fixdate form.
pub(crate) fn response_date<B>(response: &Response<B>) -> Option<UnixTime> {
    parse(response.headers().get(DATE)?.to_str().ok()?)
}

/// `text` as an IMF-fixdate, or `None` for anything else (the obsolete RFC 850 and asctime
/// forms included: LINE sends IMF-fixdate, and a date that is not read only skips a check).
pub(crate) fn parse(text: &str) -> Option<UnixTime> {
    let b = text.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    let seps = [(7, b' '), (11, b' '), (16, b' '), (19, b':'), (22, b':')];
    if seps.iter().any(|&(i, c)| b[i] != c) || !DAYS.contains(&text.get(..3)?) {
        return None;
    }
    let day = digits(&b[5..7])?;
    let month = MONTHS.iter().position(|m| Some(*m) == text.get(8..11))? as u64 + 1;
    let year = digits(&b[12..16])?;
    let (hour, minute, second) = (
        digits(&b[17..19])?,
        digits(&b[20..22])?,
        digits(&b[23..25])?,
    );
    // 60 is a leap second; it is read as the next one.
    if year < 1970 || day == 0 || day > days_in(year, month) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(UnixTime::from_secs(
        days * 86_400 + hour * 3600 + minute * 60 + second,
    ))
}

/// `time` as an IMF-fixdate, rounded down to the second.
#[cfg(any(feature = "emulator", test))]
pub(crate) fn format(time: UnixTime) -> String {
    let secs = time.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
    )
}

fn digits(b: &[u8]) -> Option<u64> {
    b.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date on or after it (Howard Hinnant's algorithm, for unsigned
/// years from 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_and_known_instants() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UnixTime::from_secs(784_111_777))
        );
        let t = UnixTime::from_secs(1_700_000_000);
        assert_eq!(format(t), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(format(UnixTime::EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            parse("Thu, 29 Feb 2024 00:00:00 GMT")
                .map(format)
                .as_deref(),
            Some("Thu, 29 Feb 2024 00:00:00 GMT")
        );
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 2023 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 0x Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMTé",
            "Sun,é06 Nov 1994 08:49:37 GM",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_the_second(secs in 0u64..253_402_300_800) {
            let t = UnixTime::from_secs(secs);
            proptest::prop_assert_eq!(parse(&format(t)), Some(t));
        }

        #[test]
        fn never_panics(text in ".{0,40}") {
            let _ = parse(&text);
        }
    }
}
