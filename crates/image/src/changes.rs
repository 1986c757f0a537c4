//! A container's changes to its image, as `docker diff` shows them and as commit and build
//! need them: read from the overlay's upper directory against the image's layers.
//!
//! Only the upper directory is walked, so the cost follows what the container wrote, not
//! the size of the image. The lower layers are only looked up by name, through the same
//! rules overlayfs applies: a whiteout hides a name in the layers below it, an opaque
//! directory hides everything below it, and a non-directory hides a directory below it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::driver::{DriverKind, MountedRoot};
use crate::error::{Error, Result};
use crate::layer::whiteout;

/// One changed path, as `docker diff` prints it (`A`, `C`, `D`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Absolute in the container, e.g. `/etc/passwd`.
    pub path: PathBuf,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    /// Docker's one-letter code, which its API sends as 0, 1, 2 in this same order.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Modified => 'C',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// The changes recorded in `upper` over `layers_below` (diff directories, bottom first),
/// sorted by path.
///
/// A whiteout in `upper` is a deletion of what it hides (one that hides nothing, which
/// overlayfs does not write, is no change). Anything else in `upper` is a modification when
/// the layers below have that path, else an addition; so a directory that is in `upper`
/// only because something inside it changed is a modification, as Docker reports it. An
/// opaque directory deletes each of its lower children it does not have itself.
pub fn changes(layers_below: &[&Path], upper: &Path) -> Result<Vec<Change>> {
    // Top-most first: the order in which a name is looked up.
    let lowers: Vec<PathBuf> = layers_below.iter().rev().map(|p| p.to_path_buf()).collect();
    let mut out = Vec::new();
    walk(upper, Path::new("/"), &lowers, &mut out)
        .map_err(|(path, source)| Error::Changes { path, source })?;
    out.sort();
    Ok(out)
}

/// [`changes`] of a mounted container root. Overlay only: the copy driver's root is the
/// merged tree, from which the container's own writes cannot be told apart cheaply.
pub fn root_changes(root: &MountedRoot, layers_below: &[&Path]) -> Result<Vec<Change>> {
    if root.kind() != DriverKind::Overlay {
        return Err(Error::ChangesNeedOverlay {
            path: root.path().to_owned(),
        });
    }
    changes(layers_below, root.changes())
}

/// What the layers below say about one name in a directory.
struct Lower {
    /// Whether the name is visible through the lower layers at all.
    exists: bool,
    /// The lower directories that are merged at this name, top-most first: empty unless
    /// it is a directory.
    dirs: Vec<PathBuf>,
}

type WalkError = (PathBuf, io::Error);

fn lookup(dirs: &[PathBuf], name: &OsString) -> std::result::Result<Lower, WalkError> {
    let mut found = Lower {
        exists: false,
        dirs: Vec::new(),
    };
    for dir in dirs {
        let path = dir.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            // A file where a directory would be: the name is not below this layer.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => continue,
            Err(e) => return Err((path, e)),
        };
        if whiteout::is_whiteout(&meta) {
            break;
        }
        if !meta.is_dir() {
            // A file hides everything below it; under a directory above, it is hidden.
            found.exists |= found.dirs.is_empty();
            break;
        }
        found.exists = true;
        let opaque = whiteout::is_opaque(&path).map_err(|e| (path.clone(), e))?;
        found.dirs.push(path);
        if opaque {
            break;
        }
    }
    Ok(found)
}

/// Names in a directory, sorted.
fn names(dir: &Path) -> std::result::Result<Vec<OsString>, WalkError> {
    let err = |e| (dir.to_owned(), e);
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(err)? {
        names.push(entry.map_err(err)?.file_name());
    }
    names.sort();
    Ok(names)
}

fn walk(
    upper: &Path,
    at: &Path,
    lowers: &[PathBuf],
    out: &mut Vec<Change>,
) -> std::result::Result<(), WalkError> {
    for name in names(upper)? {
        let path = upper.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(|e| (path.clone(), e))?;
        let below = lookup(lowers, &name)?;
        let in_container = at.join(&name);
        if whiteout::is_whiteout(&meta) {
            if below.exists {
                out.push(Change {
                    path: in_container,
                    kind: ChangeKind::Deleted,
                });
            }
            continue;
        }
        let kind = if below.exists {
            ChangeKind::Modified
        } else {
            ChangeKind::Added
        };
        out.push(Change {
            path: in_container.clone(),
            kind,
        });
        if !meta.is_dir() {
            continue;
        }
        let lowers = if whiteout::is_opaque(&path).map_err(|e| (path.clone(), e))? {
            deleted_by_opaque(&path, &in_container, &below.dirs, out)?;
            Vec::new()
        } else {
            below.dirs
        };
        walk(&path, &in_container, &lowers, out)?;
    }
    Ok(())
}

/// The lower children hidden by the opaque directory `upper`: each one it does not have
/// itself is deleted (one entry per child, not per file under it, as for a whiteout).
fn deleted_by_opaque(
    upper: &Path,
    at: &Path,
    lowers: &[PathBuf],
    out: &mut Vec<Change>,
) -> std::result::Result<(), WalkError> {
    let mut lower_names = BTreeSet::new();
    for dir in lowers {
        lower_names.extend(names(dir)?);
    }
    for name in lower_names {
        let shadowed = match fs::symlink_metadata(upper.join(&name)) {
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err((upper.join(&name), e)),
        };
        if !shadowed && lookup(lowers, &name)?.exists {
            out.push(Change {
                path: at.join(&name),
                kind: ChangeKind::Deleted,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn list(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path.display()))
            .collect()
    }

    fn whiteout_at(dir: &Path, name: &str) {
        let d = fs::File::open(dir).unwrap();
        whiteout::create(d.as_fd(), OsString::from(name).as_os_str()).unwrap();
    }

    /// Lookups honour whiteouts and opaque directories inside the lower layers too.
    #[test]
    fn lower_whiteouts_and_opaque_dirs_hide_what_is_below_them() {
        if !is_root() {
            eprintln!("skipped: whiteouts need mknod");
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let (l1, l2, up) = (
            d.path().join("l1"),
            d.path().join("l2"),
            d.path().join("up"),
        );
        for p in ["l1/a", "l1/o", "l2/a", "l2/o", "up/a", "up/o"] {
            fs::create_dir_all(d.path().join(p)).unwrap();
        }
        fs::write(l1.join("a/gone"), b"").unwrap();
        fs::write(l1.join("o/hidden"), b"").unwrap();
        fs::write(l1.join("file"), b"").unwrap();
        whiteout_at(&l2.join("a"), "gone");
        whiteout::make_opaque(fs::File::open(l2.join("o")).unwrap().as_fd()).unwrap();
        fs::write(l2.join("o/seen"), b"").unwrap();
        // Re-created after layer 2 deleted it: an addition, not a modification.
        fs::write(up.join("a/gone"), b"").unwrap();
        fs::write(up.join("o/hidden"), b"").unwrap();
        fs::write(up.join("o/seen"), b"").unwrap();
        whiteout_at(&up, "file");
        whiteout_at(&up, "never-existed");
        let got = changes(&[&l1, &l2], &up).unwrap();
        assert_eq!(
            list(&got),
            [
                "C /a",
                "A /a/gone",
                "D /file",
                "C /o",
                "A /o/hidden",
                "C /o/seen"
            ]
        );
    }
}
