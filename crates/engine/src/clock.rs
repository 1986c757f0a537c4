//! Times as the Engine API writes them: RFC 3339 with nanoseconds in UTC (the date
//! arithmetic is the image store's), and parsing of `since`/`until` arguments.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn rfc3339_nanos(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = berth_image::rfc3339(d.as_secs() as i64);
    format!("{}.{:09}Z", secs.trim_end_matches('Z'), d.subsec_nanos())
}

pub fn now_rfc3339() -> String {
    rfc3339_nanos(SystemTime::now())
}

/// Unix nanoseconds of an RFC 3339 time with optional fraction.
pub fn parse_nanos(s: &str) -> Option<i128> {
    let secs = berth_image::parse_rfc3339(s)?;
    let frac = s.get(19..).and_then(|r| r.strip_prefix('.')).map_or(0, |f| {
        let digits: String = f.chars().take_while(char::is_ascii_digit).take(9).collect();
        format!("{digits:0<9}").parse::<i128>().unwrap_or(0)
    });
    Some(i128::from(secs) * 1_000_000_000 + frac)
}

/// `since`/`until` as clients send them: Unix seconds with an optional fraction
/// (`1700000000.000000001`), or an RFC 3339 time; 0 or empty for none.
pub fn parse_api_time(s: &str) -> Option<i128> {
    if s.is_empty() {
        return None;
    }
    if let Some((sec, frac)) = s.split_once('.') {
        if let (Ok(sec), Ok(_)) = (sec.parse::<i128>(), frac.parse::<u64>()) {
            let frac: String = format!("{frac:0<9}").chars().take(9).collect();
            return Some(sec * 1_000_000_000 + frac.parse::<i128>().unwrap_or(0));
        }
    }
    if let Ok(sec) = s.parse::<i128>() {
        return Some(sec * 1_000_000_000);
    }
    parse_nanos(s)
}

pub fn unix_nanos(t: SystemTime) -> i128 {
    t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_nanos() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let s = rfc3339_nanos(t);
        assert_eq!(s, "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_nanos(&s), Some(1_700_000_000_123_456_789));
        assert_eq!(parse_api_time("1700000000.5"), Some(1_700_000_000_500_000_000));
        assert_eq!(parse_api_time("1700000000"), Some(1_700_000_000_000_000_000));
        assert_eq!(parse_api_time(""), None);
    }
}
