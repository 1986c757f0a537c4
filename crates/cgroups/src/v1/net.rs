//! v1 net_cls and net_prio controllers. They have no v2 counterpart; when
//! they are not mounted a request for them is skipped (as runc does), since
//! the runtime cannot do anything about the host's mounts.

use std::path::Path;

use oci_spec::runtime::LinuxNetwork;

use crate::error::Result;
use crate::interface;

pub(crate) fn apply_class_id(dir: &Path, n: &LinuxNetwork) -> Result<()> {
    if let Some(id) = n.class_id() {
        interface::write(dir, "net_cls.classid", &id.to_string())?;
    }
    Ok(())
}

pub(crate) fn apply_priorities(dir: &Path, n: &LinuxNetwork) -> Result<()> {
    for p in n.priorities().iter().flatten() {
        interface::write(
            dir,
            "net_prio.ifpriomap",
            &format!("{} {}", p.name(), p.priority()),
        )?;
    }
    Ok(())
}
