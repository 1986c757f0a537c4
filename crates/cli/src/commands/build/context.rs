//! The build context as the docker CLI sends it: a directory as a tar less what its
//! `.dockerignore` excludes (the Dockerfile and the ignore file always in), a tar or a lone
//! Dockerfile from standard input, a Dockerfile from outside the context (or `-f -`) added
//! under a name of its own.

use std::io::{self, Read};
use std::path::Path;

use super::{Args, CX};
use crate::error::CliError;

/// The context as a tar, and the Dockerfile's name in it when not the default.
pub fn context_tar(args: &Args) -> Result<(Vec<u8>, Option<String>), CliError> {
    let stdin_dockerfile = args.file.as_deref() == Some("-");
    if args.context == "-" {
        if stdin_dockerfile {
            return Err(CliError::usage(CX, "invalid argument: can't use stdin for both build context and dockerfile"));
        }
        let mut input = Vec::new();
        io::stdin().read_to_end(&mut input).map_err(|e| CliError::failed(CX, format!("read standard input: {e}")))?;
        if is_archive(&input) {
            return Ok((input, args.file.clone()));
        }
        // A lone Dockerfile: the context is empty but for it.
        return Ok((one_file_tar("Dockerfile", &input)?, None));
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
    let mut tar = Vec::new();
    berth_build::context::tar_dir(dir, &ignore, &[dockerfile.as_str(), ".dockerignore"], &mut tar).map_err(|e| CliError::failed(CX, format!("unable to prepare context: {e}")))?;
    if let Some(text) = extra {
        tar = append_file(tar, &dockerfile, &text)?;
    }
    let name = (dockerfile != "Dockerfile").then_some(dockerfile);
    Ok((tar, name))
}

fn is_archive(b: &[u8]) -> bool {
    b.starts_with(&[0x1f, 0x8b]) || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) || (b.len() >= 262 && &b[257..262] == b"ustar")
}

fn one_file_tar(name: &str, content: &[u8]) -> Result<Vec<u8>, CliError> {
    append_file(Vec::new(), name, content)
}

/// `tar` with one more file: the two zero blocks that end an archive are cut off first.
fn append_file(mut tar: Vec<u8>, name: &str, content: &[u8]) -> Result<Vec<u8>, CliError> {
    while tar.len() >= 512 && tar[tar.len() - 512..].iter().all(|&b| b == 0) {
        tar.truncate(tar.len() - 512);
    }
    let mut b = tar::Builder::new(tar);
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, content).map_err(|e| CliError::failed(CX, format!("add {name} to the context: {e}")))?;
    b.into_inner().map_err(|e| CliError::failed(CX, format!("add {name} to the context: {e}")))
}
