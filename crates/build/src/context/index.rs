//! The build context as received: one tar, spooled to a temporary file at most once and
//! indexed in place, so `COPY` reads file contents straight from it by offset instead of
//! unpacking the context to disk first.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::OnceLock;

use berth_image::layer::compression::decompress;
use berth_image::Compression;
use sha2::{Digest, Sha256};

use super::error::{Error, Result};
use super::glob::{clean, Pattern};
use super::ignore::Ignore;

/// Big enough that spooling and hashing are bound by memory bandwidth, not syscalls.
const CHUNK: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    /// The link's target exactly as archived; it is resolved, if at all, where it is copied.
    Symlink(String),
    /// The normalized context path of the file this one is a hard link to. Its content
    /// range is the target's, so it can be read like a file.
    Hardlink(String),
}

#[derive(Debug)]
pub struct Entry {
    pub kind: EntryKind,
    /// Permission bits plus setuid, setgid and sticky (`0o7777` at most).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Content length; zero for everything but files and hard links.
    pub size: u64,
    pub mtime: u64,
    /// Where the content starts in the spooled tar.
    pub offset: u64,
    /// A parent directory the tar never listed itself.
    pub implied: bool,
    /// Content sha256, computed on first use: most files of a context are never copied.
    content_digest: OnceLock<[u8; 32]>,
}

impl Entry {
    fn implied_dir() -> Entry {
        Entry {
            kind: EntryKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            offset: 0,
            implied: true,
            content_digest: OnceLock::new(),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }

    /// Whether the entry has content to read (a file or a hard link to one).
    pub fn is_file(&self) -> bool {
        matches!(self.kind, EntryKind::File | EntryKind::Hardlink(_))
    }
}

/// Reads one entry's content range from the spooled tar. Positioned reads leave the shared
/// file offset alone, so any number of readers may run at once, from any threads.
#[derive(Debug)]
pub struct EntryReader<'a> {
    store: &'a Store,
    pos: u64,
    end: u64,
}

/// Where the context's bytes are: a file (spooled, or given), or the chunks it arrived in,
/// kept as they came (no copy, no page cache of any file system).
#[derive(Debug)]
enum Store {
    File(File),
    Chunks { parts: Vec<bytes::Bytes>, starts: Vec<u64> },
}

impl Store {
    fn read_at(&self, buf: &mut [u8], pos: u64) -> io::Result<usize> {
        match self {
            Store::File(f) => f.read_at(buf, pos),
            Store::Chunks { parts, starts } => {
                // The chunk holding `pos`: the last one starting at or before it.
                let i = starts.partition_point(|&s| s <= pos);
                let Some(i) = i.checked_sub(1) else { return Ok(0) };
                let part = &parts[i];
                let at = usize::try_from(pos - starts[i]).unwrap_or(usize::MAX);
                if at >= part.len() {
                    return Ok(0);
                }
                let n = buf.len().min(part.len() - at);
                buf[..n].copy_from_slice(&part[at..at + n]);
                Ok(n)
            }
        }
    }
}

/// Reads chunks as they come, keeping each one (a reference, not a copy) for the store.
struct ChunkReader<F: FnMut() -> Option<bytes::Bytes>> {
    next: F,
    parts: Vec<bytes::Bytes>,
    starts: Vec<u64>,
    /// The unread rest of the last chunk.
    cur: bytes::Bytes,
    len: u64,
    ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<F: FnMut() -> Option<bytes::Bytes>> Read for ChunkReader<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.cur.is_empty() {
            match (self.next)() {
                Some(c) if c.is_empty() => {}
                Some(c) => {
                    self.starts.push(self.len);
                    self.len += c.len() as u64;
                    self.parts.push(c.clone());
                    self.cur = c;
                }
                None => {
                    self.ended.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        Ok(n)
    }
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.store.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            // The spool is ours and was fully written, so running short means it was
            // truncated underneath us; say so rather than return a silently short file.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "build context truncated",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// An indexed build context. Paths are relative to the context root, `/`-separated and
/// normalized; the root itself is the path `""` (`.` and `/` are accepted for it).
#[derive(Debug)]
pub struct Context {
    file: Store,
    entries: BTreeMap<String, Entry>,
}

impl Context {
    /// Reads a context tar, plain, gzip or zstd, from a stream, spooling the decompressed
    /// tar into an anonymous file under `tmp_dir` (gone when the context is dropped).
    pub fn from_reader(reader: impl Read, tmp_dir: &Path) -> Result<Context> {
        let (_, plain) = decompress(reader).map_err(|source| Error::ReadContext { source })?;
        Context::index(spool(plain, tmp_dir)?)
    }

    /// Takes a context tar already in a file. A plain tar is indexed where it is, without a
    /// copy; a compressed one is decompressed into a spool under `tmp_dir`.
    pub fn from_file(file: File, tmp_dir: &Path) -> Result<Context> {
        let mut head = [0u8; 4];
        let mut n = 0;
        while n < head.len() {
            match file.read_at(&mut head[n..], n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(Error::ReadContext { source }),
            }
        }
        if Compression::detect(&head[..n]) == Compression::None {
            return Context::index(file);
        }
        let mut file = file;
        file.seek(SeekFrom::Start(0))
            .map_err(|source| Error::ReadContext { source })?;
        Context::from_reader(file, tmp_dir)
    }

    /// Reads a context tar (plain, gzip or zstd) as it arrives, copying the plain tar into
    /// `store` (an empty file, typically in memory) and hashing each file's content on the
    /// way: once the last byte is in, the context is indexed and every checksum ready, with
    /// no second pass over the data.
    pub fn from_stream(reader: impl Read, store: File) -> Result<Context> {
        let read_err = |source| Error::ReadContext { source };
        let (_, plain) = decompress(reader).map_err(read_err)?;
        let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tee = Tee { inner: plain, out: store.try_clone().map_err(read_err)?, ended: ended.clone() };
        let mut archive = tar::Archive::new(tee);
        let entries = index_entries(archive.entries().map_err(read_err)?, None, Some(&ended))?;
        // The end-of-archive blocks after the last entry are not needed: nothing reads them.
        drop(archive);
        Ok(Context { file: Store::File(store), entries })
    }

    /// Like [`Context::from_stream`] for a context that arrives in chunks (a request
    /// body): a plain tar is kept in memory in the chunks themselves; a compressed one is
    /// decompressed into the file `spool` makes.
    pub fn from_chunks(mut next: impl FnMut() -> Option<bytes::Bytes>, spool: impl FnOnce() -> io::Result<File>) -> Result<Context> {
        let read_err = |source| Error::ReadContext { source };
        let first = std::iter::from_fn(&mut next).find(|c| !c.is_empty()).unwrap_or_default();
        let mut pending = Some(first.clone());
        let mut next = move || pending.take().or_else(&mut next);
        if Compression::detect(&first[..first.len().min(8)]) != Compression::None {
            let reader = ChunkReader { next, parts: Vec::new(), starts: Vec::new(), cur: bytes::Bytes::new(), len: 0, ended: Default::default() };
            // Kept chunks are compressed bytes: drop each once read.
            return Context::from_stream(Forgetful(reader), spool().map_err(read_err)?);
        }
        let ended = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut archive = tar::Archive::new(ChunkReader { next: &mut next, parts: Vec::new(), starts: Vec::new(), cur: bytes::Bytes::new(), len: 0, ended: ended.clone() });
        let entries = index_entries(archive.entries().map_err(read_err)?, None, Some(&ended))?;
        let reader = archive.into_inner();
        Ok(Context { file: Store::Chunks { parts: reader.parts, starts: reader.starts }, entries })
    }

    fn index(mut file: File) -> Result<Context> {
        let read_err = |source| Error::ReadContext { source };
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        let mut archive = tar::Archive::new(&file);
        let entries = index_entries(archive.entries_with_seek().map_err(read_err)?, Some(len), None)?;
        Ok(Context { file: Store::File(file), entries })
    }


    /// Drops what `ignore` excludes. Parents of re-included paths stay, as implied
    /// directories if they were excluded themselves.
    pub fn apply_ignore(&mut self, ignore: &Ignore) {
        if ignore.is_empty() {
            return;
        }
        self.entries
            .retain(|path, _| path.is_empty() || !ignore.is_excluded(path));
        let mut missing = Vec::new();
        for path in self.entries.keys() {
            for (i, _) in path.match_indices('/') {
                if !self.entries.contains_key(&path[..i]) {
                    missing.push(path[..i].to_string());
                }
            }
        }
        for path in missing {
            self.entries.entry(path).or_insert_with(Entry::implied_dir);
        }
        // A hard link whose first name was dropped is the only name left for its content.
        let names: Vec<String> = self
            .entries
            .iter()
            .filter_map(|(p, e)| match &e.kind {
                EntryKind::Hardlink(t) if !self.entries.contains_key(t) => Some(p.clone()),
                _ => None,
            })
            .collect();
        for name in names {
            if let Some(e) = self.entries.get_mut(&name) {
                e.kind = EntryKind::File;
            }
        }
    }

    /// Number of entries, implied directories and the root included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the context holds nothing but its root.
    pub fn is_empty(&self) -> bool {
        self.entries.len() == 1
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(lookup_key(path)?.as_str())
    }

    /// Follows symlinks along `path`, the last component's included, the way copying out of
    /// the context sees them: an absolute target starts again at the context root and `..`
    /// stops there, so resolution never leaves the context. `None` when nothing is there.
    pub fn resolve(&self, path: &str) -> Result<Option<String>> {
        // Components still to walk, last first, so a link's target is pushed in front.
        let mut pending: Vec<&str> = path.split('/').rev().collect();
        let mut current = String::new();
        let mut hops = 0;
        while let Some(component) = pending.pop() {
            match component {
                "" | "." => {}
                ".." => {
                    let cut = current.rfind('/').unwrap_or(0);
                    current.truncate(cut);
                }
                name => {
                    let next = join(&current, name);
                    let Some(entry) = self.entries.get(&next) else {
                        return Ok(None);
                    };
                    match &entry.kind {
                        EntryKind::Symlink(target) => {
                            hops += 1;
                            // Linux's own limit on links followed in one lookup.
                            if hops > 40 {
                                return Err(Error::Resolve {
                                    path: path.to_string(),
                                    reason: "too many levels of symbolic links",
                                });
                            }
                            if target.starts_with('/') {
                                current.clear();
                            }
                            pending.extend(target.split('/').rev());
                        }
                        _ => current = next,
                    }
                }
            }
        }
        Ok(Some(current))
    }

    /// The content of the file at `path`, or `None` when there is no file there (the
    /// builder asks for `.dockerignore` and the Dockerfile, which may be absent).
    pub fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(entry) = self.get(path).filter(|e| e.is_file()) else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
        self.open(entry)
            .read_to_end(&mut out)
            .map_err(|source| Error::ReadEntry {
                path: path.to_string(),
                source,
            })?;
        Ok(Some(out))
    }

    /// A reader over the entry's content (empty for directories and symlinks).
    pub fn open<'a>(&'a self, entry: &Entry) -> EntryReader<'a> {
        let size = if entry.is_file() { entry.size } else { 0 };
        EntryReader {
            store: &self.file,
            pos: entry.offset,
            end: entry.offset + size,
        }
    }

    /// The direct children of directory `dir`, by name, sorted by name.
    pub fn children<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        let skip = lookup_key(dir).map_or(0, |k| if k.is_empty() { 0 } else { k.len() + 1 });
        self.walk(dir).filter_map(move |(p, e)| {
            let name = &p[skip..];
            (!name.contains('/')).then_some((name, e))
        })
    }

    /// Everything beneath `dir` (not `dir` itself), as full paths sorted bytewise.
    pub fn walk<'a>(&'a self, dir: &str) -> impl Iterator<Item = (&'a str, &'a Entry)> + 'a {
        let prefix = lookup_key(dir).map(|k| if k.is_empty() { k } else { k + "/" });
        prefix.into_iter().flat_map(move |p| {
            self.entries
                .range(p.clone()..)
                .filter(|(k, _)| !k.is_empty())
                .take_while(move |(k, _)| k.starts_with(p.as_str()))
                .map(|(k, e)| (k.as_str(), e))
        })
    }

    /// Paths matching a Go `filepath.Match` pattern, each component matched separately
    /// (so `*` never crosses `/`), sorted. A component without metacharacters is looked up
    /// directly rather than matched against every sibling.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>> {
        let cleaned = clean(pattern.trim_start_matches('/'));
        if cleaned == "." || cleaned == "/" {
            return Ok(vec![String::new()]);
        }
        let components = cleaned
            .split('/')
            .map(Pattern::new)
            .collect::<Result<Vec<_>>>()?;
        let mut level = vec![String::new()];
        for (depth, component) in components.iter().enumerate() {
            let last = depth + 1 == components.len();
            let mut next = Vec::new();
            for dir in &level {
                if let Some(name) = component.literal() {
                    let path = join(dir, name);
                    if let Some(e) = self.entries.get(&path) {
                        if last || e.is_dir() {
                            next.push(path);
                        }
                    }
                    continue;
                }
                for (name, e) in self.children(dir) {
                    if (last || e.is_dir()) && component.matches(name) {
                        next.push(join(dir, name));
                    }
                }
            }
            level = next;
        }
        level.sort();
        Ok(level)
    }

    /// The cache key of `path`: sha256 over a file's kind, mode, owner and content, or over
    /// the same for every entry of a directory tree plus the names relative to `path` and
    /// link targets. Modification times are left out, as Docker leaves them out: touching
    /// a file must not invalidate the build.
    pub fn checksum(&self, path: &str) -> Result<[u8; 32]> {
        let not_found = || Error::NotFound(path.to_string());
        let key = lookup_key(path).ok_or_else(not_found)?;
        let root = self.entries.get(&key).ok_or_else(not_found)?;
        let mut hasher = Sha256::new();
        self.hash_entry(&mut hasher, "", root, &key)?;
        if root.is_dir() {
            let skip = if key.is_empty() { 0 } else { key.len() + 1 };
            for (p, e) in self.walk(&key) {
                self.hash_entry(&mut hasher, &p[skip..], e, p)?;
            }
        }
        Ok(hasher.finalize().into())
    }

    fn hash_entry(&self, hasher: &mut Sha256, name: &str, entry: &Entry, path: &str) -> Result<()> {
        // Every variable-length field is length-prefixed so no two trees hash the same
        // byte stream.
        let field = |h: &mut Sha256, bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        field(hasher, name.as_bytes());
        let tag: u8 = match entry.kind {
            EntryKind::File => b'f',
            EntryKind::Dir => b'd',
            EntryKind::Symlink(_) => b'l',
            EntryKind::Hardlink(_) => b'h',
        };
        hasher.update([tag]);
        hasher.update(entry.mode.to_le_bytes());
        hasher.update(entry.uid.to_le_bytes());
        hasher.update(entry.gid.to_le_bytes());
        match &entry.kind {
            EntryKind::Dir => {}
            EntryKind::Symlink(target) => field(hasher, target.as_bytes()),
            EntryKind::File => hasher.update(self.content_digest(entry, path)?),
            EntryKind::Hardlink(target) => {
                field(hasher, target.as_bytes());
                hasher.update(self.content_digest(entry, path)?);
            }
        }
        Ok(())
    }

    /// Computes the content digests of every file at or beneath `path` on all cores, so
    /// a [`Context::checksum`] after it only combines cached digests: hashing is most of
    /// the time a cache lookup of a big COPY takes.
    pub fn prefetch_digests(&self, path: &str) -> Result<()> {
        let Some(key) = lookup_key(path) else { return Ok(()) };
        let mut files: Vec<(&str, &Entry)> = self.walk(&key).filter(|(_, e)| e.is_file()).collect();
        if let Some(e) = self.entries.get(&key).filter(|e| e.is_file()) {
            files.push((key.as_str(), e));
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().max(1));
        if threads <= 1 {
            return files.iter().try_for_each(|(p, e)| self.content_digest(e, p).map(drop));
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let files = &files;
                    s.spawn(move || files.iter().skip(t).step_by(threads).try_for_each(|(p, e)| self.content_digest(e, p).map(drop)))
                })
                .collect();
            handles.into_iter().try_for_each(|h| h.join().expect("hashing does not panic"))
        })
    }

    /// The sha256 of an entry's content, computed once and cached in the entry.
    pub fn content_digest(&self, entry: &Entry, path: &str) -> Result<[u8; 32]> {
        if let Some(d) = entry.content_digest.get() {
            return Ok(*d);
        }
        let mut hasher = Sha256::new();
        let mut reader = self.open(entry);
        let mut buf = vec![
            0u8;
            CHUNK
                .min(usize::try_from(entry.size).unwrap_or(CHUNK))
                .max(1)
        ];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::ReadEntry {
                        path: path.to_string(),
                        source,
                    })
                }
            };
            hasher.update(&buf[..n]);
        }
        let digest: [u8; 32] = hasher.finalize().into();
        // Another thread may have won the race; both computed the same value.
        let _ = entry.content_digest.set(digest);
        Ok(digest)
    }
}

/// Copies the (decompressed) stream into an anonymous file, unlinked from the start so a
/// crash leaves nothing behind.
/// A [`ChunkReader`] that keeps nothing (its chunks are not the bytes the index needs).
struct Forgetful<F: FnMut() -> Option<bytes::Bytes>>(ChunkReader<F>);

impl<F: FnMut() -> Option<bytes::Bytes>> Read for Forgetful<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.0.parts.clear();
        self.0.starts.clear();
        Ok(n)
    }
}

/// Copies what is read into `out` as it is read: the stream's bytes land in the store at
/// the offsets the archive reader reports.
struct Tee<R: Read> {
    inner: R,
    out: File,
    /// Set once the stream ended.
    ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// The index of an archive's entries. With `len` (a file indexed in place), contents are
/// skipped by seeking and checked to lie inside the file; without (a stream), each file's
/// content is read, and hashed, as it passes.
///
/// A stream that ends right after its last entry's content, without the padding to a
/// block and the end-of-archive blocks, is complete (the docker CLI sends such tars when it
/// adds a Dockerfile given with `-f -`): every entry's content was read whole by then.
fn index_entries<R: Read>(items: tar::Entries<'_, R>, len: Option<u64>, ended: Option<&std::sync::atomic::AtomicBool>) -> Result<BTreeMap<String, Entry>> {
    let read_err = |source| Error::ReadContext { source };
    let mut entries = BTreeMap::new();
    entries.insert(String::new(), Entry::implied_dir());
    let mut buf = if len.is_none() { vec![0u8; CHUNK] } else { Vec::new() };
    {
        for item in items {
            let mut item = match item {
                Ok(item) => item,
                Err(e) if ended.is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed)) && e.to_string().contains("EOF during skip") => break,
                Err(e) => return Err(read_err(e)),
            };
            // Owners past the header's octal range come in PAX records (Go's archive/tar
            // writes them so); the header fields then hold a truncated value.
            let (mut pax_uid, mut pax_gid) = (None, None);
            if let Some(exts) = item.pax_extensions().map_err(read_err)? {
                for ext in exts {
                    let ext = ext.map_err(read_err)?;
                    let value = || {
                        std::str::from_utf8(ext.value_bytes())
                            .ok()?
                            .parse::<u64>()
                            .ok()
                    };
                    match ext.key_bytes() {
                        b"uid" => pax_uid = value(),
                        b"gid" => pax_gid = value(),
                        _ => {}
                    }
                }
            }
            // Owned: a streamed entry's content is read below, which needs `item` mutably.
            let raw = item.path_bytes().into_owned();
            let name = std::str::from_utf8(&raw).map_err(|_| Error::UnsafeEntry {
                entry: String::from_utf8_lossy(&raw).into_owned(),
                reason: "name is not UTF-8",
            })?;
            let unsafe_entry = |reason| Error::UnsafeEntry {
                entry: name.to_string(),
                reason,
            };
            let Some(path) =
                normalize(name).ok_or_else(|| unsafe_entry("path escapes the context"))?
            else {
                // `./` itself: the root is always there, and its own metadata is not copied.
                continue;
            };
            let header = item.header();
            let mut entry = Entry {
                kind: EntryKind::File,
                mode: header.mode().map_err(read_err)? & 0o7777,
                uid: match pax_uid {
                    Some(uid) => uid,
                    None => header.uid().map_err(read_err)?,
                },
                gid: match pax_gid {
                    Some(gid) => gid,
                    None => header.gid().map_err(read_err)?,
                },
                size: 0,
                mtime: header.mtime().map_err(read_err)?,
                offset: 0,
                implied: false,
                content_digest: OnceLock::new(),
            };
            let link = || {
                item.link_name_bytes()
                    .ok_or_else(|| unsafe_entry("link without a target"))
                    .and_then(|t| {
                        String::from_utf8(t.into_owned())
                            .map_err(|_| unsafe_entry("link target is not UTF-8"))
                    })
            };
            let kind = header.entry_type();
            if kind.is_file() || kind == tar::EntryType::Continuous {
                entry.size = item.size();
                entry.offset = item.raw_file_position();
                match len {
                    // Seeking skips content without reading it, so a truncated (or lying)
                    // tar is only noticed here, not at the first copy.
                    Some(len) => {
                        if entry.offset.checked_add(entry.size).is_none_or(|end| end > len) {
                            return Err(unsafe_entry("content runs past the end of the archive"));
                        }
                    }
                    None => {
                        let mut hasher = Sha256::new();
                        let mut read = 0u64;
                        loop {
                            match item.read(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => {
                                    hasher.update(&buf[..n]);
                                    read += n as u64;
                                }
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(source) => return Err(Error::ReadContext { source }),
                            }
                        }
                        if read != entry.size {
                            return Err(unsafe_entry("content runs past the end of the archive"));
                        }
                        let _ = entry.content_digest.set(hasher.finalize().into());
                    }
                }
            } else if kind.is_dir() {
                entry.kind = EntryKind::Dir;
            } else if kind.is_symlink() {
                entry.kind = EntryKind::Symlink(link()?);
            } else if kind.is_hard_link() {
                let target = normalize(&link()?)
                    .ok_or_else(|| unsafe_entry("hard link target escapes the context"))?
                    .ok_or_else(|| unsafe_entry("hard link to the context root"))?;
                let Some(t) = entries.get(&target).filter(|t: &&Entry| t.is_file()) else {
                    return Err(unsafe_entry(
                        "hard link to a file not earlier in the archive",
                    ));
                };
                entry.size = t.size;
                entry.offset = t.offset;
                // A link to a link is a link to the same file: name the file itself.
                entry.kind = match &t.kind {
                    EntryKind::Hardlink(first) => EntryKind::Hardlink(first.clone()),
                    _ => EntryKind::Hardlink(target),
                };
            } else if kind.is_gnu_sparse() {
                return Err(unsafe_entry("sparse files are not supported"));
            } else {
                // Devices, fifos and global headers have no place in a build context; the
                // client never sends them, so ignoring them loses nothing.
                continue;
            }
            insert(&mut entries, path, entry).map_err(unsafe_entry)?;
        }
    }
    Ok(entries)
}

fn spool(mut reader: impl Read, tmp_dir: &Path) -> Result<File> {
    let spool_err = |source| Error::Spool {
        path: tmp_dir.to_path_buf(),
        source,
    };
    let mut file = tempfile::tempfile_in(tmp_dir).map_err(spool_err)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(Error::ReadContext { source }),
        };
        file.write_all(&buf[..n]).map_err(spool_err)?;
    }
    Ok(file)
}

/// Normalizes an archived name: leading `/` and `./` go, `.` and `..` resolve lexically,
/// a trailing `/` goes. `None` when the name climbs out of the root; `Some(None)` for the
/// root itself.
fn normalize(name: &str) -> Option<Option<String>> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some((!parts.is_empty()).then(|| parts.join("/")))
}

/// A caller's path as an index key. Callers are trusted not to be hostile, but `..` above
/// the root still finds nothing rather than wrapping around to it.
fn lookup_key(path: &str) -> Option<String> {
    Some(normalize(path)?.unwrap_or_default())
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Adds an entry, implying missing parents and replacing what was there as extracting the
/// tar would: a later entry wins, and a non-directory replacing a directory takes its
/// contents with it.
fn insert(
    entries: &mut BTreeMap<String, Entry>,
    path: String,
    entry: Entry,
) -> Result<(), &'static str> {
    for (i, _) in path.match_indices('/') {
        match entries.get(&path[..i]) {
            Some(parent) if !parent.is_dir() => {
                // Through a symlink this would write outside the directory it claims to be
                // in; through a file it cannot be extracted at all.
                return Err("parent is not a directory");
            }
            Some(_) => {}
            None => {
                entries.insert(path[..i].to_string(), Entry::implied_dir());
            }
        }
    }
    match entries.get_mut(&path) {
        Some(old) if old.is_dir() && entry.is_dir() => {
            // A directory listed again (or after its children) keeps its children.
            *old = entry;
        }
        Some(old) if old.is_dir() => {
            let prefix = format!("{path}/");
            let doomed: Vec<String> = entries
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, _)| k.clone())
                .collect();
            for k in doomed {
                entries.remove(&k);
            }
            entries.insert(path, entry);
        }
        _ => {
            entries.insert(path, entry);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar entry for tests: name, kind, content or link target, mode, uid, mtime.
    struct Item<'a> {
        name: &'a str,
        kind: tar::EntryType,
        data: &'a [u8],
        mode: u32,
        uid: u64,
        mtime: u64,
    }

    fn item<'a>(name: &'a str, kind: tar::EntryType, data: &'a [u8]) -> Item<'a> {
        Item {
            name,
            kind,
            data,
            mode: 0o644,
            uid: 0,
            mtime: 1_700_000_000,
        }
    }

    fn file<'a>(name: &'a str, data: &'a [u8]) -> Item<'a> {
        item(name, tar::EntryType::Regular, data)
    }

    /// Builds a tar with raw header names, so hostile names (`../x`) get through as they
    /// would from a hostile client.
    fn tar_of(items: &[Item<'_>]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for it in items {
            let mut h = tar::Header::new_gnu();
            h.as_old_mut().name[..it.name.len()].copy_from_slice(it.name.as_bytes());
            h.set_entry_type(it.kind);
            h.set_mode(it.mode);
            h.set_uid(it.uid);
            h.set_gid(0);
            h.set_mtime(it.mtime);
            let is_link = matches!(it.kind, tar::EntryType::Symlink | tar::EntryType::Link);
            if is_link {
                h.set_link_name(std::str::from_utf8(it.data).unwrap())
                    .unwrap();
                h.set_size(0);
            } else {
                h.set_size(it.data.len() as u64);
            }
            h.set_cksum();
            let data: &[u8] = if is_link { &[] } else { it.data };
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn ctx(items: &[Item<'_>]) -> Result<Context> {
        let tmp = tempfile::tempdir().unwrap();
        Context::from_reader(&tar_of(items)[..], tmp.path())
    }

    fn sample() -> Context {
        use tar::EntryType::*;
        ctx(&[
            item("./", Directory, b""),
            item("./src/", Directory, b""),
            file("./src/main.rs", b"fn main() {}\n"),
            file("./src/lib.rs", b"// lib\n"),
            item("./src/link", Symlink, b"main.rs"),
            item("./src/hard", Link, b"./src/main.rs"),
            file("deep/er/file.txt", b"deep"),
            file("/README.md", b"# hi\n"),
            item("empty/", Directory, b""),
        ])
        .unwrap()
    }

    #[test]
    fn a_streamed_context_is_the_same_context_with_its_digests_ready() {
        use tar::EntryType::*;
        let big = vec![7u8; 3 << 20];
        let items = [
            item("./", Directory, b""),
            file("./src/main.rs", b"fn main() {}\n"),
            item("./src/hard", Link, b"./src/main.rs"),
            item("./src/link", Symlink, b"main.rs"),
            file("big.bin", &big),
        ];
        let tmp = tempfile::tempdir().unwrap();
        let in_place = Context::from_reader(&tar_of(&items)[..], tmp.path()).unwrap();
        let streamed = Context::from_stream(&tar_of(&items)[..], tempfile::tempfile().unwrap()).unwrap();
        let big = streamed.get("big.bin").unwrap();
        assert!(big.content_digest.get().is_some(), "hashed while streamed");
        assert_eq!(streamed.read_file("big.bin").unwrap().unwrap().len(), 3 << 20);
        assert_eq!(streamed.read_file("src/hard").unwrap().unwrap(), b"fn main() {}\n");
        for p in ["", "src", "big.bin", "src/link"] {
            assert_eq!(streamed.checksum(p).unwrap(), in_place.checksum(p).unwrap(), "{p}");
        }
        // A stream cut short is refused, not indexed short.
        let whole = tar_of(&items);
        let cut = &whole[..whole.len() - 1024 - (1 << 20)];
        assert!(Context::from_stream(cut, tempfile::tempfile().unwrap()).is_err());
        // In chunks of odd sizes, kept in memory: the same context again.
        let chunks: Vec<bytes::Bytes> = whole.chunks(777).map(bytes::Bytes::copy_from_slice).collect();
        let mut it = chunks.into_iter();
        let c = Context::from_chunks(|| it.next(), || tempfile::tempfile()).unwrap();
        assert!(matches!(c.file, Store::Chunks { .. }));
        assert_eq!(c.read_file("big.bin").unwrap().unwrap(), vec![7u8; 3 << 20]);
        for p in ["", "src", "big.bin", "src/link"] {
            assert_eq!(c.checksum(p).unwrap(), in_place.checksum(p).unwrap(), "{p}");
        }
        // Without its end-of-archive blocks (as the docker CLI sends some) it is whole.
        let c = Context::from_stream(&whole[..whole.len() - 1024], tempfile::tempfile().unwrap()).unwrap();
        assert_eq!(c.checksum("").unwrap(), in_place.checksum("").unwrap());
    }

    #[test]
    fn indexes_and_reads_in_place() {
        let c = sample();
        let main = c.get("src/main.rs").unwrap();
        assert_eq!(main.kind, EntryKind::File);
        assert_eq!(main.mode, 0o644);
        assert_eq!(main.size, 13);
        assert_eq!(
            c.read_file("./src/main.rs").unwrap().unwrap(),
            b"fn main() {}\n"
        );
        assert_eq!(c.read_file("/README.md").unwrap().unwrap(), b"# hi\n");
        assert_eq!(
            c.get("src/link").unwrap().kind,
            EntryKind::Symlink("main.rs".into())
        );
        let hard = c.get("src/hard").unwrap();
        assert_eq!(hard.kind, EntryKind::Hardlink("src/main.rs".into()));
        assert_eq!(c.read_file("src/hard").unwrap().unwrap(), b"fn main() {}\n");
        assert!(c.read_file("src").unwrap().is_none());
        assert!(c.read_file("missing").unwrap().is_none());
        assert!(c.get("empty").unwrap().is_dir());

        // Parents nobody listed are directories all the same.
        let implied = c.get("deep/er").unwrap();
        assert!(implied.is_dir() && implied.implied && implied.mode == 0o755);
        assert!(c.get("").unwrap().is_dir());
        assert!(c.get(".").unwrap().is_dir());
    }

    #[test]
    fn children_walk_and_glob() {
        let c = sample();
        let names: Vec<&str> = c.children("src").map(|(n, _)| n).collect();
        assert_eq!(names, ["hard", "lib.rs", "link", "main.rs"]);
        let top: Vec<&str> = c.children(".").map(|(n, _)| n).collect();
        assert_eq!(top, ["README.md", "deep", "empty", "src"]);
        let all: Vec<&str> = c.walk("deep").map(|(p, _)| p).collect();
        assert_eq!(all, ["deep/er", "deep/er/file.txt"]);

        assert_eq!(c.glob("src/*.rs").unwrap(), ["src/lib.rs", "src/main.rs"]);
        assert_eq!(c.glob("*/*/*.txt").unwrap(), ["deep/er/file.txt"]);
        assert_eq!(c.glob("*.md").unwrap(), ["README.md"]);
        assert_eq!(c.glob("/src/l[a-i]*").unwrap(), ["src/lib.rs", "src/link"]);
        assert_eq!(c.glob("src/main.rs").unwrap(), ["src/main.rs"]);
        assert!(c.glob("*.rs").unwrap().is_empty());
        assert!(c.glob("src/main.rs/x").unwrap().is_empty());
        assert!(c.glob("src/[").is_err());
    }

    #[test]
    fn resolve_follows_links_inside_the_context() {
        use tar::EntryType::*;
        let c = ctx(&[
            file("real/f", b"x"),
            item("rel", Symlink, b"real"),
            item("abs", Symlink, b"/real/f"),
            item("up", Symlink, b"../../../real"),
            item("chain", Symlink, b"rel/../abs"),
            item("loop1", Symlink, b"loop2"),
            item("loop2", Symlink, b"loop1"),
        ])
        .unwrap();
        assert_eq!(c.resolve("rel/f").unwrap().as_deref(), Some("real/f"));
        assert_eq!(c.resolve("abs").unwrap().as_deref(), Some("real/f"));
        assert_eq!(c.resolve("up/f").unwrap().as_deref(), Some("real/f"));
        assert_eq!(c.resolve("chain").unwrap().as_deref(), Some("real/f"));
        assert_eq!(c.resolve(".").unwrap().as_deref(), Some(""));
        assert_eq!(c.resolve("rel/missing").unwrap(), None);
        assert!(matches!(c.resolve("loop1"), Err(Error::Resolve { .. })));
    }

    #[test]
    fn pax_owners() {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("uid", &b"3000000000"[..]), ("gid", &b"42"[..])])
            .unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_mode(0o600);
        b.append_data(&mut h, "big-uid", &b"x"[..]).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let c = Context::from_reader(&b.into_inner().unwrap()[..], tmp.path()).unwrap();
        let e = c.get("big-uid").unwrap();
        assert_eq!((e.uid, e.gid, e.mode), (3_000_000_000, 42, 0o600));
    }

    #[test]
    fn hostile_paths_are_rejected() {
        use tar::EntryType::*;
        for name in ["../evil", "a/../../evil", "./../evil", "/../evil"] {
            let err = ctx(&[file(name, b"x")]).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::UnsafeEntry { .. }), "{msg}");
            assert!(msg.contains(name), "{msg}");
        }
        // Resolving lexically inside the root is fine.
        let c = ctx(&[file("a/../b", b"x")]).unwrap();
        assert!(c.get("b").is_some() && c.get("a").is_none());

        assert!(ctx(&[item("h", Link, b"../etc/passwd")]).is_err());
        assert!(ctx(&[item("h", Link, b"missing")]).is_err());
        // Writing through a symlinked directory would land outside the context.
        assert!(ctx(&[item("l", Symlink, b"/etc"), file("l/passwd", b"x")]).is_err());
    }

    #[test]
    fn truncated_archive_is_rejected() {
        let big = vec![1u8; 4096];
        let tar = tar_of(&[file("a", b"a"), file("big", &big)]);
        let tmp = tempfile::tempdir().unwrap();
        let err = Context::from_reader(&tar[..2048], tmp.path()).unwrap_err();
        assert!(err.to_string().contains("big"), "{err}");
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        use tar::EntryType::*;
        let c = ctx(&[
            file("d/x", b"1"),
            file("f", b"old"),
            file("f", b"new"),
            item("d", Regular, b"now a file"),
        ])
        .unwrap();
        assert_eq!(c.read_file("f").unwrap().unwrap(), b"new");
        assert_eq!(c.read_file("d").unwrap().unwrap(), b"now a file");
        assert!(c.get("d/x").is_none());

        // A directory listed after its children keeps them and takes its own metadata.
        let mut d = item("d/", Directory, b"");
        d.mode = 0o700;
        let c = ctx(&[file("d/x", b"1"), d]).unwrap();
        assert_eq!(c.get("d").unwrap().mode, 0o700);
        assert!(c.get("d/x").is_some());
    }

    #[test]
    fn compressed_and_file_contexts() {
        use flate2::write::GzEncoder;
        let tar = tar_of(&[file("a/b", b"hello")]);
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let tmp = tempfile::tempdir().unwrap();

        let c = Context::from_reader(&gz[..], tmp.path()).unwrap();
        assert_eq!(c.read_file("a/b").unwrap().unwrap(), b"hello");

        for bytes in [&gz, &tar] {
            let mut f = tempfile::tempfile_in(tmp.path()).unwrap();
            f.write_all(bytes).unwrap();
            // The position is left at the end: indexing must not depend on it.
            let c = Context::from_file(f, tmp.path()).unwrap();
            assert_eq!(c.read_file("a/b").unwrap().unwrap(), b"hello");
        }
    }

    #[test]
    fn concurrent_readers() {
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let c = ctx(&[file("big", &big), file("small", b"s")]).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut out = Vec::new();
                    c.open(c.get("big").unwrap()).read_to_end(&mut out).unwrap();
                    assert_eq!(out, big);
                });
            }
        });
    }

    #[test]
    fn apply_ignore_drops_excluded_and_keeps_exceptions() {
        let mut c = ctx(&[
            file(".dockerignore", b"vendor\n!vendor/keep\n*.log\n"),
            file("vendor/x", b"x"),
            file("vendor/keep/y", b"y"),
            file("a.log", b"l"),
            file("src/a.log", b"l"),
            file("src/h", b"h"),
            item("h2", tar::EntryType::Link, b"a.log"),
        ])
        .unwrap();
        let text = c.read_file(".dockerignore").unwrap().unwrap();
        let ignore = Ignore::parse(std::str::from_utf8(&text).unwrap()).unwrap();
        c.apply_ignore(&ignore);
        assert!(c.get("vendor/x").is_none());
        assert!(c.get("a.log").is_none());
        assert!(c.get("src/a.log").is_some());
        assert_eq!(c.read_file("vendor/keep/y").unwrap().unwrap(), b"y");
        assert!(c.get("vendor").unwrap().implied);
        // The link outlived its first name, and became the file.
        assert_eq!(c.get("h2").unwrap().kind, EntryKind::File);
        assert_eq!(c.read_file("h2").unwrap().unwrap(), b"l");
    }

    #[test]
    fn checksum_tracks_content_mode_owner_not_mtime() {
        let sum = |data: &[u8], mode: u32, uid: u64, mtime: u64, name: &str| {
            let mut f = file(name, data);
            f.mode = mode;
            f.uid = uid;
            f.mtime = mtime;
            let c = ctx(&[file("dir/a", b"a"), f]).unwrap();
            (c.checksum("dir").unwrap(), c.checksum("dir/b").ok())
        };
        let base = sum(b"content", 0o644, 0, 1, "dir/b");
        assert_eq!(base, sum(b"content", 0o644, 0, 1, "dir/b"), "stable");
        assert_eq!(
            base,
            sum(b"content", 0o644, 0, 999, "dir/b"),
            "mtime ignored"
        );
        for other in [
            sum(b"contenT", 0o644, 0, 1, "dir/b"),
            sum(b"content", 0o755, 0, 1, "dir/b"),
            sum(b"content", 0o4644, 0, 1, "dir/b"),
            sum(b"content", 0o644, 1000, 1, "dir/b"),
        ] {
            assert_ne!(base.0, other.0);
            assert_ne!(base.1, other.1);
        }
        assert_ne!(
            base.0,
            sum(b"content", 0o644, 0, 1, "dir/c").0,
            "names count"
        );

        let c = sample();
        assert_eq!(c.checksum("src").unwrap(), c.checksum("./src/").unwrap());
        assert_ne!(c.checksum("src").unwrap(), c.checksum("").unwrap());
        // Cached digests give the same answer.
        assert_eq!(c.checksum("src").unwrap(), c.checksum("src").unwrap());
        assert!(matches!(c.checksum("nope"), Err(Error::NotFound(_))));

        // A symlink's target is part of it.
        use tar::EntryType::Symlink;
        let l1 = ctx(&[item("l", Symlink, b"a")])
            .unwrap()
            .checksum("l")
            .unwrap();
        let l2 = ctx(&[item("l", Symlink, b"b")])
            .unwrap()
            .checksum("l")
            .unwrap();
        assert_ne!(l1, l2);
        // The same file content hashes as sha256 underneath: digest of the content alone.
        let c = ctx(&[file("f", b"abc")]).unwrap();
        let d = c.content_digest(c.get("f").unwrap(), "f").unwrap();
        assert_eq!(
            hex::encode(d),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
