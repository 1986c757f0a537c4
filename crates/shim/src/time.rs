//! Wall-clock timestamps in RFC 3339 with nanoseconds, UTC (`2026-12-01T20:04:09.123456789Z`),
//! as Docker writes them in json-file logs.

/// A point in time: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// Now, from `CLOCK_REALTIME`.
    pub fn now() -> Timestamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec through the valid pointer we pass.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        Timestamp {
            secs: ts.tv_sec,
            nanos: ts.tv_nsec as u32,
        }
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (always nine fraction digits).
    pub fn write_rfc3339(&self, out: &mut Vec<u8>) {
        let days = self.secs.div_euclid(86_400);
        let secs_of_day = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        push_num(out, year as u64, 4);
        out.push(b'-');
        push_num(out, month as u64, 2);
        out.push(b'-');
        push_num(out, day as u64, 2);
        out.push(b'T');
        push_num(out, (secs_of_day / 3600) as u64, 2);
        out.push(b':');
        push_num(out, (secs_of_day / 60 % 60) as u64, 2);
        out.push(b':');
        push_num(out, (secs_of_day % 60) as u64, 2);
        out.push(b'.');
        push_num(out, u64::from(self.nanos), 9);
        out.push(b'Z');
    }

    /// The RFC 3339 text as a `String`.
    pub fn rfc3339(&self) -> String {
        let mut out = Vec::with_capacity(30);
        self.write_rfc3339(&mut out);
        // Only ASCII digits and punctuation were written.
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Zero-padded decimal, at least `width` digits.
fn push_num(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    while n > 0 || digits.len() - i < width {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[i..]);
}

/// (year, month 1-12, day 1-31) of the proleptic Gregorian calendar for a count of days
/// since 1970-01-01. Works in 400-year eras (146097 days each), counted from 0000-03-01 so
/// that the leap day is the last day of a "year" and month lengths repeat regularly.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let from_march_0 = days + 719_468; // 0000-03-01 → 1970-01-01
    let era = from_march_0.div_euclid(146_097);
    let day_of_era = from_march_0.rem_euclid(146_097); // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 31 30 31 30 31 31 30 31 30 31 31 28/29, i.e. a cycle of 153 days
    // per 5 months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: i64, nanos: u32) -> String {
        Timestamp { secs, nanos }.rfc3339()
    }

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(fmt(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            fmt(1_798_747_449, 123_456_789),
            "2026-12-31T20:04:09.123456789Z"
        );
        // leap day, and the last second of a leap year
        assert_eq!(fmt(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(
            fmt(1_609_459_199, 999_999_999),
            "2020-12-31T23:59:59.999999999Z"
        );
        // 2100 is not a leap year
        assert_eq!(fmt(4_107_542_400, 0), "2100-03-01T00:00:00.000000000Z");
        assert_eq!(fmt(-1, 0), "1969-12-31T23:59:59.000000000Z");
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // Independent check: walk day by day with the calendar rules and compare.
        let mut y = 1970i64;
        let (mut m, mut d) = (1u32, 1u32);
        for days in 0..146_097 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn now_is_after_2025_and_well_formed() {
        let now = Timestamp::now();
        assert!(now.secs > 1_735_689_600);
        let text = now.rfc3339();
        assert_eq!(text.len(), 30, "{text}");
        assert!(text.ends_with('Z') && text.as_bytes()[10] == b'T');
    }
}
