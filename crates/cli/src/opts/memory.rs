//! go-units `RAMInBytes`: a number with an optional binary suffix (`b`, `k`/`kb`/`kib`,
//! `m`, `g`, `t`, `p`, any case), `1.5g` allowed; what `-m`, `--shm-size`,
//! `--memory-reservation` and `tmpfs-size` take.

/// Bytes of a size such as `512m`.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let bad = || format!("invalid size: '{s}'");
    let t = s.trim();
    let digits_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(digits_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let suffix = suffix.trim_start_matches(' ').to_ascii_lowercase();
    let unit = suffix.strip_suffix('b').unwrap_or(&suffix);
    // `kib`, `mib`, …: the `i` only after a unit letter.
    let unit = if unit.len() == 2 && unit.ends_with('i') {
        &unit[..1]
    } else {
        unit
    };
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024f64.powi(2),
        "g" => 1024f64.powi(3),
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    Ok((value * mult) as i64)
}

/// `--memory-swap`: a size, or `-1` for unlimited swap.
pub fn memory_swap(s: &str) -> Result<i64, String> {
    if s.trim() == "-1" {
        Ok(-1)
    } else {
        ram_in_bytes(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(ram_in_bytes("100").unwrap(), 100);
        assert_eq!(ram_in_bytes("100b").unwrap(), 100);
        assert_eq!(ram_in_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("512M").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("512mb").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("512MiB").unwrap(), 512 << 20);
        assert_eq!(ram_in_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(ram_in_bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(ram_in_bytes("4k").unwrap(), 4096);
        assert_eq!(ram_in_bytes("2t").unwrap(), 2 << 40);
        assert_eq!(ram_in_bytes("32 m").unwrap(), 32 << 20);
    }

    #[test]
    fn refusals() {
        for bad in ["", "m", "-1", "12x", "1..2m", ".5m", "1bi", "1mm"] {
            let e = ram_in_bytes(bad).unwrap_err();
            assert!(e.starts_with("invalid size"), "{bad}: {e}");
        }
        assert_eq!(memory_swap("-1").unwrap(), -1);
        assert_eq!(memory_swap("1g").unwrap(), 1 << 30);
    }
}
