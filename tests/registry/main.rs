//! The registry client end to end, against Debian's `docker-registry` (distribution 2.8)
//! running in each test's own network namespace (the daemon's), anonymous, behind htpasswd
//! basic auth, and behind token auth with the fixture's token server; pulls and pushes
//! driven through berthd by the berth CLI and the real docker CLI, and interop with
//! skopeo and podman.

mod auth;
mod interop;
mod library;
mod pull_push;

use berth_test_support::registry::Registry;
use berth_test_support::{Client, Daemon, Run};

pub use berth_test_support::both;

/// The digest a push printed (`TAG: digest: sha256:… size: N`).
pub fn pushed_digest(r: &Run) -> String {
    r.stdout
        .lines()
        .find_map(|l| l.split("digest: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in push output: {:?} {:?}", r.stdout, r.stderr))
        .to_owned()
}

/// The size a push printed.
pub fn pushed_size(r: &Run) -> u64 {
    r.stdout
        .lines()
        .find_map(|l| l.split("size: ").nth(1))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no size in push output: {:?}", r.stdout))
}

pub fn image_id(d: &Daemon, c: Client, name: &str) -> String {
    d.run(c, &["image", "inspect", "-f", "{{.Id}}", name]).ok().out().to_owned()
}

/// Makes a second, two-layer image `name` (busybox plus a file) by commit.
pub fn two_layer_image(d: &Daemon, c: Client, name: &str, marker: &str) {
    let ctr = format!("mk-{}", marker.replace(|ch: char| !ch.is_ascii_alphanumeric(), ""));
    d.run(c, &["run", "--name", &ctr, "busybox", "sh", "-c", &format!("echo {marker} > /marker")]).ok();
    d.run(c, &["commit", &ctr, name]).ok();
    d.run(c, &["rm", &ctr]).ok();
}

/// sha256 of bytes, via sha256sum of a temp file (the tests have no hashing crate).
pub fn sha256(bytes: &[u8]) -> String {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(f.path(), bytes).expect("write temp file");
    let out = std::process::Command::new("sha256sum").arg(f.path()).output().expect("sha256sum");
    format!("sha256:{}", String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or(""))
}

/// `skopeo` inside the registry's namespace; panics unless it succeeds.
pub fn skopeo(reg: &Registry, args: &[&str]) -> std::process::Output {
    let out = reg.command("skopeo").args(args).output().expect("run skopeo");
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}
