//! Scheduling and execution domain of the container's process: `process.scheduler`
//! (sched_setattr), `process.execCPUAffinity` and `linux.personality`.

use oci_spec::runtime::{LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, Process};

use crate::error::{Error, Result};

/// The kernel's struct sched_attr (version 1, without utilization clamps' extension).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

pub fn apply_scheduler(p: &Process) -> Result<()> {
    let Some(s) = p.scheduler() else { return Ok(()) };
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
        ..Default::default()
    };
    // SAFETY: sched_setattr(pid 0 = self, attr, flags 0) reads one sched_attr of `size` bytes.
    if unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) } < 0 {
        return Err(Error::sys(format!("sched_setattr policy {:?}", s.policy()), nix::errno::Errno::last()));
    }
    Ok(())
}

/// Parses a cpu list such as "0-3,7".
pub fn parse_cpus(list: &str) -> Result<Vec<usize>> {
    let bad = || Error::InvalidConfig(format!("invalid cpu list {list:?}"));
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if a > b {
                    return Err(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(cpus)
}

/// Pins the process to `execCPUAffinity.final` (or `initial`), right before execve.
pub fn apply_cpu_affinity(p: &Process) -> Result<()> {
    let Some(a) = p.exec_cpu_affinity() else { return Ok(()) };
    let Some(list) = a.cpu_affinity_final().as_deref().or(a.initial().as_deref()) else { return Ok(()) };
    let mut set = nix::sched::CpuSet::new();
    for cpu in parse_cpus(list)? {
        set.set(cpu).map_err(|e| Error::sys(format!("cpu {cpu} of {list:?}"), e))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|e| Error::sys(format!("sched_setaffinity {list}"), e))
}

/// Sets the execution domain (`LINUX32` for a 32-bit uname, as `setarch`).
pub fn apply_personality(p: Option<&LinuxPersonality>) -> Result<()> {
    let Some(p) = p else { return Ok(()) };
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(Error::InvalidConfig("linux.personality.flags are not supported".into()));
    }
    let persona: libc::c_ulong = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    // SAFETY: personality takes one integer.
    if unsafe { libc::personality(persona) } < 0 {
        return Err(Error::sys("personality", nix::errno::Errno::last()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_ranges_and_singles() {
        assert_eq!(parse_cpus("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
    }
}
