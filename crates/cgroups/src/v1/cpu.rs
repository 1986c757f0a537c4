//! v1 cpu controller: CFS shares and bandwidth, idle, burst and RT bandwidth.
//!
//! Kernel quirks handled here:
//! - A group with `cpu.idle` = 1 has its shares pinned and rejects writes to
//!   `cpu.shares` with EINVAL, so idle is cleared before shares are written
//!   and set only after them.
//! - Quota/period and RT runtime/period are checked against each other (and
//!   against the parent) on every write, so the "right" order depends on the
//!   current values: period goes first, and if the kernel refuses that with
//!   EINVAL the pair is written the other way round.
//! - `cpu.cfs_burst_us` may not exceed the quota, so it is written last.
//! - 0 for shares, quota, period or RT values means "not set".

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::Result;
use crate::interface;
use crate::stats::Throttling;

/// Whether any field this controller handles is set.
pub(crate) fn requested(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
}

pub(crate) fn apply(dir: &Path, c: &LinuxCpu) -> Result<()> {
    let idle = c.idle();
    if idle == Some(0) {
        interface::write(dir, "cpu.idle", "0")?;
    }
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        interface::write(dir, "cpu.shares", &shares.to_string())?;
    }
    if let Some(i) = idle.filter(|i| *i != 0) {
        interface::write(dir, "cpu.idle", &i.to_string())?;
    }

    let quota = c.quota().filter(|q| *q != 0).map(|q| q.to_string());
    let period = c.period().filter(|p| *p != 0).map(|p| p.to_string());
    match (&period, &quota) {
        (Some(p), Some(q)) => {
            interface::write_pair(dir, ("cpu.cfs_period_us", p), ("cpu.cfs_quota_us", q))?
        }
        (Some(p), None) => interface::write(dir, "cpu.cfs_period_us", p)?,
        (None, Some(q)) => interface::write(dir, "cpu.cfs_quota_us", q)?,
        (None, None) => {}
    }
    if let Some(b) = c.burst() {
        interface::write(dir, "cpu.cfs_burst_us", &b.to_string())?;
    }

    let rt_period = c
        .realtime_period()
        .filter(|p| *p != 0)
        .map(|p| p.to_string());
    let rt_runtime = c
        .realtime_runtime()
        .filter(|r| *r != 0)
        .map(|r| r.to_string());
    match (&rt_period, &rt_runtime) {
        (Some(p), Some(r)) => {
            interface::write_pair(dir, ("cpu.rt_period_us", p), ("cpu.rt_runtime_us", r))?
        }
        (Some(p), None) => interface::write(dir, "cpu.rt_period_us", p)?,
        (None, Some(r)) => interface::write(dir, "cpu.rt_runtime_us", r)?,
        (None, None) => {}
    }
    Ok(())
}

/// `cpu.stat` throttling counters (`throttled_time` is already nanoseconds on v1).
pub(crate) fn throttling(dir: &Path) -> Result<Throttling> {
    let Some(text) = interface::read_optional(dir, "cpu.stat")? else {
        return Ok(Throttling::default());
    };
    let s = interface::flat_keyed(&text);
    let get = |k: &str| s.get(k).copied().unwrap_or(0);
    Ok(Throttling {
        periods: get("nr_periods"),
        throttled_periods: get("nr_throttled"),
        throttled_time: get("throttled_time"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxCpuBuilder;
    use std::fs;

    #[test]
    fn writes_cpu_files() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "cpu.shares",
            "cpu.idle",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
        ] {
            fs::write(d.path().join(f), "").unwrap();
        }
        fs::write(
            d.path().join("cpu.stat"),
            "nr_periods 3\nnr_throttled 1\nthrottled_time 77\n",
        )
        .unwrap();
        let c = LinuxCpuBuilder::default()
            .shares(512u64)
            .quota(50000i64)
            .period(100000u64)
            .burst(1000u64)
            .realtime_period(100000u64)
            .realtime_runtime(1000i64)
            .idle(0i64)
            .build()
            .unwrap();
        assert!(requested(&c));
        apply(d.path(), &c).unwrap();
        let r = |f: &str| fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(r("cpu.shares"), "512");
        assert_eq!(r("cpu.cfs_quota_us"), "50000");
        assert_eq!(r("cpu.cfs_period_us"), "100000");
        assert_eq!(r("cpu.cfs_burst_us"), "1000");
        assert_eq!(r("cpu.rt_runtime_us"), "1000");
        assert_eq!(r("cpu.idle"), "0");
        let t = throttling(d.path()).unwrap();
        assert_eq!(
            (t.periods, t.throttled_periods, t.throttled_time),
            (3, 1, 77)
        );
        assert!(!requested(
            &LinuxCpuBuilder::default().cpus("0").build().unwrap()
        ));
    }
}
