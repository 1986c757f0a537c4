//! berth-runtime: turns an OCI bundle (a rootfs plus `config.json`) into an isolated,
//! limited, confined process, and manages it through the OCI lifecycle.
//!
//! Main types:
//! - [`StateRoot`]: the directory (runc's `--root`) holding one [`state::State`] per container.
//! - [`Container`]: a loaded container record; the operations live in [`container`]
//!   (`create`, `start`, `kill`, `delete`, `exec`, `pause`/`resume`, `ps`).
//! - [`init`]: the code that runs *inside* the new namespaces between `fork` and `execve`
//!   (rootfs, mounts, devices, pivot_root, user, capabilities, seccomp).
//! - [`defaults`]: the configs the engine uses: runc's `spec` template and Docker's secure
//!   default (capabilities, masked paths, seccomp profile).
//!
//! How a container is born: the `create` process (single-threaded, so `fork` is sound)
//! forks stage 1 (straight into its cgroup2 directory, see [`fork_into`]), which moves
//! itself into the v1 cgroups (or leaves that to the init, see `InitConfig::late_v1`),
//! joins or creates the user namespace, is given its id maps
//! by the parent, joins/creates the other namespaces and forks stage 2:
//! the container's init (pid 1 of a new pid namespace). Init builds the root filesystem,
//! pivots into it, reports "created", and waits on a listening socket in the state
//! directory; `start` connects to it, and init runs the startContainer hooks, drops its
//! privileges, loads seccomp and `execve`s the user's program.
//!
//! This crate must not know about images, registries, networks or the engine: it is given
//! a bundle, as any OCI runtime is. Cgroup files are `berth-cgroups`' business and seccomp
//! filters `berth-seccomp`'s.

pub mod capabilities;
pub mod console;
pub mod container;
pub mod defaults;
pub mod error;
pub mod fork_into;
pub mod hooks;
pub mod in_root;
pub mod init;
pub mod namespaces;
pub mod rlimits;
pub mod state;
pub mod sync;
pub mod syscall;
pub mod timing;
pub mod user;

pub use container::Container;
pub use error::{Error, Result};
pub use state::{StateRoot, Status};
