//! A small DSL around an OCI runtime binary with runc's command line.

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{leaks, Bundle};

/// The runtime under test: `$BERTH_RUNTIME` if set, else the workspace's
/// `target/release/berth-runtime`, else `target/debug/berth-runtime`.
pub fn runtime_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("BERTH_RUNTIME") {
        return PathBuf::from(bin);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("berth-runtime"))
        .find(|bin| bin.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no berth-runtime under {}/{{release,debug}}: run `cargo build --release -p berth-runtime-cli` \
                 or set BERTH_RUNTIME=/path/to/runtime",
                target.display()
            )
        })
}

/// A container ID unique on this machine while this test process lives:
/// `e2e-<tag>-<pid>-<nnnn>`.
pub fn unique_id(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // fixed width, so no ID is a prefix of another one (leak checks match substrings)
    format!(
        "e2e-{tag}-{}-{:04}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// How long one runtime command may take before the test fails (`$BERTH_TEST_TIMEOUT` s).
fn command_timeout() -> Duration {
    let secs = std::env::var("BERTH_TEST_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// One runtime binary with a private `--root` state directory.
///
/// Dropping it force-deletes every container it created, kills runtime processes
/// still using its state directory, and removes that directory.
///
/// ```no_run
/// # use berth_test_support::{Bundle, Runtime};
/// let rt = Runtime::new();
/// let out = rt.run(&Bundle::new("demo").args(&["echo", "hi"]), "demo-1").ok();
/// assert_eq!(out.stdout, "hi\n");
/// ```
pub struct Runtime {
    bin: PathBuf,
    /// `state/` is the runtime's `--root`, `logs/` holds the stdio of our commands.
    dir: tempfile::TempDir,
    created: Mutex<Vec<String>>,
    logs: AtomicUsize,
}

impl Runtime {
    pub fn new() -> Runtime {
        let dir = tempfile::Builder::new()
            .prefix("berth-state-")
            .tempdir()
            .expect("create state dir");
        fs::create_dir(dir.path().join("state")).expect("mkdir state");
        fs::create_dir(dir.path().join("logs")).expect("mkdir logs");
        Runtime {
            bin: runtime_binary(),
            dir,
            created: Mutex::new(Vec::new()),
            logs: AtomicUsize::new(0),
        }
    }

    pub fn binary(&self) -> &Path {
        &self.bin
    }

    /// The `--root` passed to every command.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// `run --bundle B ID`: create, start, wait for the container and delete it.
    pub fn run(&self, bundle: &Bundle, id: &str) -> Output {
        self.spawn_run(bundle, id).wait()
    }

    /// `run` in the background, for tests that act on the container while it runs.
    pub fn spawn_run(&self, bundle: &Bundle, id: &str) -> Spawned {
        self.remember(id);
        self.spawn(&["run", "--bundle", path_str(bundle.path()), id])
    }

    /// `create --bundle B ID`. The container's stdio goes to [`Runtime::container_stdout`].
    pub fn create(&self, bundle: &Bundle, id: &str) -> Output {
        self.create_with(bundle, id, &[])
    }

    /// `create --bundle B OPTIONS... ID`, e.g. with `&["--console-socket", path]`; like
    /// [`Runtime::create`] otherwise (the container is deleted when `self` is dropped).
    pub fn create_with(&self, bundle: &Bundle, id: &str, options: &[&str]) -> Output {
        self.remember(id);
        let stdout = self.log_path(&format!("{id}.stdout"));
        let stderr = self.log_path(&format!("{id}.stderr"));
        let mut args = vec!["create", "--bundle", path_str(bundle.path())];
        args.extend_from_slice(options);
        args.push(id);
        let mut cmd = self.command(&args);
        cmd.stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap());
        Spawned::start(cmd, stdout, stderr)
            .unwrap_or_else(|e| panic!("cannot start create: {e}"))
            .wait()
    }

    /// What a container made by [`Runtime::create`] wrote to stdout so far (runtime
    /// messages of `create` itself included).
    pub fn container_stdout(&self, id: &str) -> String {
        fs::read_to_string(self.log_path(&format!("{id}.stdout"))).unwrap_or_default()
    }

    /// `create` then `start`, both required to succeed.
    pub fn create_and_start(&self, bundle: &Bundle, id: &str) {
        self.create(bundle, id).ok();
        self.start(id).ok();
    }

    pub fn start(&self, id: &str) -> Output {
        self.output(&["start", id])
    }

    /// `state ID`, parsed; panics if the runtime does not know the container.
    #[track_caller]
    pub fn state(&self, id: &str) -> Value {
        let out = self.output(&["state", id]).ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("state is not JSON ({e}):\n{out}"))
    }

    /// The `status` field of `state ID`, `None` if the container does not exist.
    pub fn status(&self, id: &str) -> Option<String> {
        let out = self.output(&["state", id]);
        if !out.success() {
            return None;
        }
        let state: Value = serde_json::from_str(&out.stdout).ok()?;
        state["status"].as_str().map(str::to_owned)
    }

    /// Polls `state` until the container has `status`; false after `timeout`.
    pub fn wait_for_status(&self, id: &str, status: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.status(id).as_deref() == Some(status) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `kill ID SIGNAL` (`"KILL"`, `"TERM"`, `"9"`, ...).
    pub fn kill(&self, id: &str, signal: &str) -> Output {
        self.output(&["kill", id, signal])
    }

    pub fn delete(&self, id: &str) -> Output {
        self.output(&["delete", id])
    }

    pub fn delete_force(&self, id: &str) -> Output {
        self.output(&["delete", "--force", id])
    }

    pub fn pause(&self, id: &str) -> Output {
        self.output(&["pause", id])
    }

    pub fn resume(&self, id: &str) -> Output {
        self.output(&["resume", id])
    }

    /// `exec ID ARGS...` (non-interactive, waits for the process).
    pub fn exec(&self, id: &str, args: &[&str]) -> Output {
        let mut all = vec!["exec", id];
        all.extend_from_slice(args);
        self.output(&all)
    }

    /// `list --format json`: one JSON object per container.
    #[track_caller]
    pub fn list(&self) -> Vec<Value> {
        self.try_list().unwrap_or_else(|| {
            panic!(
                "list failed or is not a JSON array:\n{}",
                self.output(&["list", "--format", "json"])
            )
        })
    }

    fn try_list(&self) -> Option<Vec<Value>> {
        let out = self
            .try_spawn(&["list", "--format", "json"])
            .ok()?
            .wait_at_most(command_timeout())?;
        if !out.success() {
            return None;
        }
        match serde_json::from_str(&out.stdout).ok()? {
            Value::Array(list) => Some(list),
            Value::Null => Some(Vec::new()), // runc prints `null` for none
            _ => None,
        }
    }

    /// Any other subcommand, e.g. `rt.output(&["ps", id])`.
    pub fn output(&self, args: &[&str]) -> Output {
        self.spawn(args).wait()
    }

    /// Starts `RUNTIME --root STATE ARGS...` with stdin from /dev/null and stdout/stderr
    /// captured in files (a pipe would keep [`Spawned::wait`] waiting for the container).
    #[track_caller]
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        self.try_spawn(args)
            .unwrap_or_else(|e| panic!("cannot start {} {args:?}: {e}", self.bin.display()))
    }

    fn try_spawn(&self, args: &[&str]) -> std::io::Result<Spawned> {
        let n = self.logs.fetch_add(1, Ordering::Relaxed);
        let stdout = self.log_path(&format!("{n}.stdout"));
        let stderr = self.log_path(&format!("{n}.stderr"));
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?);
        Spawned::start(cmd, stdout, stderr)
    }

    /// The bare command line, for tests that need their own stdio set-up.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(self.root()).args(args);
        cmd
    }

    fn remember(&self, id: &str) {
        self.created.lock().unwrap().push(id.to_owned());
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("logs").join(name)
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let mut ids = std::mem::take(&mut *self.created.lock().unwrap_or_else(|e| e.into_inner()));
        // `run` deletes its own container: only what is still listed needs a delete
        // (if `list` itself fails, try every container we made).
        if let Some(listed) = self.try_list() {
            ids.retain(|id| listed.iter().any(|c| c["id"] == id.as_str()));
        }
        for id in ids.iter().rev() {
            if let Ok(delete) = self.try_spawn(&["delete", "--force", id]) {
                let _ = delete.wait_at_most(Duration::from_secs(10));
            }
        }
        leaks::kill_processes_using(self.dir.path());
        leaks::unmount_under(self.dir.path());
    }
}

/// A runtime command that was started and not waited for yet.
pub struct Spawned {
    child: Child,
    cmdline: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Spawned {
    fn start(mut cmd: Command, stdout: PathBuf, stderr: PathBuf) -> std::io::Result<Spawned> {
        let cmdline = format!("{cmd:?}");
        let child = cmd.spawn()?;
        Ok(Spawned {
            child,
            cmdline,
            stdout,
            stderr,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the command (at most `$BERTH_TEST_TIMEOUT`, default 60 s; then it is
    /// killed and the test fails).
    #[track_caller]
    pub fn wait(self) -> Output {
        let timeout = command_timeout();
        let cmdline = self.cmdline.clone();
        self.wait_at_most(timeout)
            .unwrap_or_else(|| panic!("timed out after {timeout:?}: {cmdline}"))
    }

    /// Waits at most `timeout`; `None` (and the command killed) if it took longer.
    pub fn wait_at_most(mut self, timeout: Duration) -> Option<Output> {
        let status = wait_timeout(&mut self.child, timeout)?;
        Some(Output {
            cmdline: std::mem::take(&mut self.cmdline),
            status,
            stdout: fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: fs::read_to_string(&self.stderr).unwrap_or_default(),
        })
    }
}

impl Drop for Spawned {
    /// A command never waited for (the test panicked first) must not outlive the test.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits for `child` at most `timeout`; kills and reaps it when the time is up.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// What a runtime command did.
#[derive(Debug)]
pub struct Output {
    pub cmdline: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The exit code; `None` if the runtime itself was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Fails the test unless the command succeeded.
    #[track_caller]
    pub fn ok(self) -> Output {
        assert!(self.success(), "command failed:\n{self}");
        self
    }

    /// Fails the test unless the command failed.
    #[track_caller]
    pub fn err(self) -> Output {
        assert!(!self.success(), "command unexpectedly succeeded:\n{self}");
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.cmdline)?;
        writeln!(f, "status: {}", self.status)?;
        writeln!(f, "--- stdout\n{}", self.stdout)?;
        write!(f, "--- stderr\n{}", self.stderr)
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}
