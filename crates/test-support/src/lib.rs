//! Shared fixtures for berth's end-to-end tests.
//!
//! This crate owns what a test needs *around* a container, and nothing of the engine:
//!
//! - [`busybox_rootfs`]: a root filesystem made from Debian's static busybox, built once
//!   and cached on disk (safe for concurrent test processes);
//! - [`Bundle`]: a throw-away OCI bundle (copy of that rootfs + a `runc spec`-shaped
//!   `config.json`) with builder methods to edit the config;
//! - [`Runtime`]: a tiny DSL around an OCI runtime binary with runc's command line
//!   (`berth-runtime` by default, `BERTH_RUNTIME=/usr/bin/runc` to check the tests
//!   themselves), each instance with its own `--root`, cleaning up what it created;
//! - [`Daemon`]: a berthd in its own network namespace with its own roots and the busybox
//!   image, driven by the berth or the docker CLI ([`Client`]), torn down on drop;
//! - [`leaks`]: snapshots of mounts, cgroups and processes, so a test can prove that
//!   nothing was left behind.
//!
//! Everything here expects to run as root, like the tests that use it.

mod bundle;
pub mod daemon;
pub mod leaks;
pub mod registry;
mod rootfs;
mod runtime;

pub use daemon::{Client, Daemon, Run, BUSYBOX};
pub use bundle::{default_config, Bundle, DEFAULT_CAPABILITIES};
pub use rootfs::{build_busybox_rootfs, busybox_rootfs, fixtures_dir};
pub use runtime::{runtime_binary, unique_id, Output, Runtime, Spawned};

/// `both!(scenario, …)` makes `scenario::berth` and `scenario::docker` tests: each scenario
/// (a `fn(Client)`) runs once with the berth CLI and once with the real docker CLI.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn berth() {
                    super::$name($crate::Client::Berth)
                }
                #[test]
                fn docker() {
                    super::$name($crate::Client::Docker)
                }
            }
        )*
    };
}
