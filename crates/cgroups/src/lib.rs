//! berth's cgroup manager: it owns everything about a container's cgroups on
//! the host, from detecting how cgroups are mounted to removing the cgroup
//! when the container is deleted.
//!
//! Main types:
//! - [`Layout`] / [`layout()`]: v1, unified (v2) or hybrid, detected at run
//!   time from `/proc/self/mountinfo`; [`Host`] is the detected snapshot
//!   (injectable for tests).
//! - [`Cgroup`]: where one container's cgroup lives in every hierarchy,
//!   resolved from OCI `linux.cgroupsPath`; serializable so the runtime can
//!   keep it in its state. Methods create it, add processes, apply OCI
//!   `linux.resources` (also for `update`), freeze/thaw, list pids, read
//!   [`Stats`] and OOM counters, describe the container's cgroup mounts
//!   ([`ContainerMount`]) and destroy it.
//! - [`Error`]: every failure names the operation, the cgroupfs path (and
//!   value written) and the OS error.
//!
//! On v1 and v2 alike each resource is routed per controller: through the v1
//! hierarchy that has the controller, else through the cgroup2 mount. On
//! hybrid hosts this puts e.g. hugetlb on the unified mount, where it lives.
//! Device rules become `devices.allow`/`deny` writes on v1 and a generated
//! eBPF program on v2.
//!
//! This crate must not know about containers' processes beyond pids,
//! namespaces, images, the runtime's state files or the engine: it is told a
//! path, an id, resources and pids, and only touches cgroupfs (and bpf(2)).

mod cgroup;
mod device_rule;
mod error;
mod interface;
mod layout;
mod path;
mod pids;
mod rdma;
mod stats;
mod teardown;
mod v1;
mod v2;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod real_host_tests;

pub use cgroup::{Cgroup, ContainerMount, HierarchyDir};
pub use error::{Error, Result};
pub use layout::{layout, Host, Layout, UnifiedHierarchy, V1Hierarchy};
pub use stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats, OomEvents,
    PidsStats, Stats, Throttling,
};
