//! Which volumes a container mounts, resolved once at create from `HostConfig.Binds`
//! (`name:/path[:opts]`, `/path`), `HostConfig.Mounts` of type `volume`, the image's and
//! the request's `Config.Volumes` (anonymous unless something else covers the path) and
//! `HostConfig.VolumesFrom`. Missing named volumes are created; the result is stored in
//! the container's record, so start, `rm -v` and `volume rm` agree on it.

use std::collections::BTreeMap;

use bollard_stubs::models::{ContainerConfig, HostConfig, MountType};

use crate::container::record::MountPoint;
use crate::daemon::Daemon;
use crate::error::{Error, Result};

/// One `Binds` entry, split.
#[derive(Debug, PartialEq)]
pub struct BindSpec {
    /// A host path (starts with `/`), a volume name, or `None` for `/path` alone.
    pub source: Option<String>,
    pub destination: String,
    pub rw: bool,
    pub nocopy: bool,
}

impl BindSpec {
    pub fn is_host(&self) -> bool {
        self.source.as_deref().is_some_and(|s| s.starts_with('/'))
    }
}

/// `src:dst[:opts]` or `dst`; opts from `ro rw nocopy z Z` and propagation modes.
pub fn parse_bind(b: &str) -> Result<BindSpec> {
    let invalid = || Error::Invalid(format!("invalid volume specification: '{b}'"));
    let parts: Vec<&str> = b.split(':').collect();
    let (source, destination, opts) = match parts.as_slice() {
        [d] => (None, *d, ""),
        [s, d] => (Some(*s), *d, ""),
        [s, d, o] => (Some(*s), *d, *o),
        _ => return Err(invalid()),
    };
    if source.is_some_and(str::is_empty) {
        return Err(invalid());
    }
    check_destination(destination, b)?;
    let (mut rw, mut nocopy) = (true, false);
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => rw = false,
            "rw" => rw = true,
            "nocopy" => nocopy = true,
            "z" | "Z" | "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "delegated" | "cached" | "consistent" => {}
            _ => return Err(Error::Invalid(format!("invalid mode: {o}"))),
        }
    }
    if let Some(s) = source.filter(|s| !s.starts_with('/')) {
        crate::volume::validate_name(s)?;
    }
    Ok(BindSpec { source: source.map(str::to_owned), destination: destination.to_owned(), rw, nocopy })
}

fn check_destination(d: &str, spec: &str) -> Result<()> {
    if !d.starts_with('/') {
        return Err(Error::Invalid(format!("invalid volume specification: '{spec}': invalid mount config: mount path must be absolute")));
    }
    if d.split('/').any(|c| c == "..") {
        return Err(Error::Invalid(format!("invalid volume specification: '{spec}': mount path must not contain '..'")));
    }
    if d == "/" {
        return Err(Error::Invalid(format!("invalid volume specification: '{spec}': destination can't be '/'")));
    }
    Ok(())
}

/// `/a/b/` and `/a//b` are the same mount point.
pub fn clean(p: &str) -> String {
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    format!("/{}", parts.join("/"))
}

/// Destinations of the container's own host binds and tmpfs mounts.
pub fn host_destinations(h: &HostConfig) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for b in h.binds.iter().flatten() {
        let s = parse_bind(b)?;
        if s.is_host() {
            out.push(clean(&s.destination));
        }
    }
    for m in h.mounts.iter().flatten() {
        if matches!(m.typ, Some(MountType::BIND) | Some(MountType::TMPFS)) {
            out.push(clean(m.target.as_deref().unwrap_or("")));
        }
    }
    out.extend(h.tmpfs.iter().flatten().map(|(p, _)| clean(p)));
    Ok(out)
}

/// Resolves the volumes of a container being created; anonymous volumes made for it are
/// returned too (to be removed with it). On error, the anonymous ones made so far are
/// removed again. The caller holds `d.volumes.ops`.
pub fn resolve(d: &Daemon, h: &HostConfig, c: &ContainerConfig) -> Result<(Vec<MountPoint>, Vec<String>)> {
    let mut anon = Vec::new();
    match resolve_into(d, h, c, &mut anon) {
        Ok(m) => Ok((m, anon)),
        Err(e) => {
            for n in &anon {
                let _ = crate::volume::remove::remove_locked(d, n, true);
            }
            Err(e)
        }
    }
}

fn resolve_into(d: &Daemon, h: &HostConfig, c: &ContainerConfig, anon: &mut Vec<String>) -> Result<Vec<MountPoint>> {
    let mut taken = host_destinations(h)?;
    let mut out: Vec<MountPoint> = Vec::new();
    let add = |out: &mut Vec<MountPoint>, taken: &mut Vec<String>, m: MountPoint| -> Result<()> {
        let dst = clean(&m.destination);
        if taken.contains(&dst) {
            return Err(Error::Invalid(format!("Duplicate mount point: {dst}")));
        }
        taken.push(dst);
        out.push(m);
        Ok(())
    };
    let volume = |name: Option<&str>, opts: BTreeMap<String, String>, labels: BTreeMap<String, String>, anon: &mut Vec<String>| -> Result<(String, std::path::PathBuf)> {
        let v = crate::volume::create::create(d, name, None, opts, labels)?;
        if name.is_none() {
            anon.push(v.name.clone());
        }
        Ok((v.name.clone(), d.volumes.data_dir(&v.name)))
    };
    for b in h.binds.iter().flatten() {
        let s = parse_bind(b)?;
        if s.is_host() {
            continue;
        }
        let (name, source) = volume(s.source.as_deref(), BTreeMap::new(), BTreeMap::new(), anon)?;
        add(&mut out, &mut taken, MountPoint { volume: Some(name), source, destination: s.destination, rw: s.rw, nocopy: s.nocopy })?;
    }
    for m in h.mounts.iter().flatten().filter(|m| m.typ == Some(MountType::VOLUME)) {
        let target = m.target.clone().unwrap_or_default();
        check_destination(&target, &target)?;
        let vo = m.volume_options.clone().unwrap_or_default();
        if vo.subpath.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Error::NotImplemented(format!("mount at {target}: volume subpath is not supported")));
        }
        let opts: BTreeMap<String, String> = vo.driver_config.as_ref().and_then(|c| c.options.clone()).unwrap_or_default().into_iter().collect();
        let labels: BTreeMap<String, String> = vo.labels.clone().unwrap_or_default().into_iter().collect();
        let src = m.source.clone().filter(|s| !s.is_empty());
        let (name, source) = volume(src.as_deref(), opts, labels, anon)?;
        add(&mut out, &mut taken, MountPoint {
            volume: Some(name),
            source,
            destination: target,
            rw: m.read_only != Some(true),
            nocopy: vo.no_copy == Some(true),
        })?;
    }
    for from in h.volumes_from.iter().flatten() {
        let (who, mode) = match from.rsplit_once(':') {
            Some((w, m)) if matches!(m, "ro" | "rw" | "z" | "Z") => (w, Some(m)),
            _ => (from.as_str(), None),
        };
        let other = d.lookup(who)?.record();
        let force_ro = mode == Some("ro");
        let force_rw = mode == Some("rw");
        let mut inherited: Vec<MountPoint> = other.volume_mounts.clone();
        for b in other.host_config.binds.iter().flatten() {
            let s = parse_bind(b)?;
            if s.is_host() {
                inherited.push(MountPoint { volume: None, source: s.source.unwrap_or_default().into(), destination: s.destination, rw: s.rw, nocopy: true });
            }
        }
        for m in other.host_config.mounts.iter().flatten().filter(|m| m.typ == Some(MountType::BIND)) {
            inherited.push(MountPoint {
                volume: None,
                source: m.source.clone().unwrap_or_default().into(),
                destination: m.target.clone().unwrap_or_default(),
                rw: m.read_only != Some(true),
                nocopy: true,
            });
        }
        for mut m in inherited {
            // The container's own mounts win over inherited ones at the same path.
            if taken.contains(&clean(&m.destination)) {
                continue;
            }
            if force_ro {
                m.rw = false;
            } else if force_rw {
                m.rw = true;
            }
            add(&mut out, &mut taken, m)?;
        }
    }
    for path in c.volumes.iter().flatten() {
        check_destination(path, path)?;
        if taken.contains(&clean(path)) {
            continue;
        }
        let (name, source) = volume(None, BTreeMap::new(), BTreeMap::new(), anon)?;
        add(&mut out, &mut taken, MountPoint { volume: Some(name), source, destination: path.clone(), rw: true, nocopy: false })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_specs() {
        let b = parse_bind("data:/srv:ro,nocopy").unwrap();
        assert_eq!(b, BindSpec { source: Some("data".into()), destination: "/srv".into(), rw: false, nocopy: true });
        assert!(!b.is_host());
        assert!(parse_bind("/host:/ctr").unwrap().is_host());
        let a = parse_bind("/data").unwrap();
        assert_eq!(a.source, None);
        assert!(a.rw);
        assert!(parse_bind("data:/srv:Z").unwrap().rw);
        for bad in ["../x:/srv", "a/b:/srv", "data:rel", "data:/a/../b", "data:/srv:bogus", ":/srv", "a:b:c:d", "data:/"] {
            assert!(parse_bind(bad).is_err(), "{bad}");
        }
        assert_eq!(clean("/a//b/./c/"), "/a/b/c");
    }
}
