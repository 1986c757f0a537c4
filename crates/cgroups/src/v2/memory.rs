//! v2 memory controller: `memory.max`, `memory.low`, `memory.swap.max`.
//!
//! Differences from v1 the OCI fields have to be mapped across:
//! - OCI `swap` is memory+swap (the v1 meaning); v2's `memory.swap.max`
//!   limits swap alone, so the value written is `swap - limit`.
//! - There is no per-cgroup swappiness, no OOM-killer switch, no kernel
//!   memory limit and no non-hierarchical mode in v2; those fields are
//!   skipped (memory.high etc. can be set via the `unified` map instead).

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::error::{Error, Result};
use crate::interface;
use crate::stats::{MemoryEntry, MemoryStats, OomEvents};

fn value(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// The `memory.swap.max` value for OCI `swap` (memory+swap) and `limit`;
/// `None` leaves the file alone. 0 means "not set" for both.
pub(crate) fn swap_max(swap: Option<i64>, limit: Option<i64>) -> Result<Option<String>> {
    let swap = swap.unwrap_or(0);
    let limit = limit.unwrap_or(0);
    let invalid = |reason: &str| Error::InvalidValue {
        what: "memory swap",
        value: swap.to_string(),
        reason: reason.to_owned(),
    };
    match swap {
        // An unlimited memory limit with no swap setting means "unlimited
        // both", the v1 behaviour where memsw follows an unlimited limit.
        0 if limit == -1 => Ok(Some("max".to_owned())),
        0 => Ok(None),
        s if s < 0 => Ok(Some("max".to_owned())),
        s => {
            if limit <= 0 {
                return Err(invalid("a swap limit needs a memory limit"));
            }
            if s < limit {
                return Err(invalid("memory+swap must not be below the memory limit"));
            }
            Ok(Some((s - limit).to_string()))
        }
    }
}

pub(crate) fn apply(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = m.limit().filter(|l| *l != 0);
    if m.check_before_update() == Some(true) {
        if let Some(l) = limit.filter(|l| *l > 0) {
            let usage = interface::read_u64(dir, "memory.current")?;
            if (l as u64) < usage {
                return Err(Error::BelowUsage {
                    path: dir.to_owned(),
                    limit: l,
                    usage,
                });
            }
        }
    }
    if let Some(s) = swap_max(m.swap(), limit)? {
        interface::write(dir, "memory.swap.max", &s)?;
    }
    if let Some(l) = limit {
        interface::write(dir, "memory.max", &value(l))?;
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        interface::write(dir, "memory.low", &value(r))?;
    }
    Ok(())
}

pub(crate) fn stats(dir: &Path) -> Result<MemoryStats> {
    let get = |f: &str| -> Result<u64> { Ok(interface::read_u64_optional(dir, f)?.unwrap_or(0)) };
    let raw = interface::read_optional(dir, "memory.stat")?
        .map(|t| interface::flat_keyed(&t))
        .unwrap_or_default();
    let events = interface::read_optional(dir, "memory.events")?
        .map(|t| interface::flat_keyed(&t))
        .unwrap_or_default();
    let usage = MemoryEntry {
        limit: get("memory.max")?,
        usage: get("memory.current")?,
        max: get("memory.peak")?,
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    // Report swap as memory+swap, the meaning the v1-shaped format has.
    let swap_limit = get("memory.swap.max")?;
    let swap = MemoryEntry {
        limit: usage.limit.saturating_add(swap_limit),
        usage: usage.usage + get("memory.swap.current")?,
        max: 0,
        failcnt: 0,
    };
    Ok(MemoryStats {
        cache: raw.get("file").copied().unwrap_or(0),
        usage,
        swap,
        kernel: MemoryEntry {
            usage: raw.get("kernel").copied().unwrap_or(0),
            ..MemoryEntry::default()
        },
        kernel_tcp: MemoryEntry {
            usage: raw.get("sock").copied().unwrap_or(0),
            ..MemoryEntry::default()
        },
        raw,
    })
}

pub(crate) fn oom_events(dir: &Path) -> Result<OomEvents> {
    let e = interface::flat_keyed(&interface::read(dir, "memory.events")?);
    Ok(OomEvents {
        oom: e.get("oom").copied().unwrap_or(0),
        oom_kill: e.get("oom_kill").copied().unwrap_or(0),
        under_oom: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;
    use std::fs;

    #[test]
    fn converts_swap() {
        assert_eq!(swap_max(None, Some(100)).unwrap(), None);
        assert_eq!(swap_max(None, Some(-1)).unwrap().as_deref(), Some("max"));
        assert_eq!(
            swap_max(Some(-1), Some(100)).unwrap().as_deref(),
            Some("max")
        );
        assert_eq!(
            swap_max(Some(300), Some(100)).unwrap().as_deref(),
            Some("200")
        );
        assert_eq!(
            swap_max(Some(100), Some(100)).unwrap().as_deref(),
            Some("0")
        );
        assert!(swap_max(Some(50), Some(100)).is_err());
        assert!(swap_max(Some(50), None).is_err());
    }

    #[test]
    fn writes_v2_files() {
        let d = tempfile::tempdir().unwrap();
        for f in ["memory.max", "memory.swap.max", "memory.low"] {
            fs::write(d.path().join(f), "max\n").unwrap();
        }
        fs::write(d.path().join("memory.current"), "8192\n").unwrap();
        fs::write(
            d.path().join("memory.events"),
            "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n",
        )
        .unwrap();
        let m = LinuxMemoryBuilder::default()
            .limit(1 << 20)
            .swap(3 << 20)
            .reservation(1 << 19)
            .swappiness(10u64)
            .build()
            .unwrap();
        apply(d.path(), &m).unwrap();
        let r = |f: &str| fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(r("memory.max"), "1048576");
        assert_eq!(r("memory.swap.max"), "2097152");
        assert_eq!(r("memory.low"), "524288");
        let s = stats(d.path()).unwrap();
        assert_eq!(
            (s.usage.limit, s.usage.usage, s.usage.failcnt),
            (1 << 20, 8192, 4)
        );
        assert_eq!(oom_events(d.path()).unwrap().oom_kill, 1);
        let m = LinuxMemoryBuilder::default()
            .limit(4096)
            .check_before_update(true)
            .build()
            .unwrap();
        assert!(matches!(apply(d.path(), &m), Err(Error::BelowUsage { .. })));
    }
}
