//! The `local` driver's options (`-o type=… -o device=… -o o=…`): a volume with them is
//! a mount (tmpfs, a bind of a host directory, a block device) on its `_data`, made when
//! a container using it starts and undone when the last running one stops. A volume
//! without options is just its directory.

use std::collections::BTreeMap;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use crate::container::start::is_mount_point;
use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::volume::{Volume, VolumeStore};

/// Options are checked at create, so a bad one is refused before any container uses it.
pub fn validate(opts: &BTreeMap<String, String>) -> Result<()> {
    if opts.is_empty() {
        return Ok(());
    }
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o") {
            return Err(Error::Invalid(format!("invalid option key: {k:?}")));
        }
    }
    let (Some(_), Some(device)) = (opts.get("type"), opts.get("device")) else {
        return Err(Error::Invalid("missing required option: \"device\" and \"type\" are both required".into()));
    };
    let (flags, _) = parse_o(opts.get("o").map(String::as_str).unwrap_or(""));
    if flags.contains(MsFlags::MS_BIND) && !Path::new(device).is_absolute() {
        return Err(Error::Invalid(format!("invalid device for a bind volume: {device}: must be an absolute host path")));
    }
    Ok(())
}

/// `o=` split into mount flags and the filesystem's own data (`size=10m`, `uid=…`).
fn parse_o(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for part in o.split(',').filter(|s| !s.is_empty()) {
        match part {
            "bind" => flags |= MsFlags::MS_BIND,
            "rbind" => flags |= MsFlags::MS_BIND | MsFlags::MS_REC,
            "ro" => flags |= MsFlags::MS_RDONLY,
            "rw" => {}
            "nosuid" => flags |= MsFlags::MS_NOSUID,
            "nodev" => flags |= MsFlags::MS_NODEV,
            "noexec" => flags |= MsFlags::MS_NOEXEC,
            "noatime" => flags |= MsFlags::MS_NOATIME,
            other => data.push(other),
        }
    }
    (flags, data.join(","))
}

/// Mounts the volume's device on `_data` unless it has no options or is mounted already.
pub fn mount(store: &VolumeStore, v: &Volume) -> Result<bool> {
    if v.options.is_empty() {
        return Ok(false);
    }
    let target = store.data_dir(&v.name);
    if is_mount_point(&target) {
        return Ok(false);
    }
    let typ = v.options.get("type").map(String::as_str).unwrap_or("none");
    let device = v.options.get("device").map(String::as_str).unwrap_or("none");
    let (flags, data) = parse_o(v.options.get("o").map(String::as_str).unwrap_or(""));
    let fstype = (typ != "none").then_some(typ);
    let data = (!data.is_empty()).then_some(data.as_str());
    nix::mount::mount(Some(device), &target, fstype, flags, data)
        .map_err(|e| Error::Internal(format!("error while mounting volume '{}': failed to mount local volume: mount {device}:{} (type {typ}): {e}", v.name, target.display())))?;
    if flags.contains(MsFlags::MS_BIND) && flags.contains(MsFlags::MS_RDONLY) {
        // A bind ignores MS_RDONLY on its first mount; read-only takes a remount.
        let _ = nix::mount::mount(None::<&str>, &target, None::<&str>, flags | MsFlags::MS_REMOUNT, None::<&str>);
    }
    Ok(true)
}

pub fn unmount(store: &VolumeStore, v: &Volume) {
    let target = store.data_dir(&v.name);
    if !v.options.is_empty() && is_mount_point(&target) {
        if let Err(e) = nix::mount::umount2(&target, MntFlags::MNT_DETACH) {
            tracing::warn!(volume = %v.name, "unmount {}: {e}", target.display());
        }
    }
}

/// After container `id` stopped: reports each of its volumes unmounted, and unmounts the
/// driver-option ones no other running container uses.
pub fn release(d: &Daemon, id: &str, names: &[String]) {
    for n in names {
        let Ok(v) = d.volumes.get(n) else { continue };
        let attrs = std::collections::HashMap::from([("container".to_owned(), id.to_owned())]);
        d.events.volume("unmount", n, "local", attrs);
        if v.options.is_empty() {
            continue;
        }
        let others: Vec<String> = crate::volume::running_users(d, n).into_iter().filter(|o| o != id).collect();
        if others.is_empty() {
            unmount(&d.volumes, &v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
        assert!(validate(&o(&[])).is_ok());
        assert!(validate(&o(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m")])).is_ok());
        assert!(validate(&o(&[("type", "tmpfs")])).is_err());
        assert!(validate(&o(&[("type", "none"), ("device", "rel"), ("o", "bind")])).is_err());
        assert!(validate(&o(&[("bogus", "1"), ("type", "none"), ("device", "/x")])).is_err());
        let (f, data) = parse_o("bind,ro,size=1m,uid=5");
        assert!(f.contains(MsFlags::MS_BIND | MsFlags::MS_RDONLY));
        assert_eq!(data, "size=1m,uid=5");
    }
}
