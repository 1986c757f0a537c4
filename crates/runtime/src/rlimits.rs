//! POSIX rlimits of the container's process.
//!
//! Raising a hard limit needs CAP_SYS_RESOURCE, which root does not always have (not on
//! the machines this project is tested on): the error then says which limit, what was
//! asked and what the current hard limit is, instead of a bare EPERM.

use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

use crate::error::{Error, Result};

pub fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    (match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }) as libc::__rlimit_resource_t
}

fn name(t: PosixRlimitType) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{t:?}"))
}

/// Applies every limit, failing on the first one the kernel refuses.
pub fn apply(limits: &[PosixRlimit]) -> Result<()> {
    for l in limits {
        if l.soft() > l.hard() {
            return Err(Error::InvalidConfig(format!(
                "rlimit {}: soft limit {} is above the hard limit {}",
                name(l.typ()),
                l.soft(),
                l.hard()
            )));
        }
        let r = resource(l.typ());
        let new = libc::rlimit { rlim_cur: l.soft(), rlim_max: l.hard() };
        // SAFETY: setrlimit reads one rlimit struct.
        if unsafe { libc::setrlimit(r, &new) } < 0 {
            let err = nix::errno::Errno::last();
            let mut cur = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: getrlimit writes one rlimit struct.
            unsafe { libc::getrlimit(r, &mut cur) };
            let why = if err == nix::errno::Errno::EPERM && l.hard() > cur.rlim_max {
                format!(
                    " (the hard limit is {} and raising it needs CAP_SYS_RESOURCE, which this runtime does not have)",
                    cur.rlim_max
                )
            } else {
                String::new()
            };
            return Err(Error::Init(format!(
                "set rlimit {} to soft {} hard {}: {}{why}",
                name(l.typ()),
                l.soft(),
                l.hard(),
                err.desc()
            )));
        }
    }
    Ok(())
}
