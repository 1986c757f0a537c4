//! A berthd for one test: its own network namespace (created here, so no bridge, rule or
//! container address of the test ever touches the host's network), its own data and exec
//! roots, the busybox image imported, and the clients that drive it (berth and docker).
//! Dropping it removes every container it made, stops it, and removes the namespace,
//! mounts and directories, also when the test failed.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::busybox_rootfs;

/// The image every daemon starts with: Debian's static busybox.
pub const BUSYBOX: &str = "busybox:latest";

/// A workspace binary (`target/release/NAME`, else debug).
pub fn workspace_binary(name: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join(name))
        .find(|b| b.is_file())
        .unwrap_or_else(|| panic!("no {name} under {}/{{release,debug}}: cargo build --release --workspace", target.display()))
}

/// Which command line drives the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Berth,
    /// The real docker CLI (28.x at /usr/local/bin/docker, `$BERTH_DOCKER_CLI` to change).
    Docker,
}

impl Client {
    pub fn binary(self) -> PathBuf {
        match self {
            Client::Berth => workspace_binary("berth"),
            Client::Docker => std::env::var_os("BERTH_DOCKER_CLI")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/usr/local/bin/docker")),
        }
    }
}

/// What a client command printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Panics with everything the command said unless it succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "command failed: stdout {:?} stderr {:?}", self.stdout, self.stderr);
        self
    }

    pub fn out(&self) -> &str {
        self.stdout.trim()
    }
}

#[derive(Debug)]
pub struct Daemon {
    pub netns: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    extra_args: Vec<String>,
}

impl Daemon {
    /// A daemon with the busybox image as `busybox:latest`.
    pub fn start() -> Daemon {
        Daemon::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Daemon {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let netns = format!("berth-e2e-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let st = Command::new("ip").args(["netns", "add", &netns]).status().expect("run ip netns add");
        assert!(st.success(), "ip netns add {netns}");
        let _ = Command::new("ip").args(["-n", &netns, "link", "set", "lo", "up"]).status();
        let dir = tempfile::Builder::new().prefix("berth-e2e-d.").tempdir_in("/tmp").expect("temp dir");
        let mut d = Daemon { netns, dir, child: None, extra_args: args.iter().map(|s| s.to_string()).collect() };
        d.launch();
        d.import_busybox();
        d
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_root(&self) -> PathBuf {
        self.root().join("data")
    }

    pub fn exec_root(&self) -> PathBuf {
        self.root().join("run")
    }

    pub fn socket(&self) -> PathBuf {
        self.root().join("berth.sock")
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("berthd.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn launch(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root().join("berthd.log"))
            .expect("daemon log");
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.netns))
            .arg("--")
            .arg(workspace_binary("berthd"))
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("-H")
            .arg(self.host())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn berthd"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.api("GET", "/_ping", &[]).is_some_and(|(s, _)| s == 200) {
                return;
            }
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                panic!("berthd exited with {st}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("berthd did not answer /_ping within 20 s: {}", self.log());
    }

    /// One plain HTTP/1.0 request to the API: (status, body).
    pub fn api(&self, method: &str, path: &str, body: &[u8]) -> Option<(u16, Vec<u8>)> {
        let mut s = UnixStream::connect(self.socket()).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: berth\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).ok()?;
        let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
        let status = std::str::from_utf8(&resp[9..12]).ok()?.parse().ok()?;
        Some((status, resp[split + 4..].to_vec()))
    }

    fn import_busybox(&self) {
        let out = Command::new("tar")
            .arg("-C")
            .arg(busybox_rootfs())
            .args(["-c", "."])
            .output()
            .expect("tar busybox rootfs");
        assert!(out.status.success(), "tar busybox rootfs");
        let (status, body) = self
            .api("POST", "/images/create?fromSrc=-&repo=busybox&tag=latest", &out.stdout)
            .expect("import busybox");
        assert_eq!(status, 200, "import busybox: {}", String::from_utf8_lossy(&body));
    }

    /// Runs a client command against this daemon.
    pub fn run(&self, client: Client, args: &[&str]) -> Run {
        self.command(client, args).output().map(Run::from).expect("run client")
    }

    pub fn berth(&self, args: &[&str]) -> Run {
        self.run(Client::Berth, args)
    }

    pub fn docker(&self, args: &[&str]) -> Run {
        self.run(Client::Docker, args)
    }

    /// The client command, ready to be given stdin or spawned.
    pub fn command(&self, client: Client, args: &[&str]) -> Command {
        let mut cmd = Command::new(client.binary());
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("BERTH_HOST", self.host())
            .env("DOCKER_CONFIG", self.root().join("docker-config"))
            .stdin(Stdio::null());
        cmd
    }

    /// kill -9 of the daemon, leaving its containers and shims running.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart_after_kill(&mut self) {
        self.kill9();
        self.launch();
    }

    /// Processes started on behalf of this daemon (its shims and their containers'
    /// runtimes), found by the exec root on their command lines.
    fn own_shims(&self) -> Vec<i32> {
        let marker = self.exec_root().display().to_string();
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_none() {
            // Killed by the test and not restarted: start it to clean up properly.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.launch()));
        }
        let ids = self.docker(&["ps", "-aq"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = self.docker(&args);
        }
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        for pid in self.own_shims() {
            // SAFETY: kill(2); these are the shims this test's daemon started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let root = self.root().display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut targets: Vec<&str> = mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&root)).collect();
        targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
        for t in targets {
            let _ = nix_umount(t);
        }
        let _ = Command::new("ip").args(["netns", "delete", &self.netns]).status();
    }
}

fn nix_umount(target: &str) -> std::io::Result<()> {
    let c = std::ffi::CString::new(target).map_err(std::io::Error::other)?;
    // SAFETY: a valid NUL-terminated path; MNT_DETACH cannot fail on a busy mount.
    let r = unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
