//! Links the `berth-shim` binary statically (static-pie) against glibc when the static
//! archives are installed, for a smaller resident set per shim: a dynamically linked
//! shim maps ld.so, libc.so and libgcc_s.so and touches a good part of their pages at
//! start-up (symbol resolution with `-z now`, fault-around), which is most of its RSS.
//!
//! rustc has no per-binary switch for `+crt-static` (it is a target feature, set for a
//! whole build through RUSTFLAGS), and this must not change how the rest of the workspace
//! links. So: a directory holding only the static archives (`libgcc_s.a` being
//! `libgcc_eh.a`) is put first on the linker's search path of this binary alone, where
//! `-lc`, `-lgcc_s`, ... find an archive before any shared library, and `-static-pie`
//! selects the static start files. Test binaries and the library stay as they are.
//!
//! Set `BERTH_SHIM_DYNAMIC=1` to link dynamically; missing archives do the same.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=BERTH_SHIM_DYNAMIC");
    if env::var_os("BERTH_SHIM_DYNAMIC").is_some() {
        return;
    }
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if os != "linux" || target_env != "gnu" || features.split(',').any(|f| f == "crt-static") {
        return; // musl and crt-static builds are static already; others: leave alone
    }
    let dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("static-libs");
    // `-l` names rustc passes for std and the libc crate on linux-gnu, and the archive
    // each must resolve to.
    let archives = [
        ("libc.a", "libc.a"),
        ("libgcc_s.a", "libgcc_eh.a"),
        ("libutil.a", "libutil.a"),
        ("librt.a", "librt.a"),
        ("libpthread.a", "libpthread.a"),
        ("libm.a", "libm.a"),
        ("libdl.a", "libdl.a"),
    ];
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    for (name, archive) in archives {
        let Some(path) = find_archive(archive) else {
            println!("cargo:warning=berth-shim is linked dynamically: no {archive} found");
            return;
        };
        if std::os::unix::fs::symlink(&path, dir.join(name)).is_err() {
            return;
        }
    }
    if find_archive("rcrt1.o").is_none() {
        println!("cargo:warning=berth-shim is linked dynamically: no rcrt1.o (static-pie)");
        return;
    }
    println!("cargo:rustc-link-arg-bin=berth-shim=-L{}", dir.display());
    println!("cargo:rustc-link-arg-bin=berth-shim=-static-pie");
}

/// The C compiler's idea of where a library file is (`cc -print-file-name`).
fn find_archive(name: &str) -> Option<PathBuf> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(cc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    // Not found, it echoes the bare name back.
    (path.is_absolute() && Path::new(&path).exists()).then_some(path)
}
