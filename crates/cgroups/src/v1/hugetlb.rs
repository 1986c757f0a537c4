//! v1 hugetlb controller: `hugetlb.<size>.limit_in_bytes`.

use std::collections::BTreeMap;
use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use crate::error::{Error, Result};
use crate::interface;
use crate::stats::{hugetlb_sizes, HugetlbStats};

/// Page sizes as the kernel names them: digits followed by KB, MB or GB.
pub(crate) fn validate_size(size: &str) -> Result<()> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !matches!(unit, "KB" | "MB" | "GB")
    {
        return Err(Error::InvalidValue {
            what: "hugepage size",
            value: size.to_owned(),
            reason: "expected a size like \"2MB\" or \"1GB\"".to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn apply(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for l in limits {
        validate_size(l.page_size())?;
        let file = format!("hugetlb.{}.limit_in_bytes", l.page_size());
        let value = if l.limit() < 0 {
            "-1".to_owned()
        } else {
            l.limit().to_string()
        };
        interface::write(dir, &file, &value)?;
    }
    Ok(())
}

pub(crate) fn stats(dir: &Path) -> Result<BTreeMap<String, HugetlbStats>> {
    let mut out = BTreeMap::new();
    for size in hugetlb_sizes(dir, ".limit_in_bytes") {
        let get = |suffix: &str| -> Result<u64> {
            Ok(
                interface::read_u64_optional(dir, &format!("hugetlb.{size}.{suffix}"))?
                    .unwrap_or(0),
            )
        };
        let s = HugetlbStats {
            usage: get("usage_in_bytes")?,
            max: get("max_usage_in_bytes")?,
            failcnt: get("failcnt")?,
        };
        out.insert(size, s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_sizes() {
        for ok in ["2MB", "1GB", "64KB"] {
            validate_size(ok).unwrap();
        }
        for bad in ["", "MB", "2mb", "2MB/../x", "2 MB", "2TB"] {
            assert!(validate_size(bad).is_err(), "{bad}");
        }
    }
}
