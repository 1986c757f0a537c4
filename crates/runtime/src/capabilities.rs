//! The five capability sets of the container's process.
//!
//! The bounding set is trimmed while we still hold CAP_SETPCAP (before changing uid);
//! the effective, permitted and inheritable sets are then set in one `capset` call (set
//! one at a time, the kernel refuses a permitted set smaller than the current effective
//! one), and ambient capabilities are raised last, since they must be both permitted and
//! inheritable.

use std::str::FromStr;

use oci_spec::runtime::{Capabilities, LinuxCapabilities};

use crate::error::{Error, Result};

/// The highest capability number this kernel knows.
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// A capability's kernel number from its OCI name ("CAP_SYS_ADMIN").
pub fn number(name: &str) -> Result<u8> {
    caps::Capability::from_str(name)
        .map(|c| c.index())
        .map_err(|_| Error::InvalidConfig(format!("unknown capability {name:?}")))
}

fn mask(set: &Option<Capabilities>) -> Result<u64> {
    let mut m = 0u64;
    for c in set.iter().flatten() {
        let name = serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        m |= 1u64 << number(&name)?;
    }
    Ok(m)
}

/// The sets as bit masks, computed before fork so a bad name fails `create`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Masks {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl Masks {
    pub fn from_config(c: Option<&LinuxCapabilities>) -> Result<Option<Masks>> {
        let Some(c) = c else { return Ok(None) };
        Ok(Some(Masks {
            bounding: mask(c.bounding())?,
            effective: mask(c.effective())?,
            permitted: mask(c.permitted())?,
            inheritable: mask(c.inheritable())?,
            ambient: mask(c.ambient())?,
        }))
    }
}

/// Drops every capability not in `bounding` from the bounding set.
pub fn drop_bounding(bounding: u64) -> Result<()> {
    for cap in 0..=last_cap() {
        if bounding & (1u64 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
            if rc < 0 {
                return Err(Error::sys(format!("drop capability {cap} from the bounding set"), nix::errno::Errno::last()));
            }
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets effective, permitted and inheritable at once, then raises the ambient ones.
pub fn apply(m: &Masks) -> Result<()> {
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut hdr = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let lo = |v: u64| v as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let data = [
        CapData { effective: lo(m.effective), permitted: lo(m.permitted), inheritable: lo(m.inheritable) },
        CapData { effective: hi(m.effective), permitted: hi(m.permitted), inheritable: hi(m.inheritable) },
    ];
    // SAFETY: capset reads a v3 header and two data structs, both valid for the call.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr()) };
    if rc < 0 {
        return Err(Error::sys("capset", nix::errno::Errno::last()));
    }
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) };
    for cap in 0..=last_cap() {
        if m.ambient & (1u64 << cap) != 0 {
            // SAFETY: prctl with integer arguments only.
            let rc = unsafe {
                libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, libc::c_ulong::from(cap), 0, 0)
            };
            if rc < 0 {
                return Err(Error::sys(format!("raise ambient capability {cap}"), nix::errno::Errno::last()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kernel_numbers() {
        assert_eq!(number("CAP_CHOWN").unwrap(), 0);
        assert_eq!(number("CAP_SYS_ADMIN").unwrap(), 21);
        assert!(number("CAP_NOPE").is_err());
    }
}
