//! `delete`: removes a stopped container (or, forced, kills it first) and everything the
//! runtime made for it: processes, cgroups and the state directory. The mounts lived in
//! the container's mount namespace and went with its last process.

use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    crate::timing::mark("delete: begin");
    let c = match Container::load(root, id) {
        Ok(c) => c,
        // A state directory without state.json: a create that died half-way.
        Err(Error::NotFound(_)) if force && root.dir(id).exists() => {
            let _ = std::fs::remove_dir_all(root.dir(id));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    // The spec: deleting a container that is not stopped is an error (runc also lets a
    // created one go; we follow the spec, and --force covers both).
    if !force {
        c.require(&[Status::Stopped], "cannot delete a container that is not stopped (use --force)")?;
    }
    let mut errors: Vec<String> = Vec::new();
    if c.status != Status::Stopped {
        let pids = c.pids().unwrap_or_else(|_| vec![c.state.pid]);
        for p in pids.iter().chain(std::iter::once(&c.state.pid)) {
            let _ = nix::sys::signal::kill(Pid::from_raw(*p), Signal::SIGKILL);
        }
        if c.status == Status::Paused {
            if let Some(cg) = &c.state.cgroup {
                if let Err(e) = cg.thaw() {
                    errors.push(e.to_string());
                }
            }
        }
        if !super::wait::wait_gone(c.state.pid, c.state.pid_start_time, Duration::from_secs(5)) {
            errors.push(format!("process {} did not exit after SIGKILL (frozen by someone else?)", c.state.pid));
        }
    }
    // Usually nothing is left in the cgroup and it goes with one rmdir per hierarchy;
    // processes outside the init's pid namespace (or when it has none) may survive init.
    if let Some(cg) = c.state.cgroup.as_ref().filter(|cg| !cg.remove_empty()) {
        if let Ok(pids) = cg.pids() {
            for p in pids {
                let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        if let Err(e) = cg.destroy() {
            errors.push(e.to_string());
        }
    }
    let state = serde_json::to_vec(&c.state.to_oci_json(Status::Stopped)).expect("json");
    crate::hooks::run_all_warn(c.state.config.hooks().as_ref().and_then(|h| h.poststop().as_ref()), &state);
    if let Err(e) = std::fs::remove_dir_all(root.dir(id)) {
        errors.push(format!("remove {}: {e}", root.dir(id).display()));
    }
    crate::timing::mark("delete: done");
    if errors.is_empty() {
        Ok(())
    } else if force {
        // Forced: the record is gone; what could not be undone is reported, not fatal
        // (a process frozen in another cgroup cannot die until someone thaws it).
        for e in &errors {
            eprintln!("warning: delete {id}: {e}");
        }
        Ok(())
    } else {
        Err(Error::State { id: id.to_string(), msg: errors.join("; ") })
    }
}
