//! v1 freezer controller: `freezer.state` (THAWED, FREEZING, FROZEN).
//!
//! Kernel quirk: freezing is asynchronous. Writing FROZEN moves the group to
//! FREEZING and it only reaches FROZEN once every task has stopped; a task
//! forked meanwhile or stuck in uninterruptible sleep can keep it FREEZING.
//! The write is therefore repeated while polling, and a group that does not
//! freeze in time is thawed again so it is not left half-frozen.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::interface;

const STATE: &str = "freezer.state";
const TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn state(dir: &Path) -> Result<String> {
    Ok(interface::read(dir, STATE)?.trim().to_owned())
}

fn set(dir: &Path, want: &'static str, op: &'static str) -> Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        interface::write(dir, STATE, want)?;
        let now = state(dir)?;
        if now == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                op,
                path: dir.to_owned(),
                state: now,
            });
        }
        sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

pub(crate) fn freeze(dir: &Path) -> Result<()> {
    set(dir, "FROZEN", "freeze").inspect_err(|_| {
        let _ = interface::write(dir, STATE, "THAWED");
    })
}

pub(crate) fn thaw(dir: &Path) -> Result<()> {
    set(dir, "THAWED", "thaw")
}

/// Settles a FREEZING group before answering; FROZEN is the only "frozen".
pub(crate) fn is_frozen(dir: &Path) -> Result<bool> {
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        let s = state(dir)?;
        if s != "FREEZING" || Instant::now() >= deadline {
            return Ok(s == "FROZEN");
        }
        sleep(Duration::from_millis(5));
    }
}
