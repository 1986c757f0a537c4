//! Go's `time.ParseDuration` (`1m30s`, `500ms`, `1.5h`), for the health-check flags, and
//! docker's `--since`/`--until` values (a duration ago, an RFC 3339 time, or a Unix
//! timestamp).

/// Nanoseconds of a Go duration.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let bad = || format!("time: invalid duration \"{s}\"");
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("time: missing unit in duration \"{s}\""))?;
        if num_end == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            u => return Err(format!("time: unknown unit \"{u}\" in duration \"{s}\"")),
        };
        total += value * mult;
        rest = &rest[unit_end..];
    }
    let n = total.round() as i64;
    Ok(if neg { -n } else { n })
}

/// `--since`/`--until` as the API takes it (`secs[.nanos]`): a Go duration counts back
/// from `now`; an RFC 3339 time is converted; anything else (a timestamp) is passed on.
pub fn timestamp(value: &str, now_secs: i64) -> String {
    if let Ok(d) = parse_go_duration(value) {
        if value.chars().any(|c| c.is_ascii_alphabetic()) {
            let secs = now_secs - d / 1_000_000_000;
            return secs.to_string();
        }
    }
    if let Some(t) = crate::format::time::parse_rfc3339(value) {
        return t.to_string();
    }
    if let Some(t) = date_only(value) {
        return t.to_string();
    }
    value.to_owned()
}

/// `2006-01-02` (midnight UTC).
fn date_only(s: &str) -> Option<i64> {
    if s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' {
        crate::format::time::parse_rfc3339(&format!("{s}T00:00:00Z"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("30s").unwrap(), 30_000_000_000);
        assert_eq!(parse_go_duration("1m30s").unwrap(), 90_000_000_000);
        assert_eq!(parse_go_duration("500ms").unwrap(), 500_000_000);
        assert_eq!(parse_go_duration("1.5h").unwrap(), 5_400_000_000_000);
        assert_eq!(parse_go_duration("0").unwrap(), 0);
        assert_eq!(parse_go_duration("-2s").unwrap(), -2_000_000_000);
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("1x").is_err());
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn since_values() {
        assert_eq!(timestamp("10m", 1000), "400");
        assert_eq!(timestamp("1700000000", 0), "1700000000");
        assert_eq!(timestamp("2023-11-14T22:13:20Z", 0), "1700000000");
        assert_eq!(timestamp("1970-01-02", 0), "86400");
    }
}
