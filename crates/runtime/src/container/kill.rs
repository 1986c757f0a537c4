//! `kill`: any signal to the container's init, or with `all` to all its processes.

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::container::Container;
use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

/// Parses "KILL", "SIGKILL", "9", "sigterm".
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| Error::InvalidConfig(format!("unknown signal {s:?}")));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse::<Signal>().map_err(|_| Error::InvalidConfig(format!("unknown signal {s:?}")))
}

pub fn kill(root: &StateRoot, id: &str, sig: Signal, all: bool) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(&[Status::Created, Status::Running, Status::Paused], "cannot send signals to a stopped container")?;
    let pids = if all { c.pids()? } else { vec![c.state.pid] };
    for pid in pids {
        match nix::sys::signal::kill(Pid::from_raw(pid), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(Error::sys(format!("kill {pid} with {sig}"), e)),
        }
    }
    if all && sig == Signal::SIGKILL {
        // A frozen process only dies once thawed.
        if let (Status::Paused, Some(cg)) = (c.status, &c.state.cgroup) {
            cg.thaw()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_number_and_case() {
        assert_eq!(parse_signal("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("sigterm").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("15").unwrap(), Signal::SIGTERM);
        assert!(parse_signal("NOPE").is_err());
    }
}
