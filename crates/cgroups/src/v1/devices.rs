//! v1 devices controller: rules written to `devices.allow` / `devices.deny`,
//! one rule per write, in the order given (the kernel keeps an exception
//! list whose behaviour matches "last matching rule wins").
//!
//! Kernel quirk: a line starting with `a` resets the whole list (to
//! default-allow or default-deny) and ignores everything after the `a`, so
//! `a *:* r` would silently mean "all access". Partial "all devices" rules
//! are therefore expanded into a `b` and a `c` rule. Also, `a` written to
//! `devices.allow` fails with EINVAL once the cgroup has child cgroups (the
//! kernel cannot widen an already delegated subtree); that error surfaces.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use crate::device_rule::{self, DeviceKind, DeviceRule};
use crate::error::Result;
use crate::interface;

/// The (file, line) writes that implement `rules`.
pub(crate) fn lines(rules: &[DeviceRule]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        if r.matches_everything() {
            out.push((file, "a".to_owned()));
            continue;
        }
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let spec = format!("{}:{} {}", num(r.major), num(r.minor), r.access_string());
        match r.kind {
            DeviceKind::Char => out.push((file, format!("c {spec}"))),
            DeviceKind::Block => out.push((file, format!("b {spec}"))),
            DeviceKind::All => {
                out.push((file, format!("c {spec}")));
                out.push((file, format!("b {spec}")));
            }
        }
    }
    out
}

pub(crate) fn apply(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    let rules = device_rule::normalize(rules)?;
    for (file, line) in lines(&rules) {
        interface::write(dir, file, &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device_rule::tests::rule;
    use oci_spec::runtime::LinuxDeviceType as T;

    #[test]
    fn formats_rules_in_order() {
        let rules = device_rule::normalize(&[
            rule(false, T::A, None, None, "rwm"),
            rule(true, T::C, Some(1), Some(3), "rwm"),
            rule(true, T::B, Some(8), None, "r"),
            rule(false, T::A, None, None, "m"),
        ])
        .unwrap();
        assert_eq!(
            lines(&rules),
            vec![
                ("devices.deny", "a".to_owned()),
                ("devices.allow", "c 1:3 rwm".to_owned()),
                ("devices.allow", "b 8:* r".to_owned()),
                ("devices.deny", "c *:* m".to_owned()),
                ("devices.deny", "b *:* m".to_owned()),
            ]
        );
    }
}
