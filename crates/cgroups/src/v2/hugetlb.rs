//! v2 hugetlb controller: `hugetlb.<size>.max`, plus `hugetlb.<size>.rsvd.max`
//! where the kernel has it (5.7+). The reservation limit is set to the same
//! value because without it a process can reserve pages it may later be
//! unable to fault in, and get SIGBUS instead of a clean mmap failure.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::error::Result;
use crate::interface;
use crate::stats::{hugetlb_sizes, HugetlbStats};
use crate::v1::hugetlb::validate_size;

pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for l in limits {
        validate_size(l.page_size())?;
        let value = if l.limit() < 0 {
            "max".to_owned()
        } else {
            l.limit().to_string()
        };
        interface::write(dir, &format!("hugetlb.{}.max", l.page_size()), &value)?;
        let rsvd = format!("hugetlb.{}.rsvd.max", l.page_size());
        if interface::exists(dir, &rsvd) {
            interface::write(dir, &rsvd, &value)?;
        }
    }
    Ok(())
}

pub(crate) fn stats(dir: &Path) -> Result<BTreeMap<String, HugetlbStats>> {
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(dir, ".max") {
        let usage =
            interface::read_u64_optional(dir, &format!("hugetlb.{size}.current"))?.unwrap_or(0);
        let events = interface::read_optional(dir, &format!("hugetlb.{size}.events"))?
            .map(|t| interface::flat_keyed(&t))
            .unwrap_or_default();
        out.insert(
            size,
            HugetlbStats {
                usage,
                max: 0, // v2 keeps no high-water mark
                failcnt: events.get("max").copied().unwrap_or(0),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxHugepageLimitBuilder;
    use std::fs;

    #[test]
    fn writes_max_and_rsvd() {
        let d = tempfile::tempdir().unwrap();
        for f in ["hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "hugetlb.1GB.max"] {
            fs::write(d.path().join(f), "max").unwrap();
        }
        fs::write(d.path().join("hugetlb.2MB.events"), "max 3\n").unwrap();
        let l = |s: &str, v: i64| {
            LinuxHugepageLimitBuilder::default()
                .page_size(s)
                .limit(v)
                .build()
                .unwrap()
        };
        apply(d.path(), &[l("2MB", 4 << 20), l("1GB", -1)]).unwrap();
        let r = |f: &str| fs::read_to_string(d.path().join(f)).unwrap();
        assert_eq!(r("hugetlb.2MB.max"), "4194304");
        assert_eq!(r("hugetlb.2MB.rsvd.max"), "4194304");
        assert_eq!(r("hugetlb.1GB.max"), "max");
        assert_eq!(stats(d.path()).unwrap()["2MB"].failcnt, 3);
        assert!(apply(d.path(), &[l("64KB", 1)]).is_err());
    }
}
