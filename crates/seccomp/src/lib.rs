//! Seccomp for berth: turning an OCI `linux.seccomp` object into a kernel syscall filter, and
//! Docker's default profile.
//!
//! What this crate owns:
//! * [`compile`] (and [`compile_json`]) translate the runtime spec's seccomp object, every part
//!   of it: default action and errno, architectures, filter flags, syscall rules with every
//!   action and argument operator. libseccomp turns the rules into a BPF program; the result,
//!   a [`Filter`], is plain data. The runtime compiles in its parent process, so that a bad
//!   profile fails `create`, then forks.
//! * [`Filter::load`] installs the program with one `seccomp(2)` call in the container's init
//!   right before `execve`; it neither allocates nor needs libseccomp, so a forked child may
//!   call it. With `SCMP_ACT_NOTIFY` rules it returns the notify fd.
//! * [`send_to_listener`] hands that fd and the [`ContainerProcessState`] to the seccomp agent
//!   at `listenerPath`, as the runtime spec describes.
//! * [`docker_default_profile`] and [`docker_default_profile_for`] produce Docker's default
//!   profile (an allow-list, default `EPERM`), with the capability-gated groups Docker has.
//!
//! Errors are one [`Error`] enum whose variants name the failed operation.
//!
//! What it must not know about: containers, namespaces, processes other than the caller, the
//! engine or its configuration. Setting no-new-privileges, choosing when to load, passing the
//! notify fd from the container's init to whoever can reach `listenerPath`, and building the
//! container's state belong to the runtime.

mod cache;
mod compile;
mod docker_default;
mod error;
mod load;
mod notify;
mod spec;

#[cfg(test)]
mod harness;

pub use cache::compile_cached;
pub use compile::{compile, compile_json, Filter};
pub use docker_default::{
    docker_default_blocked_syscalls, docker_default_profile, docker_default_profile_for,
    DOCKER_DEFAULT_CAPABILITIES,
};
pub use error::Error;
pub use notify::{send_to_listener, ContainerProcessState, SECCOMP_FD_NAME};
