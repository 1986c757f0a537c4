//! The build context as the docker CLI sends it: a directory as a tar less what its
//! `.dockerignore` excludes (the Dockerfile and the ignore file always in), a tar or a lone
//! Dockerfile from standard input, a Dockerfile from outside the context (or `-f -`) added
//! under a name of its own.

use std::io::{self, Read};
use std::path::Path;

use super::{Args, CX};
use crate::error::CliError;

/// The context as a tar, and the Dockerfile's name in it when not the default.
/// What is sent: a tar already in memory (from standard input), or a directory, tarred
/// while it is sent.
pub enum Upload {
    Bytes(Vec<u8>),
    Dir {
        dir: std::path::PathBuf,
        ignore: berth_build::context::Ignore,
        dockerfile: String,
        /// A Dockerfile from elsewhere, sent first under the name `dockerfile`.
        extra: Option<Vec<u8>>,
    },
}

impl Upload {
    /// Writes the tar into `out` (for a directory, as it reads the files).
    pub fn write(self, mut out: impl io::Write) -> Result<(), CliError> {
        let fail = |e: &dyn std::fmt::Display| CliError::failed(CX, format!("unable to prepare context: {e}"));
        match self {
            Upload::Bytes(b) => out.write_all(&b).map_err(|e| fail(&e)),
            Upload::Dir { dir, ignore, dockerfile, extra } => {
                if let Some(text) = extra {
                    // One entry written by hand: the directory's tar follows in the same
                    // stream and ends it.
                    let mut h = file_header(text.len() as u64);
                    h.set_path(&dockerfile).map_err(|e| fail(&e))?;
                    h.set_cksum();
                    out.write_all(h.as_bytes()).map_err(|e| fail(&e))?;
                    out.write_all(&text).map_err(|e| fail(&e))?;
                    let pad = (512 - text.len() % 512) % 512;
                    out.write_all(&[0u8; 512][..pad]).map_err(|e| fail(&e))?;
                }
                berth_build::context::tar_dir(&dir, &ignore, &[dockerfile.as_str(), ".dockerignore"], out).map(drop).map_err(|e| fail(&e))
            }
        }
    }
}

pub fn context_tar(args: &Args) -> Result<(Upload, Option<String>), CliError> {
    let stdin_dockerfile = args.file.as_deref() == Some("-");
    if args.context == "-" {
        if stdin_dockerfile {
            return Err(CliError::usage(CX, "invalid argument: can't use stdin for both build context and dockerfile"));
        }
        let mut input = Vec::new();
        io::stdin().read_to_end(&mut input).map_err(|e| CliError::failed(CX, format!("read standard input: {e}")))?;
        if is_archive(&input) {
            return Ok((Upload::Bytes(input), args.file.clone()));
        }
        // A lone Dockerfile: the context is empty but for it.
        return Ok((Upload::Bytes(one_file_tar("Dockerfile", &input)?), None));
    }
    let dir = Path::new(&args.context);
    if !dir.is_dir() {
        return Err(CliError::failed(CX, format!("unable to prepare context: path {:?} not found", args.context)));
    }
    let ignore = berth_build::context::read_ignore(dir).map_err(|e| CliError::failed(CX, e))?;
    let (dockerfile, extra) = match &args.file {
        Some(_) if stdin_dockerfile => {
            let mut text = Vec::new();
            io::stdin().read_to_end(&mut text).map_err(|e| CliError::failed(CX, format!("read Dockerfile from standard input: {e}")))?;
            (format!(".dockerfile.{}", berth_build::step::root::random_id()), Some(text))
        }
        Some(f) => {
            let path = Path::new(f);
            let abs = std::fs::canonicalize(path).map_err(|e| CliError::failed(CX, format!("unable to prepare context: the Dockerfile ({f}) cannot be read: {e}")))?;
            let root = std::fs::canonicalize(dir).map_err(|e| CliError::failed(CX, format!("unable to prepare context: {}: {e}", dir.display())))?;
            match abs.strip_prefix(&root) {
                Ok(rel) => (rel.to_string_lossy().into_owned(), None),
                // Outside the context: sent inside it under a name of its own, as docker does.
                Err(_) => {
                    let text = std::fs::read(&abs).map_err(|e| CliError::failed(CX, format!("read {f}: {e}")))?;
                    (format!(".dockerfile.{}", berth_build::step::root::random_id()), Some(text))
                }
            }
        }
        None => ("Dockerfile".to_owned(), None),
    };
    let name = (dockerfile != "Dockerfile").then(|| dockerfile.clone());
    Ok((Upload::Dir { dir: dir.to_owned(), ignore, dockerfile, extra }, name))
}

fn is_archive(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b]) || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || (b.len() >= 262 && &b[257..262] == b"ustar")
}

fn file_header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    h.set_entry_type(tar::EntryType::Regular);
    h
}

fn one_file_tar(name: &str, content: &[u8]) -> Result<Vec<u8>, CliError> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = file_header(content.len() as u64);
    b.append_data(&mut h, name, content).map_err(|e| CliError::failed(CX, format!("add {name} to the context: {e}")))?;
    b.into_inner().map_err(|e| CliError::failed(CX, format!("add {name} to the context: {e}")))
}
