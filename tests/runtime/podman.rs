//! Podman drives berth-runtime as its OCI runtime (through conmon), like it drives runc.
//!
//! Podman gets a private world in a temporary directory: its storage, run root, tmpdir,
//! network config, containers.conf/storage.conf/registries.conf (set up as in
//! /work/shared/peers/20-up.sh), and berth's state root. Containers run with
//! `--network none` (a network namespace with only lo, no netavark bridge) under a cgroup
//! parent of our own; everything is removed afterwards, on failure too.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth_test_support::{busybox_rootfs, leaks, runtime_binary};

use crate::WAIT;

const IMAGE: &str = "localhost/berth-busybox";

/// What a podman command did.
struct Done {
    cmdline: String,
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Done {
    #[track_caller]
    fn ok(self) -> Done {
        assert!(
            self.status.success(),
            "$ {}\nstatus: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.cmdline,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// What podman creates outside its private directories whatever its flags say (the image
/// blob info cache, netavark's run dir), deepest first. Whatever of it did not exist before
/// is removed afterwards: files by name, directories only if empty (another podman on the
/// machine may have started to use them meanwhile).
const PODMAN_SYSTEM_PATHS: [&str; 5] = [
    "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
    "/var/lib/containers/cache",
    "/var/lib/containers",
    "/run/containers/networks",
    "/run/containers",
];

/// A podman with all of its state in a temporary directory, using berth-runtime with a
/// private state root.
struct Podman {
    dir: tempfile::TempDir,
    /// `--cgroup-parent` of our containers (podman makes it, and conmon's cgroup below it).
    cgroup_parent: String,
    /// Which of [`PODMAN_SYSTEM_PATHS`] existed before we started.
    preexisting: Vec<bool>,
    logs: AtomicUsize,
}

impl Podman {
    /// `None` (with the reason printed) if podman is not installed.
    fn new() -> Option<Podman> {
        if Command::new("podman")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_or(true, |s| !s.success())
        {
            return None;
        }
        let preexisting = PODMAN_SYSTEM_PATHS
            .iter()
            .map(|p| Path::new(p).exists())
            .collect();
        let dir = tempfile::Builder::new()
            .prefix("berth-podman-")
            .tempdir()
            .expect("create podman dir");
        let p = dir.path();
        for sub in [
            "root",
            "runroot",
            "tmp",
            "networks",
            "berth-state",
            "bin",
            "logs",
        ] {
            fs::create_dir(p.join(sub)).unwrap();
        }
        let d = p.display();
        fs::write(
            p.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\nrunroot = \"{d}/runroot\"\ngraphroot = \"{d}/root\"\n\
                 [storage.options.overlay]\nmountopt = \"nodev\"\n"
            ),
        )
        .unwrap();
        // podman asks for RLIMIT_NOFILE=1048576 by default and lowers its own RLIMIT_NPROC
        // to 32768: without CAP_SYS_RESOURCE (as here) the runtime could not set either.
        let mut nofile = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we pass and nothing else.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut nofile) },
            0
        );
        let hard = nofile.rlim_max;
        fs::write(
            p.join("containers.conf"),
            format!(
                "[containers]\nlog_driver = \"k8s-file\"\n\
                 default_ulimits = [\"nofile={hard}:{hard}\", \"nproc=32768:32768\"]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 tmp_dir = \"{d}/tmp\"\nlock_type = \"file\"\n\
                 [network]\nnetwork_config_dir = \"{d}/networks\"\n"
            ),
        )
        .unwrap();
        fs::write(
            p.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();

        // podman forwards --runtime-flag to the commands it runs itself but not to the
        // `podman container cleanup` conmon runs when a container exits, which would then
        // `delete` with berth's default root and leave the container in ours: a wrapper
        // gives every invocation the private root.
        let wrapper = p.join("bin/berth-runtime");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec '{}' --root '{d}/berth-state' \"$@\"\n",
                runtime_binary().display()
            ),
        )
        .unwrap();
        fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();

        Some(Podman {
            cgroup_parent: format!("/berth-e2e-podman-{}", std::process::id()),
            dir,
            preexisting,
            logs: AtomicUsize::new(0),
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn runtime(&self) -> PathBuf {
        self.path().join("bin/berth-runtime")
    }

    fn berth_state(&self) -> PathBuf {
        self.path().join("berth-state")
    }

    /// `podman <private flags> ARGS...`, waited for at most `timeout`.
    fn run_for(&self, args: &[&str], timeout: Duration) -> Option<Done> {
        let p = self.path();
        let n = self.logs.fetch_add(1, Ordering::Relaxed);
        let out_path = p.join(format!("logs/{n}.stdout"));
        let err_path = p.join(format!("logs/{n}.stderr"));
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", p.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", p.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", p.join("registries.conf"))
            .arg("--root")
            .arg(p.join("root"))
            .arg("--runroot")
            .arg(p.join("runroot"))
            .arg("--tmpdir")
            .arg(p.join("tmp"))
            .arg("--network-config-dir")
            .arg(p.join("networks"))
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .arg("--runtime")
            .arg(self.runtime())
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&out_path).unwrap())
            .stderr(File::create(&err_path).unwrap());
        let cmdline = format!("{cmd:?}");
        let mut child = cmd.spawn().expect("start podman");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Some(Done {
            cmdline,
            status,
            stdout: fs::read_to_string(out_path).unwrap_or_default(),
            stderr: fs::read_to_string(err_path).unwrap_or_default(),
        })
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> Done {
        self.run_for(args, Duration::from_secs(60))
            .unwrap_or_else(|| panic!("podman {args:?} timed out"))
    }

    /// Removes every container, image, mount, process and cgroup of this podman.
    /// Idempotent; also run on drop.
    fn teardown(&self) {
        let long = Duration::from_secs(30);
        let _ = self.run_for(&["rm", "--all", "--force", "--time", "0"], long);
        let _ = self.run_for(&["rmi", "--all", "--force"], long);
        // whatever podman could not delete: the state root is ours alone
        if let Ok(entries) = fs::read_dir(self.berth_state()) {
            for entry in entries.flatten() {
                let _ = Command::new(runtime_binary())
                    .arg("--root")
                    .arg(self.berth_state())
                    .args(["delete", "--force"])
                    .arg(entry.file_name())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
        leaks::kill_processes_using(self.path());
        leaks::unmount_under(self.path());
        remove_cgroup_tree(&self.cgroup_parent);
        for (path, existed) in PODMAN_SYSTEM_PATHS.iter().zip(&self.preexisting) {
            if !existed {
                let _ = fs::remove_file(path).or_else(|_| fs::remove_dir(path));
            }
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// rmdir `path` (below the cgroup root) and everything below it, in every hierarchy.
fn remove_cgroup_tree(path: &str) {
    fn remove(dir: &Path) {
        if let Ok(entries) = fs::read_dir(dir) {
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    remove(&entry.path());
                }
            }
        }
        let _ = fs::remove_dir(dir);
    }
    let Ok(hierarchies) = fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in hierarchies.flatten() {
        if h.file_type().is_ok_and(|t| t.is_dir()) {
            remove(&h.path().join(path.trim_start_matches('/')));
        }
    }
    let root = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    remove(&root); // a pure cgroup v2 host
}

#[test]
fn podman_runs_a_container_with_berth_runtime() {
    let Some(podman) = Podman::new() else {
        eprintln!("skipped: podman is not installed");
        return;
    };
    let dir = podman.path().to_str().unwrap().to_owned();
    let needles = [dir.as_str(), podman.cgroup_parent.as_str()];
    let before = leaks::Snapshot::take(&needles);

    let tar = podman.path().join("busybox.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(busybox_rootfs())
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success(), "tar of the busybox rootfs: {status}");
    podman.run(&["import", tar.to_str().unwrap(), IMAGE]).ok();

    let cg = [
        "--network",
        "none",
        "--cgroup-parent",
        podman.cgroup_parent.as_str(),
    ];
    let mut run = vec!["run", "--rm"];
    run.extend(cg);
    run.extend([IMAGE, "id"]);
    let out = podman.run(&run).ok();
    assert!(out.stdout.contains("uid=0(root)"), "{}", out.stdout);

    // the container podman runs is berth's: it is in berth's state root, running
    let mut detached = vec!["run", "--detach", "--rm"];
    detached.extend(cg);
    detached.extend([IMAGE, "sleep", "300"]);
    let id = podman.run(&detached).ok().stdout.trim().to_owned();
    assert_eq!(id.len(), 64, "not a container id: {id:?}");
    let runtime_of = podman
        .run(&["inspect", "--format", "{{.OCIRuntime}}", &id])
        .ok();
    assert_eq!(runtime_of.stdout.trim(), podman.runtime().to_str().unwrap());
    let berth = Command::new(runtime_binary())
        .arg("--root")
        .arg(podman.berth_state())
        .args(["state", &id])
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&berth.stdout)
        .unwrap_or_else(|e| panic!("berth does not know {id} ({e}): {berth:?}"));
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(
        state["annotations"]["io.container.manager"], "libpod",
        "{state}"
    );

    podman.run(&["rm", "--force", "--time", "0", &id]).ok();
    // both containers (the first one removed by conmon's cleanup) are gone from berth
    let deadline = Instant::now() + WAIT;
    let listed = loop {
        let listed: Vec<_> = fs::read_dir(podman.berth_state())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            // The compiled-seccomp cache is meant to stay; container state is not.
            .filter(|n| n != ".seccomp-cache")
            .collect();
        if listed.is_empty() || Instant::now() > deadline {
            break listed;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(listed.is_empty(), "left in berth's state: {listed:?}");

    podman.teardown();
    leaks::assert_nothing_left(&before, &needles, WAIT);
}
