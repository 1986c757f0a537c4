//! End-to-end tests of an OCI runtime binary against runc's command-line contract.
//!
//! They drive `berth-runtime` (or `$BERTH_RUNTIME`: point it at /usr/bin/runc to check
//! the tests themselves) through `berth-test-support`, need root, and run in parallel:
//! every test has its own container IDs, bundle and `--root` state directory.

use std::time::Duration;

mod cgroups;
mod cleanup;
mod commands;
mod docker_defaults;
mod hooks;
mod isolation;
mod lifecycle;
mod limits;
mod mounts;
mod podman;
mod security;
mod terminal;

/// How long a container gets to reach a state, or its leftovers to disappear.
const WAIT: Duration = Duration::from_secs(10);

/// The container's init as the host sees it, from `state`.
fn host_pid(state: &serde_json::Value) -> i32 {
    let pid = state["pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "state has no pid: {state}");
    pid as i32
}

/// True while `pid` is a live (not zombie) process on the host.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_owned())
        })
        .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
}

/// Waits up to [`WAIT`] for `pid` to die; false if it is still alive then.
fn wait_dead(pid: i32) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while alive(pid) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}
