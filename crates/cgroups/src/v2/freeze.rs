//! v2 freezer: `cgroup.freeze` requests, `cgroup.events` reports.
//!
//! Kernel quirk: writing `cgroup.freeze` only requests the state; the group
//! is frozen once `frozen 1` shows up in `cgroup.events`, which can lag while
//! tasks are in uninterruptible sleep. Callers that need the processes
//! stopped (pause, checkpoint) therefore wait for the event.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::interface;

const TIMEOUT: Duration = Duration::from_secs(5);

fn frozen_event(dir: &Path) -> Result<bool> {
    let e = interface::flat_keyed(&interface::read(dir, "cgroup.events")?);
    Ok(e.get("frozen").copied() == Some(1))
}

fn set(dir: &Path, freeze: bool) -> Result<()> {
    interface::write(dir, "cgroup.freeze", if freeze { "1" } else { "0" })?;
    let deadline = Instant::now() + TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let frozen = frozen_event(dir)?;
        if frozen == freeze {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                op: if freeze { "freeze" } else { "thaw" },
                path: dir.to_owned(),
                state: if frozen { "frozen" } else { "freezing" }.to_owned(),
            });
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

pub(crate) fn freeze(dir: &Path) -> Result<()> {
    set(dir, true).inspect_err(|_| {
        let _ = interface::write(dir, "cgroup.freeze", "0");
    })
}

pub(crate) fn thaw(dir: &Path) -> Result<()> {
    set(dir, false)
}

/// Frozen means the kernel reports it; a pending request is waited for briefly.
pub(crate) fn is_frozen(dir: &Path) -> Result<bool> {
    let requested = interface::read(dir, "cgroup.freeze")?.trim() == "1";
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        let frozen = frozen_event(dir)?;
        if frozen || !requested || Instant::now() >= deadline {
            return Ok(frozen);
        }
        sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    /// cgroup.freeze works on any cgroup2 directory, also on a hybrid
    /// host's nearly empty unified mount.
    #[test]
    fn real_cgroup2_freeze_and_thaw() {
        let Some(scratch) = fixture::real_unified("freeze2") else {
            return;
        };
        // Declared after `scratch`, so it is killed before the cgroup is removed.
        let child = fixture::Sleeper::spawn();
        let dir = scratch.dir();
        interface::write(dir, "cgroup.procs", &child.pid().to_string()).unwrap();
        assert!(!is_frozen(dir).unwrap());
        freeze(dir).unwrap();
        assert!(is_frozen(dir).unwrap());
        let state = std::fs::read_to_string(format!("/proc/{}/stat", child.pid())).unwrap();
        // A cgroup2-frozen task sleeps in the freezer: state S (or D), never R.
        assert!(!state.contains(") R "), "{state}");
        thaw(dir).unwrap();
        assert!(!is_frozen(dir).unwrap());
    }
}
