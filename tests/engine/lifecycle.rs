//! Run, logs, exec, stop, start, rm; a pty session; exit codes; restart policies;
//! healthchecks; resource limits seen from inside the container.

use berth_test_support::{Client, Daemon};

use crate::{both, eventually};

fn run_detached_then_manage(c: Client) {
    let d = Daemon::start();
    let id = d.run(c, &["run", "-d", "--name", "web", "busybox", "sh", "-c", "echo started; exec sleep 300"]).ok();
    assert_eq!(id.out().len(), 64, "run -d prints the full id: {:?}", id.stdout);
    let ps = d.run(c, &["ps", "--format", "{{.Names}} {{.Status}}"]).ok();
    assert!(ps.out().starts_with("web Up"), "{}", ps.stdout);
    assert!(eventually(5, || d.run(c, &["logs", "web"]).stdout.contains("started")));
    let e = d.run(c, &["exec", "-e", "X=1", "-w", "/tmp", "web", "sh", "-c", "echo $X $(pwd)"]).ok();
    assert_eq!(e.out(), "1 /tmp");
    assert_eq!(d.run(c, &["exec", "web", "sh", "-c", "exit 3"]).code, 3);
    d.run(c, &["stop", "-t", "1", "web"]).ok();
    let st = d.run(c, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"]).ok();
    assert_eq!(st.out(), "exited 137", "sleep as pid 1 ignores SIGTERM, so stop kills it");
    d.run(c, &["start", "web"]).ok();
    assert_eq!(d.run(c, &["inspect", "-f", "{{.State.Running}}", "web"]).ok().out(), "true");
    let rm = d.run(c, &["rm", "web"]);
    assert_ne!(rm.code, 0, "a running container is not removed without -f");
    d.run(c, &["rm", "-f", "web"]).ok();
    assert_eq!(d.run(c, &["ps", "-aq"]).ok().out(), "");
}

fn run_rm_attached_exit_codes(c: Client) {
    let d = Daemon::start();
    let r = d.run(c, &["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 42"]);
    assert_eq!(r.code, 42, "{r:?}");
    assert_eq!(r.stdout, "out\n");
    assert!(r.stderr.contains("err"), "{r:?}");
    assert_eq!(d.run(c, &["ps", "-aq"]).ok().out(), "", "--rm removed it");
    let nf = d.run(c, &["run", "--rm", "busybox", "/no/such/binary"]);
    assert_eq!(nf.code, 127, "{nf:?}");
    let na = d.run(c, &["run", "--rm", "busybox", "/etc/passwd"]);
    assert_eq!(na.code, 126, "{na:?}");
    let bad = d.run(c, &["run", "--rm", "no-such-image:1"]);
    assert_eq!(bad.code, 125, "{bad:?}");
    assert_eq!(d.run(c, &["run", "--no-such-flag", "busybox"]).code, 125);
}

fn run_interactive_tty(c: Client) {
    let d = Daemon::start();
    // script(1) gives the client a terminal of a known size.
    let cmd = format!(
        "stty cols 91 rows 27; {} run --rm -it busybox sh -c 'stty size; tty'",
        c.binary().display()
    );
    let r = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("DOCKER_HOST", d.host())
        .env("BERTH_HOST", d.host())
        .output()
        .expect("script");
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("27 91"), "the container sees the client's terminal size: {text:?}");
    assert!(text.contains("/dev/pts/0"), "{text:?}");
    assert!(r.status.success(), "{text:?}");
}

fn stdin_pipes_through(c: Client) {
    let d = Daemon::start();
    let mut cmd = d.command(c, &["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z"]);
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello berth\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "HELLO BERTH\n");
}

fn restart_policies(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "-d", "--name", "onfail", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3"]).ok();
    assert!(eventually(10, || d.run(c, &["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "onfail"]).out() == "exited 2"));
    d.run(c, &["run", "-d", "--name", "always", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; exit 0"]).ok();
    assert!(eventually(10, || {
        d.run(c, &["inspect", "-f", "{{.RestartCount}}", "always"]).out().parse::<i32>().unwrap_or(0) >= 2
    }));
    d.run(c, &["stop", "-t", "1", "always"]).ok();
    let n = d.run(c, &["inspect", "-f", "{{.RestartCount}}", "always"]).ok().stdout;
    std::thread::sleep(std::time::Duration::from_millis(700));
    assert_eq!(d.run(c, &["inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "always"]).out(), format!("exited {}", n.trim()), "a stopped container stays stopped");
    d.run(c, &["run", "-d", "--name", "no", "busybox", "sh", "-c", "exit 1"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(d.run(c, &["inspect", "-f", "{{.RestartCount}}", "no"]).out(), "0");
}

fn healthcheck(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ready", "--health-interval", "200ms", "--health-retries", "1",
               "busybox", "sh", "-c", "sleep 1.5; touch /tmp/ready; exec sleep 300"]).ok();
    assert!(eventually(5, || d.run(c, &["ps", "--format", "{{.Status}}"]).out().contains("(unhealthy)")));
    assert!(eventually(10, || d.run(c, &["ps", "--format", "{{.Status}}"]).out().contains("(healthy)")));
    let log = d.run(c, &["inspect", "-f", "{{.State.Health.Status}} {{.State.Health.FailingStreak}}", "hc"]).ok();
    assert_eq!(log.out(), "healthy 0");
}

fn limits_inside(c: Client) {
    let d = Daemon::start();
    let r = d.run(c, &["run", "--rm", "-m", "64m", "--pids-limit", "33", "--cpus", "0.5", "busybox", "sh", "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"]).ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "67108864");
    assert_eq!(lines[1], "33");
    assert!(lines[2].starts_with("50000"), "{lines:?}");
    let r = d.run(c, &["run", "--rm", "--ulimit", "nofile=512:1024", "--cap-drop", "ALL", "--read-only", "busybox", "sh", "-c",
        "ulimit -n; touch /x 2>/dev/null && echo writable || echo read-only; grep CapEff /proc/self/status"]).ok();
    assert_eq!(r.stdout, "512\nread-only\nCapEff:\t0000000000000000\n");
    let r = d.run(c, &["run", "--rm", "--user", "1000:1000", "--group-add", "5", "--hostname", "box", "busybox", "sh", "-c", "id; hostname"]).ok();
    let mut lines = r.stdout.lines();
    let id = lines.next().unwrap_or("");
    assert!(id.starts_with("uid=1000 gid=1000 groups="), "{id}");
    assert!(id.contains("groups=5") || id.contains(",5"), "--group-add 5: {id}");
    assert_eq!(lines.next(), Some("box"));
}

both!(run_detached_then_manage, run_rm_attached_exit_codes, run_interactive_tty, stdin_pipes_through, restart_policies, healthcheck, limits_inside);

/// berthd with runc as its runtime: the shim and the daemon use its command line.
#[test]
fn runc_as_the_runtime() {
    let runc = ["/usr/sbin/runc", "/usr/bin/runc"].into_iter().find(|p| std::path::Path::new(p).exists()).expect("runc is installed");
    let d = Daemon::start_with(&["--runtime", runc]);
    let r = d.berth(&["run", "--rm", "busybox", "sh", "-c", "echo via runc; exit 4"]);
    assert_eq!((r.code, r.stdout.as_str()), (4, "via runc\n"), "{r:?}");
    d.berth(&["run", "-d", "--name", "rc", "busybox", "sleep", "300"]).ok();
    assert_eq!(d.berth(&["exec", "rc", "echo", "in"]).ok().out(), "in");
    d.berth(&["pause", "rc"]).ok();
    d.berth(&["unpause", "rc"]).ok();
    d.berth(&["rm", "-f", "rc"]).ok();
}
