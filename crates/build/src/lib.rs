//! berth-build: Dockerfiles into images, one cached layer per instruction.
//!
//! Main types first:
//! - [`Builder`]: what a build runs on (the image store, the [`Cache`], a [`Runner`] for
//!   RUN steps, the caller's [`Services`]); `Builder::build(context, &BuildOptions, &dyn
//!   Output)` parses the Dockerfile, builds the stages the target needs (independent ones
//!   at once), and tags the image;
//! - [`context::Context`]: the build context, a tar indexed where it is (or as it arrives),
//!   with `.dockerignore` ([`context::Ignore`]) applied and content checksums for the cache;
//! - [`dockerfile::ast::Dockerfile`]: the parsed Dockerfile, words unexpanded; the parser
//!   ([`dockerfile::parse`]) reports `file:line:column`, the expander
//!   ([`dockerfile::expand`]) does Docker's quote and `$VAR` rules at each step;
//! - [`Cache`]: step key → image, files written atomically, surviving restarts;
//! - [`step`]: one module per kind of step (config only, RUN on the OCI runtime's command
//!   line, COPY/ADD through the store's confined layer applier, URL downloads).
//!
//! Must not know about the HTTP API, the engine or registries: images it lacks and network
//! namespaces for RUN are asked of the caller ([`Services`]), and the log goes to an
//! [`Output`] the caller turns into its own format.

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
