//! v2 cpu controller: `cpu.weight`, `cpu.max`, `cpu.max.burst`, `cpu.idle`.
//!
//! - OCI `shares` are v1 units (2..262144); `cpu.weight` is 1..10000. The
//!   conventional linear mapping sends 2 → 1 and 262144 → 10000.
//! - `cpu.max` holds "quota period" in one file; a request that sets only
//!   one of them keeps the other from the current file.
//! - As on v1, an idle group rejects weight writes, so idle is cleared
//!   before the weight is written and set after it.
//! - There is no RT bandwidth control in v2; requesting it is an error.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::{Error, Result};
use crate::interface;
use crate::stats::{CpuUsage, Throttling};

pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        return Err(Error::Unsupported {
            what: "cpu realtime runtime/period".to_owned(),
            reason: "cgroup v2 has no realtime bandwidth control".to_owned(),
        });
    }
    if c.idle() == Some(0) {
        interface::write(dir, "cpu.idle", "0")?;
    }
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        interface::write(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
    }
    if let Some(i) = c.idle().filter(|i| *i != 0) {
        interface::write(dir, "cpu.idle", &i.to_string())?;
    }

    let quota = c.quota().filter(|q| *q != 0);
    let period = c.period().filter(|p| *p != 0);
    if quota.is_some() || period.is_some() {
        let current = interface::read(dir, "cpu.max")?;
        let mut cur = current.split_whitespace();
        let cur_quota = cur.next().unwrap_or("max").to_owned();
        let cur_period = cur.next().unwrap_or("100000").to_owned();
        let q = match quota {
            Some(q) if q > 0 => q.to_string(),
            Some(_) => "max".to_owned(),
            None => cur_quota,
        };
        let p = period.map_or(cur_period, |p| p.to_string());
        interface::write(dir, "cpu.max", &format!("{q} {p}"))?;
    }
    if let Some(b) = c.burst() {
        interface::write(dir, "cpu.max.burst", &b.to_string())?;
    }
    Ok(())
}

/// `cpu.stat` is in microseconds; the stats format wants nanoseconds.
pub(crate) fn stats(dir: &Path) -> Result<(CpuUsage, Throttling)> {
    let Some(text) = interface::read_optional(dir, "cpu.stat")? else {
        return Ok(Default::default());
    };
    let s = interface::flat_keyed(&text);
    let get = |k: &str| s.get(k).copied().unwrap_or(0);
    Ok((
        CpuUsage {
            total: get("usage_usec") * 1000,
            user: get("user_usec") * 1000,
            kernel: get("system_usec") * 1000,
            ..CpuUsage::default()
        },
        Throttling {
            periods: get("nr_periods"),
            throttled_periods: get("nr_throttled"),
            throttled_time: get("throttled_usec") * 1000,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxCpuBuilder;
    use std::fs;

    #[test]
    fn converts_shares() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn writes_cpu_max_keeping_unset_half() {
        let d = tempfile::tempdir().unwrap();
        for f in ["cpu.weight", "cpu.idle", "cpu.max.burst"] {
            fs::write(d.path().join(f), "").unwrap();
        }
        fs::write(d.path().join("cpu.max"), "max 100000\n").unwrap();
        apply(
            d.path(),
            &LinuxCpuBuilder::default().quota(50_000i64).build().unwrap(),
        )
        .unwrap();
        let r = |f: &str| fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(r("cpu.max"), "50000 100000");
        apply(
            d.path(),
            &LinuxCpuBuilder::default()
                .period(20_000u64)
                .shares(1024u64)
                .burst(10u64)
                .build()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(r("cpu.max"), "50000 20000");
        assert_eq!(r("cpu.weight"), "39");
        assert_eq!(r("cpu.max.burst"), "10");
        apply(
            d.path(),
            &LinuxCpuBuilder::default().quota(-1i64).build().unwrap(),
        )
        .unwrap();
        assert_eq!(r("cpu.max"), "max 20000");
        let rt = LinuxCpuBuilder::default()
            .realtime_runtime(100i64)
            .build()
            .unwrap();
        assert!(matches!(
            apply(d.path(), &rt),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn reads_stats_in_ns() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("cpu.stat"), "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 1\nnr_throttled 1\nthrottled_usec 4\n").unwrap();
        let (u, t) = stats(d.path()).unwrap();
        assert_eq!((u.total, u.user, u.kernel), (5000, 3000, 2000));
        assert_eq!(t.throttled_time, 4000);
    }
}
