//! OCI hooks: programs run at points of the lifecycle with the container's state on stdin.
//!
//! createRuntime, prestart, poststart and poststop run in the runtime's namespaces;
//! createContainer and startContainer are run by the container's init, so they start in
//! the container's namespaces. A failing hook fails the operation, except poststart and
//! poststop, whose failure the spec says only to warn about.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::Hook;

use crate::error::{Error, Result};

/// Runs one hook to completion (or until its timeout), feeding it `state` on stdin.
pub fn run(hook: &Hook, state: &[u8]) -> Result<()> {
    let path = hook.path();
    let fail = |msg: String| Error::Hook { path: path.clone(), msg };
    let mut cmd = Command::new(path);
    if let Some(args) = hook.args() {
        if let Some((first, rest)) = args.split_first() {
            cmd.arg0(first);
            cmd.args(rest);
        }
    }
    // Without an env list a hook inherits the runtime's environment (as runc's do); with
    // one, it gets exactly that list.
    if let Some(env) = hook.env() {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| fail(format!("start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that doesn't read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state);
    }
    let deadline = hook.timeout().map(|t| Instant::now() + Duration::from_secs(t.max(1) as u64));
    let mut pause = Duration::from_micros(200);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(fail(format!("exited with {status}"))),
            Ok(None) => {}
            Err(e) => return Err(fail(format!("wait: {e}"))),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(fail(format!("timed out after {}s", hook.timeout().unwrap_or(0))));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Runs hooks in order, stopping at the first failure.
pub fn run_all(hooks: Option<&Vec<Hook>>, state: &[u8]) -> Result<()> {
    for h in hooks.into_iter().flatten() {
        run(h, state)?;
    }
    Ok(())
}

/// Runs hooks in order, reporting failures on stderr and going on (poststart, poststop).
pub fn run_all_warn(hooks: Option<&Vec<Hook>>, state: &[u8]) {
    for h in hooks.into_iter().flatten() {
        if let Err(e) = run(h, state) {
            eprintln!("warning: {e}");
        }
    }
}
