//! berth-build: Dockerfiles into images, one cached layer per instruction.
//!
//! Owns: the Dockerfile parser ([`dockerfile`]), the build context and `.dockerignore`
//! ([`context`]), the step cache and the executor that runs RUN steps through the OCI
//! runtime and commits layers through `berth-image`. Must not know about the HTTP API, the
//! engine or registries: images it lacks are asked of the caller.

pub mod context;
pub mod dockerfile;
pub mod build;
pub mod cache;
pub mod error;
pub mod options;
pub mod state;
pub mod step;

pub use build::{short_id, Builder};
pub use cache::Cache;
pub use error::{Error, Result};
pub use options::{BuildOptions, NetworkLease, Output, Runner, Services};
