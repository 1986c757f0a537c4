//! v2 io controller: `io.max` throttling and `io.bfq.weight` / `io.weight`.
//!
//! - `io.max` takes one device per write, with all of that device's limits
//!   on the line: `maj:min rbps=.. wbps=.. riops=.. wiops=..`. A rate of 0
//!   (v1's "remove the limit") is written as `max`.
//! - OCI weights are v1 units (10..1000). BFQ's `io.bfq.weight` uses the same
//!   range and is preferred when present; `io.weight` is 1..10000 and gets
//!   the conventional linear conversion.
//! - Leaf weights were a CFQ feature and have no v2 counterpart: an error.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxBlockIo;

use crate::error::{Error, Result};
use crate::interface;
use crate::stats::{parse_dev, BlkioEntry, BlkioStats};

pub(crate) fn blkio_to_io_weight(w: u16) -> u64 {
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// (file, value) to use for a weight: BFQ's if it exists.
fn weight_target(dir: &Path, w: u16, device: Option<(i64, i64)>) -> Result<(&'static str, String)> {
    let fmt = |v: u64| match device {
        Some((maj, min)) => format!("{maj}:{min} {v}"),
        None => v.to_string(),
    };
    if interface::exists(dir, "io.bfq.weight") {
        Ok(("io.bfq.weight", fmt(u64::from(w))))
    } else if interface::exists(dir, "io.weight") {
        Ok(("io.weight", fmt(blkio_to_io_weight(w))))
    } else {
        Err(Error::Unsupported {
            what: "io weight".to_owned(),
            reason: format!(
                "neither io.bfq.weight nor io.weight exists in {}",
                dir.display()
            ),
        })
    }
}

/// The `io.max` lines for the throttle settings, one per device.
pub(crate) fn max_lines(b: &LinuxBlockIo) -> Vec<String> {
    let mut per_dev: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
    let groups = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, devices) in groups {
        for d in devices.iter().flatten() {
            let v = if d.rate() == 0 {
                "max".to_owned()
            } else {
                d.rate().to_string()
            };
            per_dev
                .entry((d.major(), d.minor()))
                .or_default()
                .push(format!("{key}={v}"));
        }
    }
    per_dev
        .into_iter()
        .map(|((maj, min), kv)| format!("{maj}:{min} {}", kv.join(" ")))
        .collect()
}

pub(crate) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let leaf_requested = b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| d.leaf_weight().is_some());
    if leaf_requested {
        return Err(Error::Unsupported {
            what: "blkio leaf weight".to_owned(),
            reason: "cgroup v2 has no leaf weights".to_owned(),
        });
    }
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let (f, v) = weight_target(dir, w, None)?;
        interface::write(dir, f, &v)?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let (f, v) = weight_target(dir, w, Some((d.major(), d.minor())))?;
            interface::write(dir, f, &v)?;
        }
    }
    for line in max_lines(b) {
        interface::write(dir, "io.max", &line)?;
    }
    Ok(())
}

/// `io.stat`: `maj:min rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..`.
pub(crate) fn stats(dir: &Path) -> Result<BlkioStats> {
    let mut out = BlkioStats::default();
    let Some(text) = interface::read_optional(dir, "io.stat")? else {
        return Ok(out);
    };
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let Some((major, minor)) = it.next().and_then(parse_dev) else {
            continue;
        };
        for kv in it {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut out.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut out.io_service_bytes_recursive, "Write"),
                "dbytes" => (&mut out.io_service_bytes_recursive, "Discard"),
                "rios" => (&mut out.io_serviced_recursive, "Read"),
                "wios" => (&mut out.io_serviced_recursive, "Write"),
                "dios" => (&mut out.io_serviced_recursive, "Discard"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_owned(),
                value,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder as TB};
    use std::fs;

    fn t(maj: i64, min: i64, rate: u64) -> oci_spec::runtime::LinuxThrottleDevice {
        TB::default()
            .major(maj)
            .minor(min)
            .rate(rate)
            .build()
            .unwrap()
    }

    #[test]
    fn builds_io_max_lines() {
        let b = LinuxBlockIoBuilder::default()
            .throttle_read_bps_device(vec![t(8, 0, 100), t(8, 16, 0)])
            .throttle_write_iops_device(vec![t(8, 0, 7)])
            .build()
            .unwrap();
        assert_eq!(max_lines(&b), ["8:0 rbps=100 wiops=7", "8:16 rbps=max"]);
    }

    #[test]
    fn weights_prefer_bfq() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("io.weight"), "").unwrap();
        let b = LinuxBlockIoBuilder::default()
            .weight(10u16)
            .build()
            .unwrap();
        apply(d.path(), &b).unwrap();
        assert_eq!(fs::read_to_string(d.path().join("io.weight")).unwrap(), "1");
        fs::write(d.path().join("io.bfq.weight"), "").unwrap();
        apply(
            d.path(),
            &LinuxBlockIoBuilder::default()
                .weight(500u16)
                .build()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("io.bfq.weight")).unwrap(),
            "500"
        );
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        let leaf = LinuxBlockIoBuilder::default()
            .leaf_weight(300u16)
            .build()
            .unwrap();
        assert!(apply(d.path(), &leaf).is_err());
    }

    #[test]
    fn parses_io_stat() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join("io.stat"),
            "253:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
        )
        .unwrap();
        let s = stats(d.path()).unwrap();
        assert_eq!(s.io_service_bytes_recursive.len(), 3);
        assert_eq!(s.io_serviced_recursive[1].value, 2);
    }
}
