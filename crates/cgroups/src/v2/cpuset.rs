//! v2 cpuset controller: `cpuset.cpus` and `cpuset.mems`. Unlike v1, empty
//! masks mean "inherit the parent's", so new cgroups need no fixing up.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::Result;
use crate::interface;

pub(crate) fn apply(dir: &Path, cpu: &LinuxCpu) -> Result<()> {
    if let Some(cpus) = cpu.cpus().as_deref().filter(|s| !s.trim().is_empty()) {
        interface::write(dir, "cpuset.cpus", cpus.trim())?;
    }
    if let Some(mems) = cpu.mems().as_deref().filter(|s| !s.trim().is_empty()) {
        interface::write(dir, "cpuset.mems", mems.trim())?;
    }
    Ok(())
}
