//! v1 memory controller.
//!
//! Kernel quirks handled here:
//! - `memory.memsw.limit_in_bytes` (memory+swap) must never be below
//!   `memory.limit_in_bytes`; the kernel rejects any write that would make it
//!   so with EINVAL. When raising, memsw is written first; when lowering, the
//!   memory limit is written first. Which case applies is decided against the
//!   limit currently in force.
//! - Kernel memory (`memory.kmem.limit_in_bytes`): since Linux 5.16 the file
//!   still exists but writes are accepted and ignored (6.x), and some kernels
//!   drop the file altogether. A requested kernel limit is therefore written
//!   when the file exists and otherwise skipped without error, like runc does
//!   on these kernels; EOPNOTSUPP from the write is also treated as "skipped".
//! - `memory.use_hierarchy`: kernels since 5.x are always hierarchical and
//!   reject `0` with EINVAL; that is reported as unsupported.
//! - A value of 0 for limit, swap, reservation or kernel limits means "not
//!   set" (the convention of Docker and runc), never "zero bytes".

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use crate::error::{Error, Result};
use crate::interface;
use crate::stats::{MemoryEntry, MemoryStats, OomEvents};

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

fn set(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v != 0)
}

pub(crate) fn apply(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = set(m.limit());
    let swap = set(m.swap());
    if m.check_before_update() == Some(true) {
        if let Some(limit) = limit.filter(|l| *l > 0) {
            let usage = interface::read_u64(dir, "memory.usage_in_bytes")?;
            if (limit as u64) < usage {
                return Err(Error::BelowUsage {
                    path: dir.to_owned(),
                    limit,
                    usage,
                });
            }
        }
    }
    set_limits(dir, limit, swap)?;
    if let Some(r) = set(m.reservation()) {
        interface::write(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
    }
    if let Some(k) = set(m.kernel()) {
        write_ignored_knob(dir, "memory.kmem.limit_in_bytes", k)?;
    }
    if let Some(k) = set(m.kernel_tcp()) {
        write_ignored_knob(dir, "memory.kmem.tcp.limit_in_bytes", k)?;
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(Error::InvalidValue {
                what: "memory swappiness",
                value: s.to_string(),
                reason: "must be between 0 and 100".to_owned(),
            });
        }
        interface::write(dir, "memory.swappiness", &s.to_string())?;
    }
    if let Some(disable) = m.disable_oom_killer() {
        interface::write(dir, "memory.oom_control", if disable { "1" } else { "0" })?;
    }
    if let Some(h) = m.use_hierarchy() {
        match interface::write(dir, "memory.use_hierarchy", if h { "1" } else { "0" }) {
            Err(e) if !h && e.raw_os_error() == Some(libc::EINVAL) => {
                return Err(Error::Unsupported {
                    what: "memory.useHierarchy=false".to_owned(),
                    reason: "this kernel always accounts memory hierarchically".to_owned(),
                })
            }
            r => r?,
        }
    }
    Ok(())
}

/// Writes limit and memory+swap limit in the order the kernel accepts.
fn set_limits(dir: &Path, limit: Option<i64>, swap: Option<i64>) -> Result<()> {
    match (limit, swap) {
        (Some(l), Some(s)) => {
            let current = interface::read_u64(dir, LIMIT)?;
            // -1 is unlimited, never below anything.
            let raising = s < 0 || s as u64 >= current;
            if raising {
                interface::write(dir, MEMSW, &s.to_string())?;
                interface::write(dir, LIMIT, &l.to_string())
            } else {
                interface::write(dir, LIMIT, &l.to_string())?;
                interface::write(dir, MEMSW, &s.to_string())
            }
        }
        (Some(l), None) => interface::write(dir, LIMIT, &l.to_string()),
        (None, Some(s)) => interface::write(dir, MEMSW, &s.to_string()),
        (None, None) => Ok(()),
    }
}

/// Kernel-memory knobs: see the module docs for why absence is not an error.
fn write_ignored_knob(dir: &Path, name: &str, value: i64) -> Result<()> {
    if !interface::exists(dir, name) {
        return Ok(());
    }
    match interface::write(dir, name, &value.to_string()) {
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(()),
        r => r,
    }
}

fn entry(dir: &Path, prefix: &str) -> Result<MemoryEntry> {
    let get = |suffix: &str| -> Result<u64> {
        Ok(interface::read_u64_optional(dir, &format!("{prefix}.{suffix}"))?.unwrap_or(0))
    };
    Ok(MemoryEntry {
        limit: get("limit_in_bytes")?,
        usage: get("usage_in_bytes")?,
        max: get("max_usage_in_bytes")?,
        failcnt: get("failcnt")?,
    })
}

pub(crate) fn stats(dir: &Path) -> Result<MemoryStats> {
    let raw = interface::read_optional(dir, "memory.stat")?
        .map(|t| interface::flat_keyed(&t))
        .unwrap_or_default();
    Ok(MemoryStats {
        cache: raw
            .get("total_cache")
            .or_else(|| raw.get("cache"))
            .copied()
            .unwrap_or(0),
        usage: entry(dir, "memory")?,
        swap: entry(dir, "memory.memsw")?,
        kernel: entry(dir, "memory.kmem")?,
        kernel_tcp: entry(dir, "memory.kmem.tcp")?,
        raw,
    })
}

pub(crate) fn oom_events(dir: &Path) -> Result<OomEvents> {
    let c = interface::flat_keyed(&interface::read(dir, "memory.oom_control")?);
    let under = c.get("under_oom").copied().unwrap_or(0);
    Ok(OomEvents {
        oom: under,
        oom_kill: c.get("oom_kill").copied().unwrap_or(0),
        under_oom: under != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxMemoryBuilder;
    use std::fs;

    fn fake() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (f, v) in [
            (LIMIT, "9223372036854771712"),
            (MEMSW, "9223372036854771712"),
            ("memory.soft_limit_in_bytes", "9223372036854771712"),
            ("memory.swappiness", "60"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
            ),
            ("memory.usage_in_bytes", "4096"),
            ("memory.stat", "cache 10\ntotal_cache 20\nrss 5\n"),
        ] {
            fs::write(d.path().join(f), v).unwrap();
        }
        d
    }

    fn read(d: &Path, f: &str) -> String {
        fs::read_to_string(d.join(f)).unwrap()
    }

    #[test]
    fn writes_everything_and_skips_absent_kmem() {
        let d = fake();
        let m = LinuxMemoryBuilder::default()
            .limit(1 << 20)
            .swap(2 << 20)
            .reservation(1 << 19)
            .kernel(1 << 20)
            .kernel_tcp(1 << 20)
            .swappiness(10u64)
            .disable_oom_killer(true)
            .build()
            .unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(read(d.path(), LIMIT), "1048576");
        assert_eq!(read(d.path(), MEMSW), "2097152");
        assert_eq!(read(d.path(), "memory.soft_limit_in_bytes"), "524288");
        assert_eq!(read(d.path(), "memory.swappiness"), "10");
        assert_eq!(read(d.path(), "memory.oom_control"), "1");
        assert!(!d.path().join("memory.kmem.limit_in_bytes").exists());
    }

    #[test]
    fn rejects_bad_swappiness_and_low_limit() {
        let d = fake();
        let m = LinuxMemoryBuilder::default()
            .swappiness(101u64)
            .build()
            .unwrap();
        assert!(matches!(
            apply(d.path(), &m),
            Err(Error::InvalidValue { .. })
        ));
        let m = LinuxMemoryBuilder::default()
            .limit(100)
            .check_before_update(true)
            .build()
            .unwrap();
        assert!(matches!(
            apply(d.path(), &m),
            Err(Error::BelowUsage { usage: 4096, .. })
        ));
    }

    #[test]
    fn missing_memsw_is_reported() {
        let d = fake();
        fs::remove_file(d.path().join(MEMSW)).unwrap();
        let m = LinuxMemoryBuilder::default().swap(1 << 20).build().unwrap();
        let e = apply(d.path(), &m).unwrap_err();
        assert!(e.to_string().contains("memory.memsw.limit_in_bytes"), "{e}");
    }

    #[test]
    fn reads_stats_and_oom() {
        let d = fake();
        let s = stats(d.path()).unwrap();
        assert_eq!(s.cache, 20);
        assert_eq!(s.usage.usage, 4096);
        assert_eq!(s.raw["rss"], 5);
        let o = oom_events(d.path()).unwrap();
        assert_eq!((o.oom_kill, o.under_oom), (2, false));
    }
}
