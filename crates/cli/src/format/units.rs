//! Sizes and durations written as docker writes them (go-units): decimal sizes with three
//! significant digits (`4.26MB`), and "CREATED" durations such as `2 weeks ago`.

/// go-units `HumanSizeWithPrecision(size, precision)`: powers of 1000, `%.<p>g`.
pub fn human_size_with_precision(size: f64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = size;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g(size, precision), UNITS[unit])
}

/// go-units `BytesSize`: powers of 1024, four significant digits (`1.5MiB`), as
/// `stats` shows memory.
pub fn bytes_size(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut size = size;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{}{}", format_g(size, 4), UNITS[unit])
}

/// Sizes in the `images` table: three significant digits.
pub fn image_size(bytes: u64) -> String {
    human_size_with_precision(bytes as f64, 3)
}

/// go-units `HumanSize`: four significant digits (`system df`).
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes as f64, 4)
}

/// Go's `%.<p>g`: `p` significant digits, trailing zeros dropped, exponent form when the
/// exponent is below -4 or at least `p`.
fn format_g(v: f64, p: usize) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    let p = p.max(1);
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("exponent");
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", strip_zeros(mantissa), exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    strip_zeros(&format!("{v:.decimals$}")).to_owned()
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// go-units `HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    let minutes = secs / 60;
    let hours = (secs as f64 / 3600.0 + 0.5) as i64;
    match () {
        _ if secs < 1 => "Less than a second".to_owned(),
        _ if secs == 1 => "1 second".to_owned(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".to_owned(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".to_owned(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// The CREATED column: `<duration> ago`, or `N/A` for an image without a date.
pub fn created_since(created: i64, now: i64) -> String {
    if created <= 0 {
        return "N/A".to_owned();
    }
    format!("{} ago", human_duration(now - created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(image_size(0), "0B");
        assert_eq!(image_size(999), "999B");
        assert_eq!(image_size(1_000), "1kB");
        assert_eq!(image_size(4_261_376), "4.26MB");
        assert_eq!(image_size(1_500_000), "1.5MB");
        assert_eq!(image_size(123_456_789), "123MB");
        assert_eq!(human_size(4_261_376), "4.261MB");
        assert_eq!(human_size(2_000_000_000), "2GB");
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(45 * 60), "45 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86_400), "3 days");
        assert_eq!(human_duration(21 * 86_400), "3 weeks");
        assert_eq!(human_duration(90 * 86_400), "3 months");
        assert_eq!(human_duration(3 * 365 * 86_400), "3 years");
        assert_eq!(created_since(100, 160), "About a minute ago");
        assert_eq!(created_since(0, 160), "N/A");
    }
}
