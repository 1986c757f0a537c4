//! Device access rules (`linux.resources.devices`), normalised once so the v1
//! writer (`devices.allow`/`devices.deny` lines) and the v2 eBPF generator
//! agree on their meaning.
//!
//! Semantics, as the v1 kernel implements them: rules apply in order and the
//! last rule matching a request decides. An allow rule matches only if it
//! covers every requested access bit; a deny rule matches if it covers any.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// Which device nodes a rule covers. FIFOs (`p`) are not devices to the
/// device controller, so such rules are dropped during normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    All,
    Block,
    Char,
}

/// Access bits, using the eBPF `BPF_DEVCG_ACC_*` values.
pub(crate) const ACC_MKNOD: u8 = 1;
pub(crate) const ACC_READ: u8 = 2;
pub(crate) const ACC_WRITE: u8 = 4;
pub(crate) const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    /// `None` is the `*` wildcard.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u8,
}

impl DeviceRule {
    /// Whether the rule covers every device and every access.
    pub(crate) fn matches_everything(&self) -> bool {
        self.kind == DeviceKind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == ACC_ALL
    }

    /// `rwm`-style access string.
    pub(crate) fn access_string(&self) -> String {
        let mut s = String::new();
        if self.access & ACC_READ != 0 {
            s.push('r');
        }
        if self.access & ACC_WRITE != 0 {
            s.push('w');
        }
        if self.access & ACC_MKNOD != 0 {
            s.push('m');
        }
        s
    }
}

/// Normalises the OCI rules, keeping their order.
pub(crate) fn normalize(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        let kind = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
            LinuxDeviceType::P => continue,
        };
        let number = |n: Option<i64>| -> Result<Option<u32>> {
            match n {
                // Negative numbers are used as "*" by some configuration generators.
                None => Ok(None),
                Some(n) if n < 0 => Ok(None),
                Some(n) if n <= i32::MAX as i64 => Ok(Some(n as u32)),
                Some(n) => Err(Error::InvalidValue {
                    what: "device number",
                    value: n.to_string(),
                    reason: "too large".to_owned(),
                }),
            }
        };
        let access = parse_access(r.access().as_deref().unwrap_or(""))?;
        out.push(DeviceRule {
            allow: r.allow(),
            kind,
            major: number(r.major())?,
            minor: number(r.minor())?,
            access,
        });
    }
    Ok(out)
}

/// An empty access string means all access, as runtimes conventionally treat it.
fn parse_access(s: &str) -> Result<u8> {
    if s.is_empty() {
        return Ok(ACC_ALL);
    }
    let mut acc = 0;
    for c in s.chars() {
        acc |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(Error::InvalidValue {
                    what: "device access",
                    value: s.to_owned(),
                    reason: "only 'r', 'w' and 'm' are allowed".to_owned(),
                })
            }
        };
    }
    Ok(acc)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    pub(crate) fn rule(
        allow: bool,
        typ: LinuxDeviceType,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(typ)
            .access(access);
        if let Some(m) = major {
            b = b.major(m);
        }
        if let Some(m) = minor {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    #[test]
    fn normalises() {
        let rules = vec![
            rule(false, LinuxDeviceType::A, None, None, "rwm"),
            rule(true, LinuxDeviceType::C, Some(1), Some(3), "rw"),
            rule(true, LinuxDeviceType::U, Some(5), Some(-1), ""),
            rule(true, LinuxDeviceType::P, None, None, "rwm"),
        ];
        let n = normalize(&rules).unwrap();
        assert_eq!(n.len(), 3);
        assert!(n[0].matches_everything() && !n[0].allow);
        assert_eq!(n[1].kind, DeviceKind::Char);
        assert_eq!(
            (n[1].major, n[1].minor, n[1].access),
            (Some(1), Some(3), ACC_READ | ACC_WRITE)
        );
        assert_eq!(n[1].access_string(), "rw");
        assert_eq!(
            (n[2].kind, n[2].minor, n[2].access),
            (DeviceKind::Char, None, ACC_ALL)
        );
    }

    #[test]
    fn rejects_bad_access() {
        assert!(normalize(&[rule(true, LinuxDeviceType::C, None, None, "rx")]).is_err());
    }
}
