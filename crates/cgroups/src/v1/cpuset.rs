//! v1 cpuset controller: `cpuset.cpus` and `cpuset.mems`.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use crate::error::Result;
use crate::interface;

/// Writes the requested CPU and memory-node masks. The kernel requires them
/// to be subsets of the parent's masks and reports EINVAL otherwise.
pub(crate) fn apply(dir: &Path, cpu: &LinuxCpu) -> Result<()> {
    if let Some(cpus) = cpu.cpus().as_deref().filter(|s| !s.trim().is_empty()) {
        interface::write(dir, "cpuset.cpus", cpus.trim())?;
    }
    if let Some(mems) = cpu.mems().as_deref().filter(|s| !s.trim().is_empty()) {
        interface::write(dir, "cpuset.mems", mems.trim())?;
    }
    Ok(())
}

/// Copies the parent's masks into `dir` where `dir`'s are empty.
pub(crate) fn inherit_masks(parent: &Path, dir: &Path) -> Result<()> {
    for name in ["cpuset.cpus", "cpuset.mems"] {
        let Some(own) = interface::read_optional(dir, name)? else {
            continue; // not a cpuset hierarchy after all (or noprefix mount)
        };
        if own.trim().is_empty() {
            let from_parent = interface::read(parent, name)?;
            interface::write(dir, name, from_parent.trim())?;
        }
    }
    Ok(())
}
