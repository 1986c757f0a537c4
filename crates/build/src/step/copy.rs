//! COPY and ADD: the selected files of the context (or of another stage's or image's root,
//! `--from`), or a heredoc, written as one tar stream and unpacked into the step's root by
//! the image store's confined layer applier, so a hostile source (a `../` name, a symlink
//! out of the root) can never write outside it. ADD also unpacks local tar archives.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use tar::{EntryType, Header};

use crate::context::{Context, EntryKind};
use crate::error::{Error, Result};

/// Where COPY's files come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Context(&'a Context),
    /// A mounted root filesystem (COPY --from=stage|image): owners are kept.
    Root(&'a Path),
}

/// One COPY/ADD, expanded.
#[derive(Debug, Default)]
pub struct Plan {
    /// Source paths (globs allowed), relative to the source's root.
    pub sources: Vec<String>,
    /// Sources that are not files of the source: heredocs and downloads.
    pub inline: Vec<Inline>,
    /// Absolute destination; a trailing `/` means "into this directory".
    pub dest: String,
    pub owner: Option<(u32, u32)>,
    pub chmod: Option<u32>,
    /// ADD: local tar archives are unpacked into the destination.
    pub unpack_archives: bool,
    pub excludes: Vec<crate::context::glob::Pattern>,
}

/// A file given by content: a heredoc (0644) or an ADD of a URL (0600, as Docker).
#[derive(Debug)]
pub struct Inline {
    pub name: String,
    pub content: Vec<u8>,
    pub mode: u32,
    pub mtime: u64,
}

/// What COPY resolved a source pattern to: the matched paths.
pub fn matches(src: Source<'_>, pattern: &str) -> Result<Vec<String>> {
    let has_meta = pattern.contains(['*', '?', '[']);
    match src {
        Source::Context(ctx) => {
            if has_meta {
                return Ok(ctx.glob(pattern)?);
            }
            let p = crate::context::glob::clean(pattern.trim_start_matches('/'));
            let p = if p == "." { String::new() } else { p };
            // A source that is a symlink is followed (within the context), as Docker does.
            let resolved = ctx.resolve(&p)?.ok_or_else(|| not_found(pattern))?;
            Ok(vec![resolved])
        }
        Source::Root(_) => {
            if has_meta {
                return Err(Error::Invalid(format!("wildcards are not supported with --from: {pattern}")));
            }
            Ok(vec![pattern.to_owned()])
        }
    }
}

fn not_found(p: &str) -> Error {
    Error::Invalid(format!("file not found in build context or excluded by .dockerignore: stat {p}: file does not exist"))
}

/// Is `path` (absolute, in the container's view) a directory of `root`?
pub fn is_dir_in_root(root: &Path, path: &str) -> Option<bool> {
    let f = open_in_root(root, path).ok()?;
    Some(f.metadata().ok()?.is_dir())
}

fn open_in_root(root: &Path, path: &str) -> io::Result<fs::File> {
    let dir = berth_runtime::in_root::open_root(root)?;
    berth_runtime::in_root::open(&dir, Path::new(path), OFlag::O_PATH, Mode::empty())
}

/// Where `path` of a mounted root really is on the host, symlinks resolved inside it.
pub fn real_path_in_root(root: &Path, path: &str) -> Result<PathBuf> {
    let f = open_in_root(root, path).map_err(|_| Error::Invalid(format!("failed to compute cache key: \"{path}\" not found")))?;
    use std::os::fd::AsRawFd;
    fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).map_err(Error::io("resolve", root.join(path.trim_start_matches('/'))))
}

/// Writes the tar of `plan` from `src` into `out`. `root` is the step's root, to see which
/// destination directories exist already.
pub fn write_tar(src: Source<'_>, plan: &Plan, root: &Path, out: impl Write) -> Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    let mut selected: Vec<String> = Vec::new();
    for s in &plan.sources {
        let m = matches(src, s)?;
        if m.is_empty() {
            return Err(Error::Invalid(format!("no source files were specified: {s}")));
        }
        selected.extend(m);
    }
    let count = selected.len() + plan.inline.len();
    let into_dir = plan.dest.ends_with('/') || is_dir_in_root(root, &plan.dest) == Some(true);
    let any_dir_source = selected.iter().any(|p| source_is_dir(src, p));
    if count > 1 && !plan.dest.ends_with('/') && is_dir_in_root(root, &plan.dest) != Some(true) {
        return Err(Error::Invalid("When using COPY with more than one source file, the destination must be a directory and end with a /".into()));
    }
    let dest = plan.dest.trim_end_matches('/').to_owned();
    let mut w = Writer { b: &mut b, plan, made: Vec::new(), root };
    if into_dir || any_dir_source || count > 1 {
        w.parents(&format!("{dest}/"))?;
    } else {
        w.parents(&dest)?;
    }
    for f in &plan.inline {
        let target = if into_dir { format!("{dest}/{}", f.name) } else { dest.clone() };
        let mut h = w.header(EntryType::Regular, f.mode, (0, 0), f.mtime, f.content.len() as u64);
        w.b.append_data(&mut h, rel(&target), f.content.as_slice()).map_err(Error::io("write tar entry", &target))?;
    }
    for p in &selected {
        let base = p.rsplit('/').next().unwrap_or(p);
        if source_is_dir(src, p) {
            w.tree(src, p, &dest)?;
        } else {
            let target = if into_dir || base.is_empty() { format!("{dest}/{base}") } else { dest.clone() };
            if plan.unpack_archives && w.unpack(src, p, &dest)? {
                continue;
            }
            w.one(src, p, &target)?;
        }
    }
    b.finish().map_err(Error::io("write tar of", &plan.dest))?;
    Ok(())
}

fn source_is_dir(src: Source<'_>, p: &str) -> bool {
    match src {
        Source::Context(ctx) => ctx.get(p).is_some_and(|e| e.is_dir()),
        Source::Root(root) => is_dir_in_root(root, p) == Some(true),
    }
}

fn rel(p: &str) -> &str {
    let r = p.trim_start_matches('/');
    if r.is_empty() { "." } else { r }
}

struct Writer<'a, W: Write> {
    b: &'a mut tar::Builder<W>,
    plan: &'a Plan,
    made: Vec<String>,
    root: &'a Path,
}

impl<W: Write> Writer<'_, W> {
    fn header(&self, kind: EntryType, mode: u32, owner: (u32, u32), mtime: u64, size: u64) -> Header {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        let mode = match (self.plan.chmod, kind) {
            (Some(m), _) => m,
            _ => mode,
        };
        h.set_mode(mode);
        let (uid, gid) = self.plan.owner.unwrap_or(owner);
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mtime(mtime);
        h.set_size(size);
        h
    }

    /// Directory entries for the destination's missing parents (`/a/b/` makes `a` and
    /// `a/b` unless the root has them): 0755, root's or `--chown`'s.
    fn parents(&mut self, dest: &str) -> Result<()> {
        let parts: Vec<&str> = dest.split('/').filter(|s| !s.is_empty()).collect();
        let dirs = if dest.ends_with('/') { parts.len() } else { parts.len().saturating_sub(1) };
        let mut cur = String::new();
        for part in &parts[..dirs] {
            cur.push('/');
            cur.push_str(part);
            if is_dir_in_root(self.root, &cur).is_some() || self.made.contains(&cur) {
                continue;
            }
            let mut h = self.header(EntryType::Directory, 0o755, (0, 0), now(), 0);
            if self.plan.chmod.is_some() {
                h.set_mode(0o755);
            }
            self.b.append_data(&mut h, rel(&cur), io::empty()).map_err(Error::io("write tar entry", &cur))?;
            self.made.push(cur.clone());
        }
        Ok(())
    }

    fn excluded(&self, p: &str) -> bool {
        self.plan.excludes.iter().any(|x| x.matches(p))
    }

    /// The contents of directory `p` of the source into `dest`.
    fn tree(&mut self, src: Source<'_>, p: &str, dest: &str) -> Result<()> {
        match src {
            Source::Context(ctx) => {
                let skip = if p.is_empty() { 0 } else { p.len() + 1 };
                for (path, e) in ctx.walk(p) {
                    let relp = &path[skip..];
                    if self.excluded(relp) || relp.rsplit('/').next().is_some_and(|n| n.starts_with(".wh.")) {
                        continue;
                    }
                    let target = format!("{dest}/{relp}");
                    self.context_entry(ctx, e, &target)?;
                }
                Ok(())
            }
            Source::Root(root) => {
                let real = real_path_in_root(root, p)?;
                self.root_tree(&real, "", dest)
            }
        }
    }

    fn root_tree(&mut self, dir: &Path, relp: &str, dest: &str) -> Result<()> {
        let mut names: Vec<_> = fs::read_dir(dir).map_err(Error::io("read", dir))?.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for n in names {
            let name = n.to_string_lossy().into_owned();
            if name.starts_with(".wh.") {
                continue;
            }
            let child_rel = if relp.is_empty() { name.clone() } else { format!("{relp}/{name}") };
            if self.excluded(&child_rel) {
                continue;
            }
            let path = dir.join(&n);
            let target = format!("{dest}/{child_rel}");
            let md = path.symlink_metadata().map_err(Error::io("stat", &path))?;
            self.root_entry(&path, &md, &target)?;
            if md.is_dir() {
                self.root_tree(&path, &child_rel, dest)?;
            }
        }
        Ok(())
    }

    fn one(&mut self, src: Source<'_>, p: &str, target: &str) -> Result<()> {
        match src {
            Source::Context(ctx) => {
                let e = ctx.get(p).ok_or_else(|| not_found(p))?;
                self.context_entry(ctx, e, target)
            }
            Source::Root(root) => {
                let real = real_path_in_root(root, p)?;
                let md = real.symlink_metadata().map_err(Error::io("stat", &real))?;
                self.root_entry(&real, &md, target)
            }
        }
    }

    fn context_entry(&mut self, ctx: &Context, e: &crate::context::Entry, target: &str) -> Result<()> {
        let err = Error::io("write tar entry", target);
        // Files from the context belong to root unless --chown says otherwise.
        match &e.kind {
            EntryKind::Dir => {
                let mut h = self.header(EntryType::Directory, e.mode, (0, 0), e.mtime, 0);
                self.b.append_data(&mut h, rel(target), io::empty()).map_err(err)
            }
            EntryKind::File | EntryKind::Hardlink(_) => {
                let mut h = self.header(EntryType::Regular, e.mode, (0, 0), e.mtime, e.size);
                self.b.append_data(&mut h, rel(target), ctx.open(e)).map_err(err)
            }
            EntryKind::Symlink(to) => {
                let mut h = self.header(EntryType::Symlink, 0o777, (0, 0), e.mtime, 0);
                h.set_mode(0o777);
                self.b.append_link(&mut h, rel(target), to).map_err(err)
            }
        }
    }

    fn root_entry(&mut self, path: &Path, md: &fs::Metadata, target: &str) -> Result<()> {
        let err = Error::io("write tar entry", target);
        let owner = (md.uid(), md.gid());
        let mode = md.permissions().mode() & 0o7777;
        let mtime = u64::try_from(md.mtime()).unwrap_or(0);
        let ft = md.file_type();
        if ft.is_dir() {
            let mut h = self.header(EntryType::Directory, mode, owner, mtime, 0);
            self.b.append_data(&mut h, rel(target), io::empty()).map_err(err)
        } else if ft.is_file() {
            let f = fs::File::open(path).map_err(Error::io("open", path))?;
            let mut h = self.header(EntryType::Regular, mode, owner, mtime, md.len());
            self.b.append_data(&mut h, rel(target), f).map_err(err)
        } else if ft.is_symlink() {
            let to = fs::read_link(path).map_err(Error::io("read link", path))?;
            let mut h = self.header(EntryType::Symlink, 0o777, owner, mtime, 0);
            h.set_mode(0o777);
            self.b.append_link(&mut h, rel(target), to).map_err(err)
        } else {
            // Devices, fifos and sockets are not copied (Docker copies none from a context).
            Ok(())
        }
    }

    /// ADD of a local tar archive: its entries under `dest`. Returns false for a file that
    /// is not an archive (copied as is then).
    fn unpack(&mut self, src: Source<'_>, p: &str, dest: &str) -> Result<bool> {
        let reader: Box<dyn Read + '_> = match src {
            Source::Context(ctx) => Box::new(ctx.open(ctx.get(p).ok_or_else(|| not_found(p))?)),
            Source::Root(root) => Box::new(fs::File::open(real_path_in_root(root, p)?).map_err(Error::io("open", p))?),
        };
        let mut reader = io::BufReader::new(reader);
        if !is_archive(&mut reader) {
            return Ok(false);
        }
        let (_, tar) = berth_image::layer::compression::decompress(reader).map_err(Error::io("decompress", p))?;
        let mut a = tar::Archive::new(tar);
        for entry in a.entries().map_err(Error::io("read archive", p))? {
            let mut entry = entry.map_err(Error::io("read archive", p))?;
            let name = entry.path().map_err(Error::io("read archive", p))?.to_string_lossy().into_owned();
            let clean = crate::context::glob::clean(name.trim_start_matches('/'));
            if clean == "." || clean.starts_with("..") || clean.rsplit('/').next().is_some_and(|n| n.starts_with(".wh.")) {
                continue;
            }
            let target = format!("{dest}/{clean}");
            let mut h = entry.header().clone();
            let err = Error::io("write tar entry", &target);
            match h.entry_type() {
                EntryType::Symlink | EntryType::Link => {
                    let to = entry.link_name().ok().flatten().map(|l| l.into_owned()).unwrap_or_default();
                    let to = if h.entry_type() == EntryType::Link {
                        PathBuf::from(format!("{}/{}", dest.trim_start_matches('/'), crate::context::glob::clean(&to.to_string_lossy())))
                    } else {
                        to
                    };
                    self.b.append_link(&mut h, rel(&target), to).map_err(err)?;
                }
                _ => self.b.append_data(&mut h, rel(&target), &mut entry).map_err(err)?,
            }
        }
        Ok(true)
    }
}

/// gzip, zstd or a plain tar (bzip2 and xz are not unpacked: copied as files).
fn is_archive(r: &mut io::BufReader<impl Read>) -> bool {
    use io::BufRead;
    let Ok(head) = r.fill_buf() else { return false };
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return true;
    }
    head.len() >= 262 && &head[257..262] == b"ustar"
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
