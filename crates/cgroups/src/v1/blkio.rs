//! v1 blkio controller: proportional weights and throttling.
//!
//! Kernel quirks: the CFQ scheduler (and with it `blkio.weight`,
//! `blkio.leaf_weight*`) is gone since Linux 5.0; weights now exist only as
//! `blkio.bfq.weight*`, and only in non-root cgroups, and per-device weights
//! only for devices actually using the BFQ scheduler (EOPNOTSUPP otherwise).
//! A requested weight whose file does not exist is an error, never silently
//! dropped. Throttle files take one `maj:min value` record per write.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use crate::error::{Error, Result};
use crate::interface;
use crate::stats::{parse_blkio_v1, BlkioStats};

/// The first of `candidates` that exists in `dir`.
fn pick<'a>(dir: &Path, what: &str, candidates: &[&'a str]) -> Result<&'a str> {
    candidates
        .iter()
        .copied()
        .find(|f| interface::exists(dir, f))
        .ok_or_else(|| Error::Unsupported {
            what: what.to_owned(),
            reason: format!(
                "none of {} exists in {}",
                candidates.join(", "),
                dir.display()
            ),
        })
}

pub(crate) fn apply(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        let f = pick(dir, "blkio weight", &["blkio.bfq.weight", "blkio.weight"])?;
        interface::write(dir, f, &w.to_string())?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        let f = pick(dir, "blkio leaf weight", &["blkio.leaf_weight"])?;
        interface::write(dir, f, &w.to_string())?;
    }
    for d in b.weight_device().iter().flatten() {
        if let Some(w) = d.weight() {
            let f = pick(
                dir,
                "blkio device weight",
                &["blkio.bfq.weight_device", "blkio.weight_device"],
            )?;
            interface::write(dir, f, &format!("{}:{} {}", d.major(), d.minor(), w))?;
        }
        if let Some(w) = d.leaf_weight() {
            let f = pick(
                dir,
                "blkio device leaf weight",
                &["blkio.leaf_weight_device"],
            )?;
            interface::write(dir, f, &format!("{}:{} {}", d.major(), d.minor(), w))?;
        }
    }
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>); 4] = [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ];
    for (file, devices) in throttles {
        for d in devices.iter().flatten() {
            interface::write(
                dir,
                file,
                &format!("{}:{} {}", d.major(), d.minor(), d.rate()),
            )?;
        }
    }
    Ok(())
}

/// Uses BFQ's counters when present, else the throttle layer's (which sees
/// every bio, whatever the scheduler).
pub(crate) fn stats(dir: &Path) -> Result<BlkioStats> {
    let read = |name: &str| -> Result<Vec<crate::stats::BlkioEntry>> {
        Ok(interface::read_optional(dir, name)?
            .map(|t| parse_blkio_v1(&t))
            .unwrap_or_default())
    };
    let mut bytes = read("blkio.bfq.io_service_bytes_recursive")?;
    let mut ios = read("blkio.bfq.io_serviced_recursive")?;
    if bytes.is_empty() && ios.is_empty() {
        bytes = read("blkio.throttle.io_service_bytes_recursive")?;
        ios = read("blkio.throttle.io_serviced_recursive")?;
    }
    Ok(BlkioStats {
        io_service_bytes_recursive: bytes,
        io_serviced_recursive: ios,
        ..BlkioStats::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    };
    use std::fs;

    #[test]
    fn writes_weights_and_throttles() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "blkio.bfq.weight",
            "blkio.bfq.weight_device",
            "blkio.throttle.read_bps_device",
        ] {
            fs::write(d.path().join(f), "").unwrap();
        }
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .weight_device(vec![LinuxWeightDeviceBuilder::default()
                .major(8)
                .minor(0)
                .weight(300u16)
                .build()
                .unwrap()])
            .throttle_read_bps_device(vec![LinuxThrottleDeviceBuilder::default()
                .major(8)
                .minor(0)
                .rate(1024u64)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        apply(d.path(), &b).unwrap();
        let r = |f: &str| fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(r("blkio.bfq.weight"), "500");
        assert_eq!(r("blkio.bfq.weight_device"), "8:0 300");
        assert_eq!(r("blkio.throttle.read_bps_device"), "8:0 1024");
    }

    #[test]
    fn missing_weight_file_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let b = LinuxBlockIoBuilder::default()
            .weight(500u16)
            .build()
            .unwrap();
        let e = apply(d.path(), &b).unwrap_err();
        assert!(
            e.to_string().starts_with("blkio weight not supported"),
            "{e}"
        );
        let b = LinuxBlockIoBuilder::default()
            .leaf_weight(500u16)
            .build()
            .unwrap();
        assert!(apply(d.path(), &b).is_err());
        // Nothing requested: nothing written, no error.
        apply(d.path(), &LinuxBlockIo::default()).unwrap();
    }

    #[test]
    fn stats_fall_back_to_throttle() {
        let d = tempfile::tempdir().unwrap();
        fs::write(
            d.path().join("blkio.throttle.io_service_bytes_recursive"),
            "253:0 Read 10\nTotal 10\n",
        )
        .unwrap();
        let s = stats(d.path()).unwrap();
        assert_eq!(s.io_service_bytes_recursive.len(), 1);
    }
}
