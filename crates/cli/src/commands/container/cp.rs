//! `berth cp [-a] [-L] CONTAINER:SRC DEST|-` and `berth cp [-a] [-L] SRC|- CONTAINER:DEST`.
//!
//! Out of a container: `GET /containers/{id}/archive?path=SRC` (a tar whose entries start
//! with SRC's base name, and the stat in `X-Docker-Container-Path-Stat`), extracted here
//! under the name `cp -r` would give (into DEST when it is a directory, else as DEST;
//! `SRC/.` copies the contents), or written as is to stdout for `-`.
//! Into a container: `HEAD …/archive?path=DEST` tells whether DEST is a directory; the
//! tar is built here with the entries named accordingly and sent with
//! `PUT …/archive?path=DIR&noOverwriteDirNonDir=true` (stdin as is for `-`).
//! "Successfully copied N to …" goes to stderr when it is a terminal, as docker's.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use berth_api_client::stream::next_chunk;
use berth_api_client::Body;

use crate::commands::Context;
use crate::error::CliError;
use crate::format::units;
use crate::stdio::pipe::{ChannelReader, ChannelWriter};

const CX: &str = "cp";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "SRC")]
    pub src: String,
    #[arg(value_name = "DEST")]
    pub dest: String,
}

/// `CONTAINER:PATH`, or a local path (anything starting with `/` or `.`, or without `:`).
pub fn split_operand(s: &str) -> Option<(&str, &str)> {
    if s.starts_with('/') || s.starts_with('.') {
        return None;
    }
    s.split_once(':')
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    match (split_operand(&args.src), split_operand(&args.dest)) {
        (Some(_), Some(_)) => Err(CliError::usage(
            CX,
            "copying between containers is not supported",
        )),
        (None, None) => Err(CliError::usage(
            CX,
            "must specify at least one container source",
        )),
        (Some((c, p)), None) => copy_out(ctx, &args, c, p, &args.dest),
        (None, Some((c, p))) => copy_in(ctx, &args, &args.src, c, p),
    }
}

/// The file name a path ends with, `/.` meaning "the contents".
fn contents_only(p: &str) -> bool {
    p.ends_with("/.") || p == "."
}

/// Where an entry of the archive goes: its first component replaced by `root` (or
/// dropped, when `root` is empty); `None` for entries that would escape.
pub fn rewrite(entry: &Path, root: &Path) -> Option<PathBuf> {
    let mut comps = entry
        .components()
        .filter(|c| !matches!(c, Component::CurDir));
    comps.next()?;
    let mut out = root.to_path_buf();
    for c in comps {
        match c {
            Component::Normal(n) => out.push(n),
            _ => return None,
        }
    }
    Some(out)
}

fn copy_out(
    ctx: &Context,
    args: &Args,
    container: &str,
    src: &str,
    dest: &str,
) -> Result<(), CliError> {
    let api = ctx.api(CX)?;
    let mut src_path = src.to_owned();
    if args.follow_link {
        let st = api
            .block(api.client.archive_stat(container, src))
            .map_err(|e| CliError::api(CX, e))?;
        if st.is_symlink() && !st.link_target.is_empty() {
            src_path = st.link_target.clone();
        }
    }
    if dest == "-" {
        return api.block(async {
            let (_, resp) = api
                .client
                .archive_get(container, &src_path)
                .await
                .map_err(|e| CliError::api(CX, e))?;
            let mut body = resp.into_body();
            let mut out = std::io::stdout().lock();
            while let Some(c) = next_chunk(&mut body)
                .await
                .map_err(|e| CliError::api(CX, e))?
            {
                out.write_all(&c).map_err(|e| CliError::failed(CX, e))?;
            }
            out.flush().map_err(|e| CliError::failed(CX, e))
        });
    }
    let dest_path = Path::new(dest);
    let dest_meta = std::fs::metadata(dest_path).ok();
    let (sender, reader) = ChannelReader::new();
    // Decided once the stat arrives; the extracting thread starts then.
    let result = api.block(async {
        let (stat, resp) = api
            .client
            .archive_get(container, &src_path)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let root: PathBuf = match &dest_meta {
            Some(m) if m.is_dir() => {
                if stat.is_dir() && contents_only(src) {
                    dest_path.to_path_buf()
                } else {
                    dest_path.join(&stat.name)
                }
            }
            Some(_) if stat.is_dir() => {
                return Err(CliError::failed(
                    CX,
                    format!("cannot copy a directory to a file: {dest}"),
                ));
            }
            Some(_) => dest_path.to_path_buf(),
            None => {
                if dest.ends_with('/') {
                    return Err(CliError::failed(
                        CX,
                        format!("destination directory {dest} does not exist"),
                    ));
                }
                let parent = dest_path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                if !parent.is_dir() {
                    return Err(CliError::failed(
                        CX,
                        format!("no such directory: {}", parent.display()),
                    ));
                }
                dest_path.to_path_buf()
            }
        };
        let archive_mode = args.archive;
        let extract = std::thread::spawn(move || extract(reader, &root, archive_mode));
        let mut body = resp.into_body();
        let mut total: u64 = 0;
        while let Some(c) = next_chunk(&mut body)
            .await
            .map_err(|e| CliError::api(CX, e))?
        {
            total += c.len() as u64;
            if sender.send(c).is_err() {
                break;
            }
        }
        drop(sender);
        let r = extract
            .join()
            .unwrap_or_else(|_| Err("extraction failed".into()));
        r.map_err(|e| CliError::failed(CX, e))?;
        Ok(total)
    })?;
    if !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!(
            "Successfully copied {} to {dest}",
            units::image_size(result)
        );
    }
    Ok(())
}

/// Unpacks the container's archive with its first component renamed to `root`.
fn extract(reader: ChannelReader, root: &Path, preserve_owner: bool) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(preserve_owner);
    archive.set_overwrite(true);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let Some(target) = rewrite(&path, root) else {
            continue;
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        entry
            .unpack(&target)
            .map_err(|e| format!("{}: {e}", target.display()))?;
    }
    Ok(())
}

fn copy_in(
    ctx: &Context,
    args: &Args,
    src: &str,
    container: &str,
    dest: &str,
) -> Result<(), CliError> {
    let api = ctx.api(CX)?;
    if src == "-" {
        let (tx, body) = Body::channel();
        std::thread::spawn(move || {
            let mut w = ChannelWriter::new(tx);
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut w);
        });
        return api
            .block(api.client.archive_put(container, dest, args.archive, body))
            .map_err(|e| CliError::api(CX, e));
    }
    let src_path = PathBuf::from(src);
    let meta = if args.follow_link {
        std::fs::metadata(&src_path)
    } else {
        std::fs::symlink_metadata(&src_path)
    }
    .map_err(|e| {
        CliError::failed(
            CX,
            format!("could not find the file {src} in the local filesystem: {e}"),
        )
    })?;
    let dest_stat = api.block(api.client.archive_stat(container, dest));
    let (dir, name): (String, Option<String>) = match dest_stat {
        Ok(st) if st.is_dir() => (
            dest.to_owned(),
            if meta.is_dir() && contents_only(src) {
                None
            } else {
                Some(base_name(&src_path))
            },
        ),
        Ok(_) if meta.is_dir() => {
            return Err(CliError::failed(
                CX,
                format!("cannot copy a directory to a file: {dest}"),
            ));
        }
        Ok(_) => split_dest(dest),
        Err(e) if e.is_not_found() => {
            if dest.ends_with('/') {
                return Err(CliError::failed(
                    CX,
                    format!("destination directory {dest} does not exist in the container"),
                ));
            }
            split_dest(dest)
        }
        Err(e) => return Err(CliError::api(CX, e)),
    };
    let (tx, body) = Body::channel();
    let follow = args.follow_link;
    let size = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = size.clone();
    let builder = std::thread::spawn(move || -> std::io::Result<()> {
        let w = CountingWriter {
            inner: ChannelWriter::new(tx),
            count: counted,
        };
        let mut b = tar::Builder::new(w);
        b.follow_symlinks(follow);
        match &name {
            Some(n) if meta.is_dir() => b.append_dir_all(n, &src_path)?,
            Some(n) => b.append_path_with_name(&src_path, n)?,
            None => b.append_dir_all(".", &src_path)?,
        }
        b.finish()
    });
    let put = api.block(api.client.archive_put(container, &dir, args.archive, body));
    let built = builder
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("archive failed")));
    put.map_err(|e| CliError::api(CX, e))?;
    built.map_err(|e| CliError::failed(CX, e))?;
    if !args.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let n = size.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "Successfully copied {} to {container}:{dest}",
            units::image_size(n)
        );
    }
    Ok(())
}

struct CountingWriter {
    inner: ChannelWriter,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn base_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".to_owned())
}

/// `/a/b` → (`/a`, `b`): the directory to extract in and the name to give.
fn split_dest(dest: &str) -> (String, Option<String>) {
    let trimmed = dest.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some(("", name)) => ("/".to_owned(), Some(name.to_owned())),
        Some((dir, name)) => (dir.to_owned(), Some(name.to_owned())),
        None => (".".to_owned(), Some(trimmed.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands() {
        assert_eq!(split_operand("web:/etc/hosts"), Some(("web", "/etc/hosts")));
        assert_eq!(split_operand("/tmp/x:y"), None);
        assert_eq!(split_operand("./a:b"), None);
        assert_eq!(split_operand("local"), None);
        assert_eq!(split_operand("-"), None);
    }

    #[test]
    fn entry_rewrites() {
        assert_eq!(
            rewrite(Path::new("etc/hosts"), Path::new("/out/x")),
            Some(PathBuf::from("/out/x/hosts"))
        );
        assert_eq!(
            rewrite(Path::new("etc"), Path::new("/out/x")),
            Some(PathBuf::from("/out/x"))
        );
        assert_eq!(
            rewrite(Path::new("./etc/a/b"), Path::new("/o")),
            Some(PathBuf::from("/o/a/b"))
        );
        assert_eq!(rewrite(Path::new("etc/../../x"), Path::new("/o")), None);
        assert_eq!(split_dest("/tmp/new"), ("/tmp".into(), Some("new".into())));
        assert_eq!(split_dest("/new"), ("/".into(), Some("new".into())));
        assert!(contents_only("/etc/."));
    }
}
