//! The pids controller. Its interface (`pids.max`, `pids.current`) is the same
//! on v1 and v2, so one module serves both.

use std::path::Path;

use oci_spec::runtime::LinuxPids;

use crate::error::Result;
use crate::interface;
use crate::stats::PidsStats;

/// `limit <= 0` means unlimited ("max").
pub(crate) fn apply(dir: &Path, pids: &LinuxPids) -> Result<()> {
    let value = if pids.limit() > 0 {
        pids.limit().to_string()
    } else {
        "max".to_owned()
    };
    interface::write(dir, "pids.max", &value)
}

pub(crate) fn stats(dir: &Path) -> Result<PidsStats> {
    let current = interface::read_u64_optional(dir, "pids.current")?.unwrap_or(0);
    let limit = match interface::read_u64_optional(dir, "pids.max")? {
        Some(u64::MAX) | None => 0,
        Some(n) => n,
    };
    Ok(PidsStats { current, limit })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxPidsBuilder;
    use std::fs;

    #[test]
    fn writes_limit_or_max() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("pids.max"), "max\n").unwrap();
        fs::write(d.path().join("pids.current"), "2\n").unwrap();
        apply(
            d.path(),
            &LinuxPidsBuilder::default().limit(10).build().unwrap(),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(d.path().join("pids.max")).unwrap(), "10");
        assert_eq!(
            stats(d.path()).unwrap(),
            PidsStats {
                current: 2,
                limit: 10
            }
        );
        apply(
            d.path(),
            &LinuxPidsBuilder::default().limit(0).build().unwrap(),
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(d.path().join("pids.max")).unwrap(),
            "max"
        );
        assert_eq!(stats(d.path()).unwrap().limit, 0);
    }
}
