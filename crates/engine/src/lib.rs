//! berth-engine: the daemon (`berthd`) that owns containers and images and serves the
//! Docker Engine API on a unix socket.
//!
//! Main types, in the order a request meets them:
//! - [`api`]: the HTTP routes (Docker's paths, `/v1.NN` prefixes stripped), one module per
//!   API group, hijacked connections for attach and exec;
//! - [`daemon::Daemon`]: the one place the daemon's state lives: containers by id and
//!   name, exec instances, the image store, the event stream;
//! - [`container`]: a container's persistent [`container::record::Record`] (written
//!   atomically; the truth a restarted daemon rebuilds from) and one module per
//!   operation (create, start, stop, remove, exec, logs, …);
//! - [`volume`]: Docker's volumes (`local` driver) under `<data-root>/volumes`, what a
//!   container mounts resolved at create and mounted at start;
//! - [`shim`]: the client side of `berth-shim`, the per-container supervisor that keeps a
//!   container's stdio, log and exit status while the daemon is down.
//!
//! It drives the runtime by its command line (`berth-runtime`, or runc) through the shim,
//! and uses `berth-image` for root filesystems, `berth-cgroups` for stats and OOM
//! counters, `berth-runtime`'s defaults for the secure OCI config. Nothing imports this
//! crate; it must not know about the CLI.

#![recursion_limit = "256"]

pub mod api;
pub mod build;
pub mod clock;
pub mod config;
pub mod console;
pub mod container;
pub mod daemon;
pub mod error;
pub mod events;
pub use berth_runtime::in_root;
pub mod network;
pub mod placement;
pub mod registry;
pub mod runtime;
pub mod shim;
pub mod volume;
