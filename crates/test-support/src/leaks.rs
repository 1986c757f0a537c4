//! What a container can leave behind on the host: mounts, cgroups and processes.
//!
//! Tests run in parallel, so nothing here looks at the whole machine: every query takes
//! *needles* (container IDs, bundle or state paths) and only reports what mentions one.
//!
//! ```no_run
//! # use berth_test_support::leaks::{self, Snapshot};
//! # use std::time::Duration;
//! let needles = ["e2e-seq-4242-0007", "/tmp/berth-bundle-seq-AbCdEf"];
//! let before = Snapshot::take(&needles);
//! // ... run containers ...
//! leaks::assert_nothing_left(&before, &needles, Duration::from_secs(5));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fmt;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Everything on the host that mentions one of a set of needles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Lines of /proc/self/mountinfo.
    pub mounts: BTreeSet<String>,
    /// Cgroup directories in any hierarchy under /sys/fs/cgroup.
    pub cgroups: BTreeSet<PathBuf>,
    /// Live (non-zombie) processes other than ourselves: pid -> description.
    pub processes: BTreeMap<u32, String>,
}

impl Snapshot {
    pub fn take(needles: &[&str]) -> Snapshot {
        Snapshot {
            mounts: mounts(needles),
            cgroups: cgroups(needles),
            processes: processes(needles),
        }
    }

    /// What is in `self` but was not in `before`.
    pub fn since(&self, before: &Snapshot) -> Snapshot {
        Snapshot {
            mounts: self.mounts.difference(&before.mounts).cloned().collect(),
            cgroups: self.cgroups.difference(&before.cgroups).cloned().collect(),
            processes: self
                .processes
                .iter()
                .filter(|(pid, _)| !before.processes.contains_key(pid))
                .map(|(pid, what)| (*pid, what.clone()))
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.mounts.is_empty() && self.cgroups.is_empty() && self.processes.is_empty()
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.mounts {
            writeln!(f, "mount:   {m}")?;
        }
        for c in &self.cgroups {
            writeln!(f, "cgroup:  {}", c.display())?;
        }
        for (pid, what) in &self.processes {
            writeln!(f, "process: {pid} {what}")?;
        }
        Ok(())
    }
}

/// Waits up to `timeout` (processes take a moment to be reaped) until nothing that
/// mentions `needles` is left beyond `before`; fails the test with the list otherwise.
#[track_caller]
pub fn assert_nothing_left(before: &Snapshot, needles: &[&str], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = Snapshot::take(needles).since(before);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("left behind (matching {needles:?}):\n{left}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lines of /proc/self/mountinfo that contain a needle.
pub fn mounts(needles: &[&str]) -> BTreeSet<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|line| needles.iter().any(|n| line.contains(n)))
        .map(str::to_owned)
        .collect()
}

/// Cgroup directories (every v1 hierarchy and the cgroup2 mount) whose path below
/// /sys/fs/cgroup contains a needle.
pub fn cgroups(needles: &[&str]) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut stack = vec![PathBuf::from(CGROUP_ROOT)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // file_type() does not follow symlinks (cpu -> cpu,cpuacct style links)
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = entry.path();
            let rel = path
                .strip_prefix(CGROUP_ROOT)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if needles.iter().any(|n| rel.contains(n)) {
                found.insert(path.clone());
            }
            stack.push(path);
        }
    }
    found
}

/// Live processes (not zombies, not this test process) whose command line, root, cwd or
/// cgroup membership contains a needle, with a one-line description each.
pub fn processes(needles: &[&str]) -> BTreeMap<u32, String> {
    let mut found = BTreeMap::new();
    for (pid, p) in live_processes() {
        if needles.iter().any(|n| {
            p.cmdline.contains(n) || p.root.contains(n) || p.cwd.contains(n) || p.cgroup.contains(n)
        }) {
            found.insert(pid, p.describe());
        }
    }
    found
}

/// SIGKILLs every process (but this one) whose root or cwd is `dir` or below it, or
/// whose command line names `dir`: a test's containers and runtime commands.
pub fn kill_processes_using(dir: &Path) {
    let dir = dir.to_string_lossy();
    for _ in 0..20 {
        let victims: Vec<u32> = live_processes()
            .into_iter()
            .filter(|(_, p)| {
                mentions_path(&p.root, &dir)
                    || mentions_path(&p.cwd, &dir)
                    || mentions_path(&p.cmdline, &dir)
            })
            .map(|(pid, _)| pid)
            .collect();
        if victims.is_empty() {
            return;
        }
        for pid in victims {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Lazily unmounts every mount point at or below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let mut points: Vec<PathBuf> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        let Ok(c) = CString::new(point.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `haystack` contains the path `dir` itself or something below it (not merely a
/// longer name that starts the same, like `dir-2`).
fn mentions_path(haystack: &str, dir: &str) -> bool {
    haystack.match_indices(dir).any(|(at, _)| {
        matches!(
            haystack[at + dir.len()..].chars().next(),
            None | Some('/') | Some(' ') | Some('\0')
        )
    })
}

struct Proc {
    comm: String,
    cmdline: String,
    root: String,
    cwd: String,
    cgroup: String,
}

impl Proc {
    fn describe(&self) -> String {
        format!(
            "{} [{}] root={} cwd={}",
            self.comm,
            self.cmdline.trim_end(),
            self.root,
            self.cwd
        )
    }
}

fn live_processes() -> Vec<(u32, Proc)> {
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let base = entry.path();
        let Ok(stat) = fs::read_to_string(base.join("stat")) else {
            continue;
        };
        // "pid (comm) S ...": the state follows the last ')'
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        if matches!(state, Some('Z') | Some('X') | None) {
            continue;
        }
        let link = |name: &str| {
            fs::read_link(base.join(name))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let cmdline = fs::read(base.join("cmdline")).unwrap_or_default();
        out.push((
            pid,
            Proc {
                comm: fs::read_to_string(base.join("comm"))
                    .unwrap_or_default()
                    .trim_end()
                    .to_owned(),
                cmdline: String::from_utf8_lossy(&cmdline).replace('\0', " "),
                root: link("root"),
                cwd: link("cwd"),
                cgroup: fs::read_to_string(base.join("cgroup")).unwrap_or_default(),
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo(r"/tmp/a\040b\011c\134"), "/tmp/a b\tc\\");
        assert_eq!(unescape_mountinfo(r"/plain"), "/plain");
    }

    #[test]
    fn paths_match_only_at_component_boundaries() {
        assert!(mentions_path("/tmp/b-1", "/tmp/b-1"));
        assert!(mentions_path("/tmp/b-1/rootfs", "/tmp/b-1"));
        assert!(mentions_path("runc run --bundle /tmp/b-1 id", "/tmp/b-1"));
        assert!(!mentions_path("/tmp/b-12/rootfs", "/tmp/b-1"));
    }

    #[test]
    fn snapshot_sees_a_new_mount_and_process_and_forgets_them_when_gone() {
        let dir = tempfile::tempdir().unwrap();
        let needle = dir.path().to_str().unwrap().to_owned();
        let needles = [needle.as_str()];
        let before = Snapshot::take(&needles);
        assert!(before.is_empty(), "{before}");

        assert!(Command::new("mount")
            .args(["-t", "tmpfs", "leaktest"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success());
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let during = Snapshot::take(&needles).since(&before);
        assert_eq!(during.mounts.len(), 1, "{during}");
        assert!(during.processes.contains_key(&sleeper.id()), "{during}");
        assert!(
            during.processes[&sleeper.id()].starts_with("sleep [sleep 30]"),
            "{during}"
        );

        kill_processes_using(dir.path());
        unmount_under(dir.path());
        let _ = sleeper.wait();
        assert_nothing_left(&before, &needles, Duration::from_secs(5));
    }

    #[test]
    fn cgroup_dirs_are_found_by_name_in_any_hierarchy() {
        let name = format!("berth-leaktest-{}", std::process::id());
        let pids = Path::new(CGROUP_ROOT).join("pids"); // v1; on a cgroup2-only host use the root
        let dir = if pids.is_dir() {
            pids
        } else {
            PathBuf::from(CGROUP_ROOT)
        }
        .join(&name);
        fs::create_dir(&dir).unwrap();
        let found = cgroups(&[&name]);
        fs::remove_dir(&dir).unwrap();
        assert_eq!(found, BTreeSet::from([dir]));
        assert!(cgroups(&[&name]).is_empty());
    }
}
