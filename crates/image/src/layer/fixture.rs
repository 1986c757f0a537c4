//! Builds layer archives in tests, including ones no honest tool writes: paths are copied
//! into the header verbatim, so `..`, absolute names and links anywhere can be expressed.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use tar::{EntryType, Header};

/// A `security.capability` value: VFS_CAP_REVISION_2 granting CAP_NET_BIND_SERVICE (bit
/// 10) permitted, little-endian as the kernel stores it.
pub(crate) fn cap_net_bind() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0000u32, 1 << 10, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

pub(crate) fn getxattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: NUL-terminated strings and a writable buffer of the given length.
    let len =
        unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

pub(crate) struct TarFixture {
    builder: tar::Builder<Vec<u8>>,
}

pub(crate) struct Entry<'a> {
    pub kind: EntryType,
    pub path: &'a str,
    pub link: &'a str,
    pub data: &'a [u8],
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub dev: (u32, u32),
    pub xattrs: &'a [(&'a str, &'a [u8])],
}

impl Default for Entry<'_> {
    fn default() -> Self {
        Entry {
            kind: EntryType::Regular,
            path: "",
            link: "",
            data: b"",
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            dev: (0, 0),
            xattrs: &[],
        }
    }
}

impl TarFixture {
    pub fn new() -> Self {
        TarFixture {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    pub fn entry(mut self, e: Entry<'_>) -> Self {
        if !e.xattrs.is_empty() {
            let exts: Vec<(String, &[u8])> = e
                .xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), *v))
                .collect();
            self.builder
                .append_pax_extensions(exts.iter().map(|(k, v)| (k.as_str(), *v)))
                .unwrap();
        }
        let mut h = Header::new_ustar();
        let name = &mut h.as_old_mut().name;
        assert!(e.path.len() < name.len(), "fixture paths are short");
        name[..e.path.len()].copy_from_slice(e.path.as_bytes());
        h.set_entry_type(e.kind);
        h.set_link_name_literal(e.link).unwrap();
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(e.mtime);
        h.set_device_major(e.dev.0).unwrap();
        h.set_device_minor(e.dev.1).unwrap();
        h.set_size(e.data.len() as u64);
        h.set_cksum();
        self.builder.append(&h, e.data).unwrap();
        self
    }

    pub fn dir(self, path: &str) -> Self {
        self.entry(Entry {
            kind: EntryType::Directory,
            path,
            mode: 0o755,
            ..Entry::default()
        })
    }

    pub fn file(self, path: &str, data: &[u8]) -> Self {
        self.entry(Entry {
            path,
            data,
            ..Entry::default()
        })
    }

    pub fn symlink(self, path: &str, link: &str) -> Self {
        self.entry(Entry {
            kind: EntryType::Symlink,
            path,
            link,
            mode: 0o777,
            ..Entry::default()
        })
    }

    pub fn hardlink(self, path: &str, link: &str) -> Self {
        self.entry(Entry {
            kind: EntryType::Link,
            path,
            link,
            ..Entry::default()
        })
    }

    pub fn finish(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }
}
