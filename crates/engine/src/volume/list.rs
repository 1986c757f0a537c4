//! `GET /volumes` filters (`dangling`, `label`, `name`, `driver`) and disk usage.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::daemon::Daemon;
use crate::error::{Error, Result};
use crate::volume::{in_use, Volume};

/// `label=k` or `label=k=v`: every one must hold.
pub fn labels_match(v: &Volume, wanted: &[String]) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, val)) => v.labels.get(k).map(String::as_str) == Some(val),
        None => v.labels.contains_key(w.as_str()),
    })
}

/// Whether `v` passes `filters`; `dangling` is whether no container uses it.
pub fn matches(v: &Volume, dangling: bool, filters: &HashMap<String, Vec<String>>) -> Result<bool> {
    if let Some(bad) = filters.get("dangling").into_iter().flatten().find(|x| !matches!(x.as_str(), "true" | "1" | "false" | "0")) {
        return Err(Error::Invalid(format!("invalid filter 'dangling={bad}'")));
    }
    for (k, vals) in filters {
        let ok = match k.as_str() {
            "name" => vals.iter().any(|n| v.name.contains(n.as_str())),
            "driver" => vals.contains(&v.driver),
            "label" => labels_match(v, vals),
            "dangling" => vals.iter().any(|x| match x.as_str() {
                "true" | "1" => dangling,
                "false" | "0" => !dangling,
                _ => false,
            }),
            _ => return Err(Error::Invalid(format!("invalid filter '{k}'"))),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn list(d: &Daemon, filters: &HashMap<String, Vec<String>>) -> Result<Vec<Volume>> {
    let mut out = Vec::new();
    for v in d.volumes.all() {
        let dangling = in_use(d, &v.name).is_empty();
        if matches(&v, dangling, filters)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// Bytes used beneath `dir`, symlinks not followed, other filesystems not entered.
pub fn du(dir: &Path) -> u64 {
    let Ok(top) = std::fs::symlink_metadata(dir) else { return 0 };
    fn walk(p: &Path, dev: u64) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else { return 0 };
        let mut n = 0;
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.dev() != dev {
                continue;
            }
            n += m.blocks() * 512;
            if m.is_dir() {
                n += walk(&e.path(), dev);
            }
        }
        n
    }
    walk(dir, top.dev())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn vol(name: &str, labels: &[(&str, &str)]) -> Volume {
        Volume {
            name: name.into(),
            driver: "local".into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            options: BTreeMap::new(),
            created: String::new(),
        }
    }

    fn f(k: &str, v: &[&str]) -> HashMap<String, Vec<String>> {
        HashMap::from([(k.to_owned(), v.iter().map(|s| s.to_string()).collect())])
    }

    #[test]
    fn filters() {
        let v = vol("data-1", &[("a", "b"), ("c", "")]);
        assert!(matches(&v, true, &f("dangling", &["true"])).unwrap());
        assert!(!matches(&v, false, &f("dangling", &["true"])).unwrap());
        assert!(matches(&v, false, &f("dangling", &["false"])).unwrap());
        assert!(matches(&v, true, &f("dangling", &["maybe"])).is_err());
        assert!(matches(&v, true, &f("label", &["a=b", "c"])).unwrap());
        assert!(!matches(&v, true, &f("label", &["a=x"])).unwrap());
        assert!(matches(&v, true, &f("name", &["ta-"])).unwrap());
        assert!(!matches(&v, true, &f("name", &["zz"])).unwrap());
        assert!(matches(&v, true, &f("driver", &["local"])).unwrap());
        assert!(matches(&v, true, &f("bogus", &["x"])).is_err());
    }
}
