//! The busybox root filesystem every test bundle starts from.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Debian's `busybox-static` binary.
const BUSYBOX: &str = "/bin/busybox";
/// Bump when the layout built by [`populate`] changes, so old caches are not reused.
const LAYOUT: u32 = 1;

/// The shared busybox rootfs: built on first use in this process, then cached on disk
/// under [`fixtures_dir`] (keyed by the busybox version) for later test processes.
///
/// Never write into it: bundles take a copy (see [`crate::Bundle`]).
pub fn busybox_rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        let cache = fixtures_dir();
        build_busybox_rootfs(&cache, Path::new(BUSYBOX)).unwrap_or_else(|e| {
            panic!(
                "cannot build the busybox rootfs under {} from {BUSYBOX} \
                 (is busybox-static installed? are we root?): {e}",
                cache.display()
            )
        })
    })
}

/// Where fixtures are cached: `$BERTH_TEST_FIXTURES`, else `/tmp/berth-test-fixtures`.
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("BERTH_TEST_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/berth-test-fixtures"))
}

/// Returns `<cache>/busybox-<version>`, building it first if it is not there yet.
///
/// The rootfs is built in a temporary directory beside its final place and renamed into
/// place, so a concurrent builder either wins the rename or finds a complete rootfs.
pub fn build_busybox_rootfs(cache: &Path, busybox: &Path) -> io::Result<PathBuf> {
    let dest = cache.join(format!("busybox-{}", cache_key(busybox)?));
    if dest.join("bin/sh").symlink_metadata().is_ok() {
        return Ok(dest);
    }
    fs::create_dir_all(cache)?;
    let tmp = tempfile::Builder::new()
        .prefix(".building-busybox-")
        .tempdir_in(cache)?;
    populate(tmp.path(), busybox)?;
    match fs::rename(tmp.path(), &dest) {
        Ok(()) => {
            let _ = tmp.keep(); // it is `dest` now
            Ok(dest)
        }
        // Another process renamed its copy first: use that one, drop ours.
        Err(_) if dest.join("bin/sh").symlink_metadata().is_ok() => Ok(dest),
        Err(e) => Err(e),
    }
}

/// `v1.35.0_Debian_1_1.35.0-4_deb12u1_b1-1982256-L1`: busybox's own banner, its size,
/// and our layout version.
fn cache_key(busybox: &Path) -> io::Result<String> {
    let out = Command::new(busybox).output()?;
    let banner = String::from_utf8_lossy(&out.stdout);
    let first = banner.lines().next().unwrap_or_default();
    let version = first
        .trim_start_matches("BusyBox ")
        .split(" multi-call")
        .next()
        .unwrap_or_default();
    let version = version
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let size = fs::metadata(busybox)?.len();
    Ok(format!("{version}-{size}-L{LAYOUT}"))
}

/// Lays out a minimal rootfs in `root`: busybox and its applet links, users, /tmp.
fn populate(root: &Path, busybox: &Path) -> io::Result<()> {
    for dir in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "var/tmp",
        "root", "mnt",
    ] {
        fs::create_dir_all(root.join(dir))?;
    }
    fs::copy(busybox, root.join("bin/busybox"))?;
    chmod(&root.join("bin/busybox"), 0o755)?;

    // busybox installs its applet symlinks itself; in a chroot it cannot read
    // /proc/self/exe and uses argv[0] as the link target, hence the absolute path.
    // Exit 126 is ETXTBSY: another thread of this process forked while it had a copy of
    // busybox open for writing, and the child holds that descriptor until it execs (the
    // classic fork/exec race that O_CLOEXEC narrows but cannot close). It passes; retry.
    let mut status = Command::new("chroot").arg(root).args(["/bin/busybox", "--install", "-s"]).status()?;
    for _ in 0..20 {
        if status.code() != Some(126) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        status = Command::new("chroot").arg(root).args(["/bin/busybox", "--install", "-s"]).status()?;
    }
    if !status.success() {
        return Err(io::Error::other(format!(
            "chroot busybox --install -s: {status}"
        )));
    }

    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(root.join("etc/group"), "root:x:0:\nnobody:x:65534:\n")?;
    chmod(&root.join("tmp"), 0o1777)?;
    chmod(&root.join("var/tmp"), 0o1777)?;
    chmod(&root.join("root"), 0o700)?;
    // tempdirs start as 0700; a container in a user namespace must be able to enter /.
    chmod(root, 0o755)
}

fn chmod(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn build_in_temp_cache() -> (tempfile::TempDir, PathBuf) {
        let cache = tempfile::tempdir().unwrap();
        let rootfs = build_busybox_rootfs(cache.path(), Path::new(BUSYBOX)).unwrap();
        (cache, rootfs)
    }

    #[test]
    fn rootfs_has_busybox_applets_users_and_sticky_tmp() {
        let (_cache, rootfs) = build_in_temp_cache();

        assert_eq!(
            fs::read_link(rootfs.join("bin/sh")).unwrap(),
            Path::new("/bin/busybox")
        );
        for applet in [
            "bin/ls",
            "bin/mount",
            "bin/hostname",
            "usr/bin/id",
            "bin/sleep",
        ] {
            assert!(
                rootfs.join(applet).symlink_metadata().is_ok(),
                "{applet} missing"
            );
        }
        let passwd = fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
        assert!(passwd.starts_with("root:x:0:0:"));
        assert!(passwd.contains("\nnobody:x:65534:65534:"));
        let group = fs::read_to_string(rootfs.join("etc/group")).unwrap();
        assert!(group.contains("root:x:0:") && group.contains("nobody:x:65534:"));
        assert_eq!(
            fs::metadata(rootfs.join("tmp")).unwrap().mode() & 0o7777,
            0o1777
        );
        assert_eq!(fs::metadata(&rootfs).unwrap().mode() & 0o777, 0o755);
    }

    #[test]
    fn rootfs_shell_runs_in_a_chroot() {
        let (_cache, rootfs) = build_in_temp_cache();
        let out = Command::new("chroot")
            .arg(&rootfs)
            .args(["/bin/sh", "-c", "echo hello from $(id -un)"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello from root\n");
    }

    #[test]
    fn rootfs_cache_is_reused_and_safe_to_build_concurrently() {
        let cache = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| build_busybox_rootfs(cache.path(), Path::new(BUSYBOX))))
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap().unwrap())
                .collect()
        });
        assert!(paths.windows(2).all(|w| w[0] == w[1]), "{paths:?}");
        // exactly one rootfs left, no half-built temp dirs
        let entries: Vec<_> = fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(entries, vec![paths[0].clone()]);

        let stamp = fs::metadata(paths[0].join("bin/busybox"))
            .unwrap()
            .modified()
            .unwrap();
        let again = build_busybox_rootfs(cache.path(), Path::new(BUSYBOX)).unwrap();
        assert_eq!(again, paths[0]);
        assert_eq!(
            fs::metadata(again.join("bin/busybox"))
                .unwrap()
                .modified()
                .unwrap(),
            stamp
        );
    }

    #[test]
    fn cache_key_names_the_busybox_version() {
        let key = cache_key(Path::new(BUSYBOX)).unwrap();
        assert!(key.starts_with('v'), "{key}");
        assert!(key.ends_with(&format!("-L{LAYOUT}")), "{key}");
        assert!(!key.contains('/') && !key.contains(' '), "{key}");
    }
}
