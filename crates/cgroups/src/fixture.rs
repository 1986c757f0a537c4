//! Fixtures for the tests that use this machine's real cgroupfs. They skip
//! (with a note on stderr) unless run as root on a host with cgroups, and
//! always clean up: children are thawed, killed and reaped and the cgroups
//! removed on drop, also when the test fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use crate::cgroup::Cgroup;
use crate::error::Result;
use crate::layout::Host;
use crate::{teardown, v2};

pub(crate) fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "berth-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn usable_host(tag: &str) -> Option<Host> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping {tag}: needs root");
        return None;
    }
    match Host::load() {
        Ok(h) => Some(h),
        Err(e) => {
            eprintln!("skipping {tag}: {e}");
            None
        }
    }
}

/// A container cgroup on the real host (beneath the test's own cgroup).
pub(crate) struct RealCgroup {
    pub cg: Cgroup,
    children: Vec<Child>,
}

pub(crate) fn real_cgroup(tag: &str) -> Option<RealCgroup> {
    let host = usable_host(tag)?;
    let cg = Cgroup::resolve_in(&host, None, &unique(tag), false).unwrap();
    let rc = RealCgroup {
        cg,
        children: Vec::new(),
    };
    rc.cg.create().unwrap(); // on panic, drop removes what was created
    Some(rc)
}

impl RealCgroup {
    /// Starts a long-sleeping child and moves it into the cgroup.
    pub(crate) fn sleeper(&mut self) -> i32 {
        let child = Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        self.children.push(child);
        self.cg.add_pid(pid).unwrap();
        pid
    }

    pub(crate) fn kill_children(&mut self) {
        // A v1-frozen task cannot act on SIGKILL until thawed.
        let _ = self.cg.thaw();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for RealCgroup {
    fn drop(&mut self) {
        self.kill_children();
        let destroyed = self.cg.destroy();
        let left = self.cg.exists();
        if std::thread::panicking() {
            if destroyed.is_err() || left {
                eprintln!("cleanup of {:?} failed: {destroyed:?}", self.cg);
            }
        } else {
            destroyed.unwrap();
            assert!(!left, "cgroup left behind: {:?}", self.cg);
        }
    }
}

/// A bare cgroup2 directory beneath the test's own cgroup2 cgroup.
pub(crate) struct UnifiedScratch {
    dir: PathBuf,
}

pub(crate) fn real_unified(tag: &str) -> Option<UnifiedScratch> {
    let host = usable_host(tag)?;
    let Some(u) = host.unified() else {
        eprintln!("skipping {tag}: no cgroup2 mount");
        return None;
    };
    let own = u.own.clone().unwrap_or_else(|| "/".into());
    let below = own.strip_prefix(&u.mount_root).unwrap_or(Path::new(""));
    let dir = u.mount_point.join(below).join(unique(tag));
    let s = UnifiedScratch { dir };
    v2::create(&u.mount_point, &s.dir).unwrap();
    Some(s)
}

impl UnifiedScratch {
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for UnifiedScratch {
    fn drop(&mut self) {
        let mut errors = Vec::new();
        teardown::remove_tree(
            &self.dir,
            Instant::now() + teardown::EBUSY_BUDGET,
            &mut errors,
        );
        if !std::thread::panicking() {
            assert!(errors.is_empty() && !self.dir.exists(), "{errors:?}");
        }
    }
}

#[derive(Debug)]
pub(crate) struct Output {
    pub stdout: String,
    pub stderr: String,
    pub success: bool,
}

/// Runs `sh -c script` after `place` has put it into a cgroup: the script
/// should start with `read _`, which returns once placement is done.
pub(crate) fn run_in(script: &str, place: impl FnOnce(u32) -> Result<()>) -> Output {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Err(e) = place(child.id()) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("placing the child: {e}");
    }
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"go\n");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Output {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        success: out.status.success(),
    }
}

/// A long-sleeping child process, killed and reaped on drop.
pub(crate) struct Sleeper(Child);

impl Sleeper {
    pub(crate) fn spawn() -> Sleeper {
        Sleeper(Command::new("sleep").arg("600").stdin(Stdio::null()).spawn().unwrap())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
