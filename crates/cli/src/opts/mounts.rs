//! `-v/--volume`, `--mount` and `--tmpfs`.
//!
//! `-v src:dst[:opts]` goes to `HostConfig.Binds` as written (a relative host path such
//! as `./data` made absolute first, as docker 23+ does); `-v /dst` alone is an anonymous
//! volume (`Config.Volumes`). `--mount type=…,source=…,target=…` becomes a
//! `HostConfig.Mounts` element; `--tmpfs /dst[:opts]` a `HostConfig.Tmpfs` entry.

use std::path::Path;

use berth_api_client::models::{
    Mount, MountBindOptions, MountBindOptionsPropagationEnum, MountTmpfsOptions, MountType,
    MountVolumeOptions,
};

use super::memory::ram_in_bytes;

/// What one `-v` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volume {
    Bind(String),
    Anonymous(String),
}

pub fn parse_volume(spec: &str, cwd: &Path) -> Result<Volume, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let bad = || format!("invalid spec: {spec}: too many colons");
    match parts.as_slice() {
        [dst] => {
            if !dst.starts_with('/') {
                return Err(format!(
                    "invalid volume spec \"{spec}\": invalid volume specification"
                ));
            }
            Ok(Volume::Anonymous((*dst).to_owned()))
        }
        [src, dst] | [src, dst, _] => {
            if src.is_empty() || !dst.starts_with('/') {
                return Err(format!(
                    "invalid spec: {spec}: invalid volume specification"
                ));
            }
            let src = absolute_source(src, cwd);
            let rest: Vec<&str> = parts[1..].to_vec();
            Ok(Volume::Bind(format!("{src}:{}", rest.join(":"))))
        }
        _ => Err(bad()),
    }
}

fn absolute_source(src: &str, cwd: &Path) -> String {
    if src == "." || src == ".." || src.starts_with("./") || src.starts_with("../") {
        let joined = cwd.join(src);
        return normalize(&joined);
    }
    src.to_owned()
}

/// Lexical `.`/`..` removal (the path may not exist yet).
fn normalize(p: &Path) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    format!("/{}", out.join("/"))
}

fn bool_value(key: &str, v: Option<&str>) -> Result<bool, String> {
    match v {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(o) => Err(format!("invalid value for {key}: {o}")),
    }
}

/// `--mount`.
pub fn parse_mount(spec: &str) -> Result<Mount, String> {
    let mut m = Mount::default();
    let mut typ = MountType::VOLUME;
    let mut bind = MountBindOptions::default();
    let mut volume = MountVolumeOptions::default();
    let mut tmpfs = MountTmpfsOptions::default();
    let (mut has_bind, mut has_volume, mut has_tmpfs) = (false, false, false);
    for field in spec.split(',') {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v)),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let need =
            || value.ok_or_else(|| format!("invalid field '{field}' must be a key=value pair"));
        match key.as_str() {
            "type" => {
                typ = match need()? {
                    "bind" => MountType::BIND,
                    "volume" => MountType::VOLUME,
                    "tmpfs" => MountType::TMPFS,
                    "image" => MountType::IMAGE,
                    "npipe" => MountType::NPIPE,
                    "cluster" => MountType::CLUSTER,
                    t => return Err(format!("invalid mount type: {t}")),
                }
            }
            "source" | "src" => m.source = Some(need()?.to_owned()),
            "target" | "dst" | "destination" => m.target = Some(need()?.to_owned()),
            "readonly" | "ro" => m.read_only = Some(bool_value(&key, value)?),
            "consistency" => m.consistency = Some(need()?.to_owned()),
            "bind-propagation" => {
                has_bind = true;
                bind.propagation = Some(match need()? {
                    "private" => MountBindOptionsPropagationEnum::PRIVATE,
                    "rprivate" => MountBindOptionsPropagationEnum::RPRIVATE,
                    "shared" => MountBindOptionsPropagationEnum::SHARED,
                    "rshared" => MountBindOptionsPropagationEnum::RSHARED,
                    "slave" => MountBindOptionsPropagationEnum::SLAVE,
                    "rslave" => MountBindOptionsPropagationEnum::RSLAVE,
                    p => return Err(format!("invalid bind propagation: {p}")),
                })
            }
            "bind-nonrecursive" => {
                has_bind = true;
                bind.non_recursive = Some(bool_value(&key, value)?)
            }
            "bind-create-mountpoint" => {
                has_bind = true;
                bind.create_mountpoint = Some(bool_value(&key, value)?)
            }
            "volume-nocopy" => {
                has_volume = true;
                volume.no_copy = Some(bool_value(&key, value)?)
            }
            "volume-subpath" => {
                has_volume = true;
                volume.subpath = Some(need()?.to_owned())
            }
            "volume-label" => {
                has_volume = true;
                let (k, v) = super::key_value(need()?);
                volume
                    .labels
                    .get_or_insert_with(Default::default)
                    .insert(k, v);
            }
            "volume-driver" | "volume-opt" => {
                has_volume = true;
                let cfg = volume.driver_config.get_or_insert_with(Default::default);
                if key == "volume-driver" {
                    cfg.name = Some(need()?.to_owned());
                } else {
                    let (k, v) = super::key_value(need()?);
                    cfg.options
                        .get_or_insert_with(Default::default)
                        .insert(k, v);
                }
            }
            "tmpfs-size" => {
                has_tmpfs = true;
                tmpfs.size_bytes = Some(ram_in_bytes(need()?)?)
            }
            "tmpfs-mode" => {
                has_tmpfs = true;
                let v = need()?;
                tmpfs.mode = Some(
                    i64::from_str_radix(v, 8)
                        .map_err(|_| format!("invalid value for tmpfs-mode: {v}"))?,
                )
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.target.as_deref().unwrap_or("").is_empty() {
        return Err("target is required".into());
    }
    let wrong = |what: &str| {
        Err(format!(
            "cannot mix '{what}-*' options with mount type '{typ}'"
        ))
    };
    if has_bind && typ != MountType::BIND {
        return wrong("bind");
    }
    if has_volume && typ != MountType::VOLUME {
        return wrong("volume");
    }
    if has_tmpfs && typ != MountType::TMPFS {
        return wrong("tmpfs");
    }
    if typ == MountType::BIND && m.source.as_deref().unwrap_or("").is_empty() {
        return Err("source is required when specifying bind mounts".into());
    }
    if has_bind {
        m.bind_options = Some(bind);
    }
    if has_volume {
        m.volume_options = Some(volume);
    }
    if has_tmpfs {
        m.tmpfs_options = Some(tmpfs);
    }
    m.typ = Some(typ);
    Ok(m)
}

/// `--tmpfs /dst[:opts]`.
pub fn parse_tmpfs(spec: &str) -> Result<(String, String), String> {
    let (dst, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !dst.starts_with('/') {
        return Err(format!(
            "invalid tmpfs: {spec}: mount path must be absolute"
        ));
    }
    Ok((dst.to_owned(), opts.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes() {
        let cwd = Path::new("/home/u/p");
        assert_eq!(
            parse_volume("/data", cwd).unwrap(),
            Volume::Anonymous("/data".into())
        );
        assert_eq!(
            parse_volume("/a:/b", cwd).unwrap(),
            Volume::Bind("/a:/b".into())
        );
        assert_eq!(
            parse_volume("vol:/b:ro", cwd).unwrap(),
            Volume::Bind("vol:/b:ro".into())
        );
        assert_eq!(
            parse_volume("./x:/b", cwd).unwrap(),
            Volume::Bind("/home/u/p/x:/b".into())
        );
        assert_eq!(
            parse_volume("../y:/b:rw", cwd).unwrap(),
            Volume::Bind("/home/u/y:/b:rw".into())
        );
        assert!(parse_volume("rel", cwd).is_err());
        assert!(parse_volume("/a:b", cwd).is_err());
        assert!(parse_volume("/a:/b:ro:x", cwd).is_err());
    }

    #[test]
    fn mounts() {
        let m = parse_mount("type=bind,source=/src,target=/dst,readonly,bind-propagation=rslave")
            .unwrap();
        assert_eq!(m.typ, Some(MountType::BIND));
        assert_eq!(m.source.as_deref(), Some("/src"));
        assert_eq!(m.target.as_deref(), Some("/dst"));
        assert_eq!(m.read_only, Some(true));
        assert_eq!(
            m.bind_options.unwrap().propagation,
            Some(MountBindOptionsPropagationEnum::RSLAVE)
        );
        let m = parse_mount("target=/v,src=myvol,volume-nocopy").unwrap();
        assert_eq!(m.typ, Some(MountType::VOLUME));
        assert_eq!(m.volume_options.unwrap().no_copy, Some(true));
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1770").unwrap();
        let t = m.tmpfs_options.unwrap();
        assert_eq!((t.size_bytes, t.mode), (Some(64 << 20), Some(0o1770)));
        assert!(parse_mount("type=bind,target=/x")
            .unwrap_err()
            .contains("source is required"));
        assert!(parse_mount("type=tmpfs,target=/x,volume-nocopy").is_err());
        assert!(parse_mount("source=/x").unwrap_err().contains("target"));
        assert!(parse_mount("type=weird,target=/x").is_err());
        assert!(parse_mount("target=/x,bogus=1").is_err());
    }

    #[test]
    fn tmpfs() {
        assert_eq!(parse_tmpfs("/run").unwrap(), ("/run".into(), "".into()));
        assert_eq!(
            parse_tmpfs("/run:rw,size=64m").unwrap(),
            ("/run".into(), "rw,size=64m".into())
        );
        assert!(parse_tmpfs("run").is_err());
    }
}
