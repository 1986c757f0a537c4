//! Exporting a container's changes as a layer: the overlay upper directory written as an
//! OCI layer tar, the input of commit and of each build step.
//!
//! Deterministic: entries in sorted path order, each directory before its contents, no
//! access times and no user or group names, so the same changes give the same DiffID and a
//! rebuild can reuse a cached layer.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use crate::digest::{Digest, DigestingWriter};
use crate::error::{Error, Result};
use crate::layer::{whiteout, xattr};

/// Writes the layer tar of `upper` to `out` and returns its DiffID (the sha256 of the
/// uncompressed tar, which is exactly what is written).
///
/// Overlay whiteouts become `.wh.<name>` entries and opaque directories get a
/// `.wh..wh..opq` entry right after their own, the archive form [`crate::apply_layer`]
/// turns back into overlay's. Files sharing an inode become hard links to the first of
/// them in archive order. Extended attributes travel as PAX `SCHILY.xattr.*` records,
/// except overlay's own. Sockets are skipped: they are not content.
pub fn export_changes(upper: &Path, out: impl Write) -> Result<Digest> {
    let mut exporter = Exporter {
        builder: Builder::new(DigestingWriter::new(out)),
        links: HashMap::new(),
    };
    exporter
        .dir(upper, Path::new(""))
        .map_err(|(path, source)| Error::ExportChanges { path, source })?;
    let writer = exporter
        .builder
        .into_inner()
        .map_err(|source| Error::ExportChanges {
            path: upper.to_owned(),
            source,
        })?;
    let (digest, mut out) = writer.finish();
    out.flush().map_err(|source| Error::ExportChanges {
        path: upper.to_owned(),
        source,
    })?;
    Ok(digest)
}

type ExportError = (PathBuf, io::Error);

struct Exporter<W: Write> {
    builder: Builder<DigestingWriter<W>>,
    /// (device, inode) → archive path of the first entry written for it.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Exporter<W> {
    /// Writes the entries under the directory `dir`, whose path in the archive is `rel`.
    fn dir(&mut self, dir: &Path, rel: &Path) -> std::result::Result<(), ExportError> {
        let err = |e| (dir.to_owned(), e);
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(err)? {
            names.push(entry.map_err(err)?.file_name());
        }
        names.sort();
        for name in names {
            let path = dir.join(&name);
            let arc = rel.join(&name);
            self.entry(&path, &arc).map_err(|e| (path.clone(), e))?;
            if fs::symlink_metadata(&path)
                .map_err(|e| (path.clone(), e))?
                .is_dir()
            {
                self.dir(&path, &arc)?;
            }
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, arc: &Path) -> io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        let mut h = header(&meta);
        if whiteout::is_whiteout(&meta) {
            let name = arc.file_name().unwrap_or_default();
            let mut wh = std::ffi::OsString::from(whiteout::PREFIX);
            wh.push(name);
            h.set_entry_type(EntryType::Regular);
            h.set_mode(meta.mode() & 0o777);
            return self
                .builder
                .append_data(&mut h, arc.with_file_name(wh), io::empty());
        }
        let ft = meta.file_type();
        if !ft.is_dir() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key) {
                h.set_entry_type(EntryType::Link);
                h.set_size(0);
                let first = first.clone();
                return self.builder.append_link(&mut h, arc, first);
            }
            self.links.insert(key, arc.to_owned());
        }
        self.xattrs(path)?;
        if ft.is_dir() {
            h.set_entry_type(EntryType::Directory);
            // The trailing slash marks a directory for readers that ignore the type.
            let mut name = arc.as_os_str().to_owned();
            name.push("/");
            self.builder.append_data(&mut h, name, io::empty())?;
            if whiteout::is_opaque(path)? {
                let mut opq = header(&meta);
                opq.set_entry_type(EntryType::Regular);
                opq.set_mode(meta.mode() & 0o777);
                self.builder
                    .append_data(&mut opq, arc.join(whiteout::OPAQUE), io::empty())?;
            }
            Ok(())
        } else if ft.is_symlink() {
            h.set_entry_type(EntryType::Symlink);
            let target = fs::read_link(path)?;
            self.builder.append_link(&mut h, arc, target)
        } else if ft.is_file() {
            h.set_entry_type(EntryType::Regular);
            h.set_size(meta.len());
            let file = File::open(path)?;
            self.builder.append_data(&mut h, arc, file)
        } else {
            let kind = if ft.is_char_device() {
                EntryType::Char
            } else if ft.is_block_device() {
                EntryType::Block
            } else if ft.is_fifo() {
                EntryType::Fifo
            } else {
                return Ok(());
            };
            h.set_entry_type(kind);
            let rdev = meta.rdev();
            h.set_device_major(libc::major(rdev))?;
            h.set_device_minor(libc::minor(rdev))?;
            self.builder.append_data(&mut h, arc, io::empty())
        }
    }

    /// The PAX record of the next entry's extended attributes, if it has any.
    fn xattrs(&mut self, path: &Path) -> io::Result<()> {
        let attrs = xattr::read_all(path)?;
        if attrs.is_empty() {
            return Ok(());
        }
        let records: Vec<(String, Vec<u8>)> = attrs
            .into_iter()
            .map(|(name, value)| (format!("SCHILY.xattr.{}", name.to_string_lossy()), value))
            .collect();
        self.builder
            .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
    }
}

/// A header with what every entry carries: owner, permissions, modification time. A
/// file whose time precedes the epoch is written at the epoch, which tar cannot go below.
fn header(meta: &fs::Metadata) -> Header {
    let mut h = Header::new_ustar();
    h.set_uid(meta.uid().into());
    h.set_gid(meta.gid().into());
    h.set_mode(meta.mode() & 0o7777);
    h.set_mtime(meta.mtime().max(0) as u64);
    h.set_size(0);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::{changes, root_changes, ChangeKind};
    use crate::driver::{mount_rootfs_with, overlay, DriverKind};
    use crate::layer::fixture::{self, TarFixture};
    use crate::store::layers::{ChainId, LayerStore};
    use std::os::unix::fs::PermissionsExt;

    /// Layer 1: etc/{passwd,hosts}, opt/{old,sub/deep}; layer 2: etc/motd, a fifo.
    fn two_layers(store: &LayerStore) -> Vec<ChainId> {
        let tars = [
            TarFixture::new()
                .dir("etc/")
                .file("etc/passwd", b"root:x:0:0")
                .file("etc/hosts", b"127.0.0.1")
                .dir("opt/")
                .file("opt/old", b"old")
                .dir("opt/sub/")
                .file("opt/sub/deep", b"deep")
                .finish(),
            TarFixture::new()
                .dir("etc/")
                .file("etc/motd", b"hi")
                .finish(),
        ];
        let mut chain: Vec<ChainId> = Vec::new();
        for t in &tars {
            chain.push(store.unpack(chain.last(), None, &t[..]).unwrap().chain_id);
        }
        chain
    }

    /// Everything a container sees of a tree, one line per path: type, owner, mode, mtime,
    /// extended attributes, link count and content or link target. The root itself is
    /// left out: it is each mount's own upper directory.
    fn listing(root: &Path) -> Vec<String> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
            let mut names: Vec<_> = fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            for name in names {
                let path = dir.join(&name);
                let m = fs::symlink_metadata(&path).unwrap();
                let what = if m.is_dir() {
                    "dir".to_owned()
                } else if m.file_type().is_symlink() {
                    format!("-> {}", fs::read_link(&path).unwrap().display())
                } else if m.is_file() {
                    format!("{:?}", String::from_utf8_lossy(&fs::read(&path).unwrap()))
                } else {
                    format!("special {:o} {}", m.mode() & 0o170000, m.rdev())
                };
                let nlink = if m.is_dir() { 0 } else { m.nlink() };
                out.push(format!(
                    "{} {}:{} {:o} t{} links{} x{:?} {}",
                    path.strip_prefix(root).unwrap().display(),
                    m.uid(),
                    m.gid(),
                    m.mode() & 0o7777,
                    m.mtime(),
                    nlink,
                    xattr::read_all(&path).unwrap(),
                    what
                ));
                if m.is_dir() {
                    walk(root, &path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(root, root, &mut out);
        out
    }

    #[test]
    fn overlay_changes_are_listed_and_exported_layer_round_trips() {
        if !nix::unistd::geteuid().is_root() || !overlay::supported() {
            eprintln!("skipped: needs root and overlayfs");
            return;
        }
        // Declared first so it is dropped last, after the mounts' guards have unmounted.
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(&dir.path().join("store")).unwrap();
        let chain = two_layers(&store);
        let container = dir.path().join("c1");
        let root = mount_rootfs_with(DriverKind::Overlay, &store, &chain, &container).unwrap();
        let m = root.path();

        fs::write(m.join("etc/new"), b"added").unwrap();
        fs::write(m.join("etc/passwd"), b"root:x:0:0\nme:x:1000:1000").unwrap();
        fs::remove_file(m.join("etc/hosts")).unwrap();
        fs::remove_dir_all(m.join("opt")).unwrap();
        fs::create_dir(m.join("opt")).unwrap();
        fs::write(m.join("opt/new"), b"fresh").unwrap();
        fs::create_dir(m.join("data")).unwrap();
        fs::write(m.join("data/a"), b"linked").unwrap();
        fs::hard_link(m.join("data/a"), m.join("data/b")).unwrap();
        std::os::unix::fs::symlink("a", m.join("data/l")).unwrap();
        fs::set_permissions(m.join("data/a"), fs::Permissions::from_mode(0o4750)).unwrap();
        std::os::unix::fs::lchown(m.join("data/l"), Some(7), Some(8)).unwrap();
        nix::unistd::mkfifo(
            &m.join("data/fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o640),
        )
        .unwrap();
        nix::sys::stat::mknod(
            &m.join("data/null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        let cap = fixture::cap_net_bind();
        let p = std::ffi::CString::new(m.join("etc/new").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: NUL-terminated path and name; the value is live for its length.
        let rc = unsafe {
            libc::lsetxattr(
                p.as_ptr(),
                c"security.capability".as_ptr(),
                cap.as_ptr().cast(),
                cap.len(),
                0,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());

        let diffs: Vec<PathBuf> = chain.iter().map(|c| store.diff_path(c)).collect();
        let below: Vec<&Path> = diffs.iter().map(PathBuf::as_path).collect();
        let got = root_changes(&root, &below).unwrap();
        assert_eq!(got, changes(&below, root.changes()).unwrap());
        let got: Vec<String> = got
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path.display()))
            .collect();
        assert_eq!(
            got,
            [
                "A /data",
                "A /data/a",
                "A /data/b",
                "A /data/fifo",
                "A /data/l",
                "A /data/null",
                "C /etc",
                "D /etc/hosts",
                "A /etc/new",
                "C /etc/passwd",
                "C /opt",
                "A /opt/new",
                "D /opt/old",
                "D /opt/sub",
            ]
        );
        assert_eq!(ChangeKind::Deleted.letter(), 'D');

        let mut tar = Vec::new();
        let diff_id = export_changes(root.changes(), &mut tar).unwrap();
        assert_eq!(diff_id, Digest::of(&tar));
        let mut again = Vec::new();
        assert_eq!(export_changes(root.changes(), &mut again).unwrap(), diff_id);
        assert_eq!(again, tar, "export is not deterministic");

        let mut archive = tar::Archive::new(&tar[..]);
        let entries: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let kind = e.header().entry_type();
                format!("{:?} {}", kind, e.path().unwrap().display())
            })
            .collect();
        assert_eq!(
            entries,
            [
                "Directory data/",
                "Regular data/a",
                "Link data/b",
                "Fifo data/fifo",
                "Symlink data/l",
                "Char data/null",
                "Directory etc/",
                "Regular etc/.wh.hosts",
                "Regular etc/new",
                "Regular etc/passwd",
                "Directory opt/",
                "Regular opt/.wh..wh..opq",
                "Regular opt/new",
            ]
        );
        let info = store.unpack(chain.last(), None, &tar[..]).unwrap();
        assert_eq!(info.diff_id, diff_id);
        let mut committed = chain.clone();
        committed.push(info.chain_id);
        let replay = mount_rootfs_with(
            DriverKind::Overlay,
            &store,
            &committed,
            &dir.path().join("c2"),
        )
        .unwrap();
        let want = listing(root.path());
        assert!(
            want.iter().any(|l| l.starts_with("data/a 0:0 4750")),
            "{want:#?}"
        );
        assert!(want
            .iter()
            .any(|l| l.starts_with("etc/new") && l.contains("security.capability")));
        assert_eq!(listing(replay.path()), want);
        replay.unmount().unwrap();
        root.unmount().unwrap();
    }

    #[test]
    fn copy_driver_changes_are_refused_clearly() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = LayerStore::open(&dir.path().join("store")).unwrap();
        let chain = two_layers(&store);
        let root =
            mount_rootfs_with(DriverKind::Copy, &store, &chain, &dir.path().join("c")).unwrap();
        let err = root_changes(&root, &[]).unwrap_err();
        assert!(matches!(err, Error::ChangesNeedOverlay { .. }), "{err}");
    }
}
