//! The daemon dies, the containers do not: kill -9 of berthd with containers running,
//! then a new berthd finds them running, listed, logging, exec-able and stoppable, and
//! records the exit of one that ended while it was down. Plus docker-py against berthd.

use berth_test_support::{Client, Daemon};

use crate::{both, eventually};

fn daemon_kill9_recovery(c: Client) {
    let mut d = Daemon::start();
    d.run(c, &["run", "-d", "--name", "tick", "busybox", "sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done"]).ok();
    d.run(c, &["run", "-d", "--name", "ends", "busybox", "sh", "-c", "sleep 1; exit 7"]).ok();
    d.run(c, &["run", "-d", "--name", "back", "--restart", "always", "busybox", "sh", "-c", "sleep 1; exit 0"]).ok();
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    d.restart_after_kill();
    let ps = d.run(c, &["ps", "-a", "--format", "{{.Names}} {{.State}}"]).ok();
    assert!(ps.stdout.contains("tick running"), "{}", ps.stdout);
    let ends = d.run(c, &["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ends"]).ok();
    assert_eq!(ends.out(), "exited 7", "the exit while the daemon was down is recorded");
    assert!(eventually(5, || d.run(c, &["inspect", "-f", "{{.RestartCount}}", "back"]).out().parse::<i32>().unwrap_or(0) >= 1),
        "an always container that exited while the daemon was down is restarted");
    let before = d.run(c, &["logs", "tick"]).ok().stdout.lines().count();
    assert!(eventually(5, || d.run(c, &["logs", "tick"]).stdout.lines().count() > before + 3), "still logging");
    assert_eq!(d.run(c, &["exec", "tick", "echo", "alive"]).ok().out(), "alive");
    d.run(c, &["stop", "-t", "1", "tick"]).ok();
    assert_eq!(d.run(c, &["inspect", "-f", "{{.State.Running}}", "tick"]).ok().out(), "false");
}

both!(daemon_kill9_recovery);

#[test]
fn docker_py_script_passes() {
    let d = Daemon::start();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/docker_py_check.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .env("DOCKER_HOST", d.host())
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
