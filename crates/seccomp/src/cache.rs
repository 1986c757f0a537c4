//! A cache of compiled filters on disk, keyed by the profile itself.
//!
//! Compiling Docker's default profile through libseccomp takes 10–18 ms on this kind of
//! machine: the largest single cost of starting a container, paid again for every `exec`.
//! Engines give nearly every container the same profile, so the BPF program is kept in
//! the runtime's state directory (a tmpfs, cleared at boot, so the kernel — whose flags
//! `compile` checks — cannot have changed) and read back in microseconds.
//!
//! Key: SHA-256 of the profile's JSON (serde's, field order fixed by the type) and the
//! libseccomp version. Profiles with a notify listener are not cached (they carry paths
//! and metadata that are not part of the program). A damaged or foreign file is ignored
//! and rewritten; files are written to a temp name and renamed, so readers never see
//! half a program.

use std::fs;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::compile::{compile, Filter};
use crate::load::KernelFlags;
use crate::Error;

const MAGIC: &[u8; 8] = b"BSECCMP1";

fn key(s: &oci_spec::runtime::LinuxSeccomp) -> Option<String> {
    let json = serde_json::to_vec(s).ok()?;
    let v = libseccomp::ScmpVersion::current().ok()?;
    let mut h = Sha256::new();
    h.update(&json);
    h.update(format!("libseccomp {}.{}.{}", v.major, v.minor, v.micro).as_bytes());
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn encode(f: &Filter) -> Vec<u8> {
    let (bits, wait_killable) = f.flags.raw();
    let mut out = Vec::with_capacity(24 + f.program.len() * 8);
    out.extend_from_slice(MAGIC);
    // c_ulong is u64 here, u32 on 32-bit targets: the file has 64 bits either way.
    #[allow(clippy::useless_conversion)]
    out.extend_from_slice(&u64::from(bits).to_le_bytes());
    out.push(u8::from(wait_killable));
    out.extend_from_slice(&(f.program.len() as u32).to_le_bytes());
    for i in &f.program {
        out.extend_from_slice(&i.code.to_le_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_le_bytes());
    }
    out
}

fn decode(b: &[u8]) -> Option<Filter> {
    let rest = b.strip_prefix(MAGIC)?;
    let bits = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    let wait_killable = *rest.get(8)? != 0;
    let n = u32::from_le_bytes(rest.get(9..13)?.try_into().ok()?) as usize;
    let body = rest.get(13..)?;
    if body.len() != n * 8 || n == 0 {
        return None;
    }
    let program = body
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_le_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    Some(Filter::from_parts(program, KernelFlags::from_raw(bits as libc::c_ulong, wait_killable)))
}

/// [`compile`], through the cache in `dir` (created if missing). Cache trouble never
/// fails the compile: it only costs the time the cache would have saved.
pub fn compile_cached(s: &oci_spec::runtime::LinuxSeccomp, dir: &Path) -> Result<Filter, Error> {
    if s.listener_path().is_some() {
        return compile(s);
    }
    let Some(key) = key(s) else { return compile(s) };
    let path = dir.join(&key);
    if let Some(f) = fs::read(&path).ok().and_then(|b| decode(&b)) {
        return Ok(f);
    }
    let f = compile(s)?;
    if f.uses_notify() {
        return Ok(f);
    }
    let _ = fs::create_dir_all(dir);
    let tmp = dir.join(format!(".{key}.{}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut file| file.write_all(&encode(&f)));
    if written.is_ok() {
        let _ = fs::rename(&tmp, &path);
    } else {
        let _ = fs::remove_file(&tmp);
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_filter_is_the_compiled_one() {
        let profile = crate::docker_default_profile();
        let dir = tempfile::tempdir().unwrap();
        let first = compile_cached(&profile, dir.path()).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "one cache file");
        let second = compile_cached(&profile, dir.path()).unwrap();
        assert_eq!(encode(&first), encode(&second));
        let fresh = compile(&profile).unwrap();
        assert_eq!(encode(&fresh), encode(&second), "the cache returns what compile returns");
    }

    #[test]
    fn a_damaged_cache_file_is_ignored() {
        let profile = crate::docker_default_profile();
        let dir = tempfile::tempdir().unwrap();
        let key = key(&profile).unwrap();
        fs::write(dir.path().join(&key), b"BSECCMP1garbage").unwrap();
        let f = compile_cached(&profile, dir.path()).unwrap();
        assert_eq!(encode(&f), encode(&compile(&profile).unwrap()));
        assert!(decode(&fs::read(dir.path().join(&key)).unwrap()).is_some(), "rewritten");
    }
}
