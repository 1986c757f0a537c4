//! berth-shim against a real OCI runtime (`target/release/berth-runtime`, or
//! `$BERTH_RUNTIME`; one test also drives `/usr/bin/runc`) and busybox bundles. Runs as
//! root. Every container has its own network namespace (the default bundle config), so
//! host networking is never touched.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_test_support::{unique_id, Bundle, Runtime};
use record::{is_rfc3339_nano, parse_record};

const SHIM: &str = env!("CARGO_BIN_EXE_berth-shim");
const TIMEOUT: Duration = Duration::from_secs(30);

/// One container under one shim, cleaned up on drop (also when the test panicked):
/// `runtime delete --force`, the shim killed by pid, directories removed.
struct Container {
    id: String,
    /// Dropped after our own clean-up (fields drop in declaration order after `drop`).
    bundle: Bundle,
    runtime: RuntimeBin,
    dir: tempfile::TempDir,
    shim_pid: Option<i32>,
}

/// The runtime under test, with its own `--root`.
enum RuntimeBin {
    /// berth-runtime (or `$BERTH_RUNTIME`) through test-support's DSL.
    Default(Runtime),
    /// Another binary, e.g. /usr/bin/runc, with a root in our temp dir.
    Other(PathBuf),
}

struct Options<'a> {
    tty: bool,
    stdin: bool,
    stdin_once: bool,
    log: bool,
    extra: &'a [&'a str],
}

const PLAIN: Options<'static> = Options {
    tty: false,
    stdin: false,
    stdin_once: false,
    log: true,
    extra: &[],
};

impl Container {
    fn new(tag: &str, bundle: Bundle) -> Container {
        Container::with_runtime(tag, bundle, RuntimeBin::Default(Runtime::new()))
    }

    fn with_runtime(tag: &str, bundle: Bundle, runtime: RuntimeBin) -> Container {
        let dir = tempfile::Builder::new()
            .prefix("berth-shim-test-")
            .tempdir()
            .expect("create temp dir");
        fs::create_dir(dir.path().join("state")).unwrap();
        fs::create_dir(dir.path().join("runc-root")).unwrap();
        Container {
            id: unique_id(tag),
            bundle,
            runtime,
            dir,
            shim_pid: None,
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("container.log")
    }

    fn runtime_bin(&self) -> PathBuf {
        match &self.runtime {
            RuntimeBin::Default(rt) => rt.binary().to_owned(),
            RuntimeBin::Other(bin) => bin.clone(),
        }
    }

    fn runtime_root(&self) -> PathBuf {
        match &self.runtime {
            RuntimeBin::Default(rt) => rt.root(),
            RuntimeBin::Other(_) => self.dir.path().join("runc-root"),
        }
    }

    fn runtime(&self, args: &[&str]) -> std::process::Output {
        Command::new(self.runtime_bin())
            .arg("--root")
            .arg(self.runtime_root())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run the runtime")
    }

    /// Spawns the shim as the daemon would and waits for the spawned process to exit
    /// (which proves the daemonized child does not hold its stderr pipe): its exit
    /// status and stderr.
    fn spawn_shim(&mut self, o: &Options<'_>) -> (std::process::ExitStatus, String) {
        let mut cmd = Command::new(SHIM);
        cmd.arg("--id")
            .arg(&self.id)
            .arg("--bundle")
            .arg(self.bundle.path())
            .arg("--state")
            .arg(self.state())
            .arg("--runtime")
            .arg(self.runtime_bin())
            .arg("--runtime-root")
            .arg(self.runtime_root());
        if o.log {
            cmd.arg("--log").arg(self.log());
        }
        for (on, flag) in [
            (o.tty, "--tty"),
            (o.stdin, "--stdin"),
            (o.stdin_once, "--stdin-once"),
        ] {
            if on {
                cmd.arg(flag);
            }
        }
        cmd.args(o.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn berth-shim");
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = tx.send(text);
        });
        let stderr = rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("berth-shim's stderr did not reach EOF within {TIMEOUT:?}")
        });
        let status = child.wait().unwrap();
        self.shim_pid = find_shim(&self.id);
        (status, stderr)
    }

    /// Spawns the shim and requires it to report success.
    fn start_shim(&mut self, o: &Options<'_>) {
        let (status, stderr) = self.spawn_shim(o);
        assert!(status.success(), "berth-shim failed: {status}: {stderr}");
        assert_eq!(stderr, "", "stderr of a successful berth-shim");
        assert!(self.shim_pid.is_some(), "no shim process for {}", self.id);
        assert!(self.state().join("shim.sock").exists());
    }

    fn connect(&self) -> UnixStream {
        let sock =
            UnixStream::connect(self.state().join("shim.sock")).expect("connect to shim.sock");
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        sock
    }

    /// One request, the whole reply (until the shim closes the connection).
    fn request(&self, line: &str) -> String {
        let mut sock = self.connect();
        sock.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut reply = String::new();
        sock.read_to_string(&mut reply)
            .unwrap_or_else(|e| panic!("reply to {line:?}: {e}"));
        reply
    }

    /// A `wait` request sent now, answered when the container has exited (read it with
    /// [`exit_reply`]). Once the shim has exited nobody answers: the exit file tells.
    fn waiter(&self) -> UnixStream {
        let mut sock = self.connect();
        sock.write_all(b"wait\n").unwrap();
        sock
    }

    /// `attach`, with the `ok` line consumed.
    fn attach(&self, stdin: bool, stdout: bool, stderr: bool) -> UnixStream {
        let mut sock = self.connect();
        let line = format!("attach {} {} {}\n", stdin as u8, stdout as u8, stderr as u8);
        sock.write_all(line.as_bytes()).unwrap();
        let mut ok = [0u8; 3];
        sock.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"ok\n");
        sock
    }

    fn log_text(&self) -> String {
        fs::read_to_string(self.log()).unwrap_or_default()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.runtime(&["delete", "--force", &self.id]);
        if let Some(pid) = self.shim_pid.or_else(|| find_shim(&self.id)) {
            // Only if that pid is still our shim (not a reused pid).
            if is_shim_of(pid, &self.id) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                wait_until(Duration::from_secs(5), || !is_shim_of(pid, &self.id));
            }
        }
        // `bundle`, `runtime` and `dir` are dropped next: processes using them killed,
        // mounts under them detached, directories removed.
    }
}

/// The pid of the shim running for `id`, from /proc.
fn find_shim(id: &str) -> Option<i32> {
    fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| is_shim_of(pid, id))
}

fn is_shim_of(pid: i32, id: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let zombie = status_field(pid, "State").is_some_and(|s| s.starts_with('Z'));
    !zombie
        && args.first().is_some_and(|a| a.ends_with(b"berth-shim"))
        && args
            .windows(2)
            .any(|w| w[0] == b"--id" && w[1] == id.as_bytes())
}

fn status_field(pid: i32, name: &str) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_owned())
        })
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Reads Docker-multiplexed frames until EOF: (stdout, stderr).
fn read_frames(mut sock: UnixStream) -> (String, String) {
    let mut all = Vec::new();
    sock.read_to_end(&mut all).expect("read attach stream");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = &all[..];
    while !rest.is_empty() {
        assert!(rest.len() >= 8, "truncated frame header: {rest:?}");
        let len = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
        assert_eq!(&rest[1..4], &[0, 0, 0], "frame header {:?}", &rest[..8]);
        let payload = &rest[8..8 + len];
        match rest[0] {
            1 => out.extend_from_slice(payload),
            2 => err.extend_from_slice(payload),
            s => panic!("unknown stream {s}"),
        }
        rest = &rest[8 + len..];
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn exit_reply(mut waiter: UnixStream) -> String {
    let mut reply = String::new();
    waiter.read_to_string(&mut reply).expect("read wait reply");
    reply
}

fn sh(tag: &str, script: &str) -> Bundle {
    Bundle::new(tag).args(&["sh", "-c", script])
}

/// Minimal checks of a json-file record without a JSON parser: its fields in order.
mod record {
    /// (log, stream, time) of a record line.
    pub fn parse_record(line: &str) -> (String, String, String) {
        let rest = line
            .strip_prefix("{\"log\":\"")
            .unwrap_or_else(|| panic!("not a record: {line}"));
        let (log, rest) = rest
            .split_once("\",\"stream\":\"")
            .unwrap_or_else(|| panic!("no stream: {line}"));
        let (stream, rest) = rest
            .split_once("\",\"time\":\"")
            .unwrap_or_else(|| panic!("no time: {line}"));
        let time = rest
            .strip_suffix("\"}")
            .unwrap_or_else(|| panic!("bad end: {line}"));
        (log.to_owned(), stream.to_owned(), time.to_owned())
    }

    /// `2026-12-01T20:04:09.123456789Z`
    pub fn is_rfc3339_nano(t: &str) -> bool {
        let b = t.as_bytes();
        b.len() == 30
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'.'
            && b[29] == b'Z'
            && b.iter()
                .enumerate()
                .all(|(i, c)| [4, 7, 10, 13, 16, 19, 29].contains(&i) || c.is_ascii_digit())
    }
}

#[test]
fn logs_stdout_and_stderr_as_json_lines_and_writes_the_exit_file() {
    let mut c = Container::new(
        "shim-log",
        sh(
            "shim-log",
            "echo hi; echo err >&2; printf 'no newline \\\\ \\t \\033'",
        ),
    );
    c.start_shim(&PLAIN);
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    assert_eq!(exit_reply(waiter), "exit 0\n");

    let log = c.log_text();
    let records: Vec<_> = log.lines().map(parse_record).collect();
    assert_eq!(records.len(), 3, "{log}");
    let mut by_stream: Vec<(&str, &str)> = records
        .iter()
        .map(|(l, s, _)| (l.as_str(), s.as_str()))
        .collect();
    by_stream.sort();
    assert_eq!(
        by_stream,
        [
            ("err\\n", "stderr"),
            ("hi\\n", "stdout"),
            // the partial line at EOF, escaped
            ("no newline \\\\ \\t \\u001b", "stdout"),
        ],
        "{log}"
    );
    assert!(records.iter().all(|(_, _, t)| is_rfc3339_nano(t)), "{log}");

    let exit = fs::read_to_string(c.state().join("exit")).unwrap();
    let (code, time) = exit.split_once('\n').unwrap();
    assert_eq!(code, "0");
    assert!(is_rfc3339_nano(time.trim_end()), "{exit:?}");
    // The shim is gone and so is its socket.
    let pid = c.shim_pid.unwrap();
    assert!(
        wait_until(TIMEOUT, || !is_shim_of(pid, &c.id)),
        "shim still running"
    );
    assert!(!c.state().join("shim.sock").exists());
}

#[test]
fn attach_before_start_receives_framed_stdout_and_stderr() {
    let mut c = Container::new(
        "shim-attach",
        sh("shim-attach", "echo out1; echo err1 >&2; echo out2"),
    );
    c.start_shim(&PLAIN);
    let both = c.attach(false, true, true);
    let only_err = c.attach(false, false, true);
    assert_eq!(c.request("start"), "ok\n");
    assert_eq!(read_frames(both), ("out1\nout2\n".into(), "err1\n".into()));
    assert_eq!(read_frames(only_err), (String::new(), "err1\n".into()));
}

#[test]
fn wait_returns_the_exit_code() {
    let mut c = Container::new("shim-exit3", sh("shim-exit3", "exit 3"));
    c.start_shim(&PLAIN);
    let pid: i32 = c
        .request("pid")
        .strip_prefix("pid ")
        .and_then(|p| p.trim().parse().ok())
        .expect("pid reply");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    assert_eq!(exit_reply(waiter), "exit 3\n");
}

#[test]
fn wait_reports_137_for_a_sigkilled_container() {
    let mut c = Container::new(
        "shim-kill",
        Bundle::new("shim-kill").args(&["sleep", "100"]),
    );
    c.start_shim(&PLAIN);
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    let kill = c.runtime(&["kill", &c.id, "KILL"]);
    assert!(kill.status.success(), "kill: {kill:?}");
    assert_eq!(exit_reply(waiter), "exit 137\n");
    // After the shim has exited, the exit file is what tells.
    assert!(fs::read_to_string(c.state().join("exit"))
        .unwrap()
        .starts_with("137\n"));
}

#[test]
fn stdin_goes_through_attach_and_stdin_once_closes_it() {
    let mut c = Container::new("shim-stdin", Bundle::new("shim-stdin").args(&["cat"]));
    c.start_shim(&Options {
        stdin: true,
        stdin_once: true,
        ..PLAIN
    });
    let mut sock = c.attach(true, true, true);
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    sock.write_all(b"hello through stdin\n").unwrap();
    // EOF of our input closes cat's stdin (--stdin-once): cat exits, the stream ends.
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(
        read_frames(sock),
        ("hello through stdin\n".into(), String::new())
    );
    assert_eq!(exit_reply(waiter), "exit 0\n");
    assert!(c
        .log_text()
        .contains("\"log\":\"hello through stdin\\n\",\"stream\":\"stdout\""));
}

#[test]
fn stdin_once_on_a_tty_ends_input_with_eof() {
    let bundle = Bundle::new("shim-ttyonce")
        .args(&["cat"])
        .config_mut(|c| c["process"]["terminal"] = true.into());
    let mut c = Container::new("shim-ttyonce", bundle);
    c.start_shim(&Options {
        tty: true,
        stdin: true,
        stdin_once: true,
        ..PLAIN
    });
    let mut sock = c.attach(true, true, true);
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    sock.write_all(b"typed\n").unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).unwrap();
    // echoed by the terminal, then by cat; then ^D ends cat.
    assert!(
        String::from_utf8_lossy(&raw).matches("typed\r\n").count() == 2,
        "{raw:?}"
    );
    assert_eq!(exit_reply(waiter), "exit 0\n");
}

#[test]
fn tty_mode_with_resize() {
    tty_with_resize(None);
}

#[test]
fn tty_mode_with_runc() {
    let runc = Path::new("/usr/bin/runc");
    if !runc.exists() {
        eprintln!("skipped: no /usr/bin/runc");
        return;
    }
    tty_with_resize(Some(runc));
}

fn tty_with_resize(runtime: Option<&Path>) {
    let bundle = sh("shim-tty", "read line; stty size; echo got $line")
        .config_mut(|c| c["process"]["terminal"] = true.into());
    let mut c = match runtime {
        None => Container::new("shim-tty", bundle),
        Some(bin) => Container::with_runtime("shim-tty", bundle, RuntimeBin::Other(bin.to_owned())),
    };
    c.start_shim(&Options {
        tty: true,
        stdin: true,
        ..PLAIN
    });
    assert!(!c.state().join("console.sock").exists());
    let mut sock = c.attach(true, true, true);
    assert_eq!(c.request("resize 41 123"), "ok\n");
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    sock.write_all(b"word\n").unwrap();
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    // Raw terminal output, no frames: the line discipline's \r\n.
    assert!(text.contains("41 123\r\n"), "{text:?}");
    assert!(text.contains("got word\r\n"), "{text:?}");
    assert_eq!(exit_reply(waiter), "exit 0\n");
    let log = c.log_text();
    assert!(
        log.contains("\"log\":\"41 123\\r\\n\",\"stream\":\"stdout\""),
        "{log}"
    );
    assert!(!log.contains("stderr"), "{log}");
}

#[test]
fn a_client_that_does_not_read_is_dropped_without_blocking_the_container() {
    // 4 MiB of output: far more than the socket buffers plus the 256 KiB queue.
    let script = "i=0; while [ $i -lt 4096 ]; do head -c 1023 /dev/zero | tr '\\0' x; echo; i=$((i+1)); done";
    let mut c = Container::new("shim-slow", sh("shim-slow", script));
    c.start_shim(&PLAIN);
    let stalled = c.attach(false, true, true);
    let reader = c.attach(false, true, false);
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    let (out, err) = read_frames(reader);
    assert_eq!((out.len(), err.len()), (4096 * 1024, 0));
    assert_eq!(exit_reply(waiter), "exit 0\n");
    assert_eq!(c.log_text().lines().count(), 4096);
    // The stalled client was cut off: it gets less than everything, then EOF.
    stalled.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut got = Vec::new();
    (&stalled)
        .read_to_end(&mut got)
        .expect("stalled client sees EOF");
    assert!(got.len() < 4096 * 1024, "{} bytes", got.len());
}

#[test]
fn resize_without_a_tty_is_an_error() {
    let mut c = Container::new("shim-notty", Bundle::new("shim-notty").args(&["true"]));
    c.start_shim(&PLAIN);
    assert_eq!(c.request("resize 10 10"), "error no tty\n");
    assert_eq!(c.request("bogus"), "error unknown request\n");
}

#[test]
fn log_rotation_keeps_max_files_of_at_most_max_size() {
    let script = "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done";
    let mut c = Container::new("shim-rotate", sh("shim-rotate", script));
    c.start_shim(&Options {
        extra: &["--log-max-size", "2000", "--log-max-files", "3"],
        ..PLAIN
    });
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    assert_eq!(exit_reply(waiter), "exit 0\n");

    let numbered = |n: u32| PathBuf::from(format!("{}.{n}", c.log().display()));
    assert!(numbered(1).exists() && numbered(2).exists());
    assert!(!numbered(3).exists(), "more than 3 files");
    let mut lines = Vec::new();
    for path in [numbered(2), numbered(1), c.log()] {
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.len() <= 2000,
            "{} is {} bytes",
            path.display(),
            text.len()
        );
        lines.extend(text.lines().map(|l| parse_record(l).0));
    }
    // The newest lines, in order, none lost within the kept files.
    assert_eq!(lines.last().unwrap(), "line-299\\n");
    let first: usize = lines[0]
        .trim_start_matches("line-")
        .trim_end_matches("\\n")
        .parse()
        .unwrap();
    let expected: Vec<String> = (first..300).map(|i| format!("line-{i}\\n")).collect();
    assert_eq!(lines, expected);
}

#[test]
fn the_shim_is_daemonized_and_outlives_its_spawner() {
    let mut c = Container::new(
        "shim-daemon",
        Bundle::new("shim-daemon").args(&["sleep", "100"]),
    );
    c.start_shim(&PLAIN);
    let pid = c.shim_pid.unwrap();
    // Its own session, not our child (the spawned process already exited).
    let ppid: i32 = status_field(pid, "PPid").unwrap().parse().unwrap();
    assert_ne!(ppid, std::process::id() as i32);
    // SAFETY: getsid(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::getsid(pid) }, pid, "not a session leader");
    // Its stdio is /dev/null, not ours.
    for fd in 0..3 {
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap(),
            Path::new("/dev/null")
        );
    }
    assert_eq!(c.request("start"), "ok\n");
    std::thread::sleep(Duration::from_millis(200));
    assert!(is_shim_of(pid, &c.id));
    assert!(c.request("pid").starts_with("pid "));
}

#[test]
fn keeps_logging_while_nobody_is_connected_and_can_be_reattached() {
    let script = "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.05; done";
    let mut c = Container::new("shim-reattach", sh("shim-reattach", script));
    c.start_shim(&PLAIN);
    assert_eq!(c.request("start"), "ok\n");
    // A client that attaches and vanishes (the daemon being killed) changes nothing.
    let mut first = c.attach(false, true, true);
    let mut header = [0u8; 8];
    first.read_exact(&mut header).unwrap();
    drop(first);
    let ticks = || c.log_text().lines().count();
    let before = ticks();
    assert!(
        wait_until(TIMEOUT, || ticks() >= before + 5),
        "the log stopped growing"
    );
    // A new client gets current output: a tick later than the log had when it attached.
    let mut again = c.attach(false, true, false);
    let mut header = [0u8; 8];
    again.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 1, "stdout frame");
    let mut payload = vec![0u8; u32::from_be_bytes(header[4..8].try_into().unwrap()) as usize];
    again.read_exact(&mut payload).unwrap();
    let text = String::from_utf8_lossy(&payload).into_owned();
    let text = text.lines().next().unwrap_or_default().to_owned();
    let tick: usize = text
        .trim_start_matches("tick-")
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("{text:?}"));
    assert!(tick >= before + 5, "tick {tick}, log had {before}");
    let waiter = c.waiter();
    assert!(c.runtime(&["kill", &c.id, "TERM"]).status.success());
    // sh as pid 1 of its namespace ignores SIGTERM without a handler: KILL if needed.
    std::thread::sleep(Duration::from_millis(200));
    let _ = c.runtime(&["kill", &c.id, "KILL"]);
    assert!(["exit 137\n", "exit 143\n"].contains(&exit_reply(waiter).as_str()));
}

#[test]
fn create_failure_is_one_line_on_stderr_and_leaves_no_shim() {
    let mut c = Container::new(
        "shim-fail",
        Bundle::new("shim-fail").args(&["/no/such/program"]),
    );
    let (status, stderr) = c.spawn_shim(&PLAIN);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("/no/such/program"), "{stderr:?}");
    assert!(wait_until(TIMEOUT, || find_shim(&c.id).is_none()));
    assert!(!c.state().join("shim.sock").exists());
}

#[test]
fn a_second_shim_for_the_same_state_dir_is_refused() {
    let mut c = Container::new("shim-twice", Bundle::new("shim-twice").args(&["true"]));
    c.start_shim(&PLAIN);
    let first = c.shim_pid;
    let (status, stderr) = c.spawn_shim(&PLAIN);
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("another shim is listening"), "{stderr:?}");
    // The first one is untouched and still answers.
    c.shim_pid = first;
    assert!(c.request("pid").starts_with("pid "));
}

#[test]
fn works_with_runc() {
    let runc = Path::new("/usr/bin/runc");
    if !runc.exists() {
        eprintln!("skipped: no /usr/bin/runc");
        return;
    }
    let mut c = Container::with_runtime(
        "shim-runc",
        sh("shim-runc", "echo hi; echo err >&2; exit 5"),
        RuntimeBin::Other(runc.to_owned()),
    );
    c.start_shim(&PLAIN);
    let out = c.attach(false, true, true);
    let waiter = c.waiter();
    assert_eq!(c.request("start"), "ok\n");
    assert_eq!(read_frames(out), ("hi\n".into(), "err\n".into()));
    assert_eq!(exit_reply(waiter), "exit 5\n");
    assert_eq!(c.log_text().lines().count(), 2);
}

#[test]
fn idle_shim_resident_memory() {
    let mut c = Container::new("shim-rss", sh("shim-rss", "echo started; exec sleep 100"));
    c.start_shim(&PLAIN);
    let pid = c.shim_pid.unwrap();
    let rss = |pid| -> u64 {
        status_field(pid, "VmRSS")
            .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
            .expect("VmRSS")
    };
    let just_created = rss(pid);
    // Idle means idle: after 2 s without events the shim gives back what it touched.
    std::thread::sleep(Duration::from_millis(2500));
    let created = rss(pid);
    let mut sock = c.attach(false, true, false);
    assert_eq!(c.request("start"), "ok\n");
    let mut frame = [0u8; 16];
    sock.read_exact(&mut frame).unwrap();
    assert_eq!(&frame[8..], b"started\n");
    drop(sock);
    // The shim gives back what it touched after 2 s without events.
    std::thread::sleep(Duration::from_millis(2500));
    let running = rss(pid);
    eprintln!(
        "idle berth-shim VmRSS: {just_created} kB when ready, {created} kB created and idle, \
         {running} kB running and idle"
    );
    assert!(just_created < 2048, "when ready: {just_created} kB");
    // The goal is well under 1 MB (conmon: 2 MB); idle, after the trim, it is ~0.3 MB
    // static, ~0.55 MB dynamically linked.
    assert!(created < 1024, "created and idle: {created} kB");
    assert!(running < 1024, "running and idle: {running} kB");
}
