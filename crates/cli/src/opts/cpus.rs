//! `--cpus 1.5` → `NanoCpus` 1500000000, exact: a decimal with more than nine fractional
//! digits is refused, as docker refuses it ("too precise").

pub fn nano_cpus(s: &str) -> Result<i64, String> {
    let bad = || {
        format!("invalid argument \"{s}\" for \"--cpus\" flag: failed to parse {s} as a rational number")
    };
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let frac_trim = frac.trim_end_matches('0');
    if frac_trim.len() > 9 {
        return Err(format!(
            "invalid argument \"{s}\" for \"--cpus\" flag: value is too precise"
        ));
    }
    let whole: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut nanos_digits = frac_trim.to_owned();
    while nanos_digits.len() < 9 {
        nanos_digits.push('0');
    }
    let nanos: i64 = nanos_digits.parse().map_err(|_| bad())?;
    whole
        .checked_mul(1_000_000_000)
        .and_then(|w| w.checked_add(nanos))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus() {
        assert_eq!(nano_cpus("1").unwrap(), 1_000_000_000);
        assert_eq!(nano_cpus("1.5").unwrap(), 1_500_000_000);
        assert_eq!(nano_cpus("0.25").unwrap(), 250_000_000);
        assert_eq!(nano_cpus(".5").unwrap(), 500_000_000);
        assert_eq!(nano_cpus("0.000000001").unwrap(), 1);
        assert_eq!(nano_cpus("2.000000000000").unwrap(), 2_000_000_000);
        assert!(nano_cpus("0.0000000001")
            .unwrap_err()
            .contains("too precise"));
        assert!(nano_cpus("abc").is_err());
        assert!(nano_cpus("-1").is_err());
        assert!(nano_cpus("").is_err());
    }
}
