//! berth-api-client: a client of the Docker Engine API over a unix socket.
//!
//! Owns: where the daemon is ([`host`]: `--host`, `BERTH_HOST`, `DOCKER_HOST`, the default
//! socket), connecting and version negotiation ([`Client`]: `HEAD /_ping`, then every path
//! is prefixed with `/v{min(server, 1.47)}`), request and response bodies ([`body`]: JSON,
//! tar streamed either way), the streams the daemon answers with ([`stream`]: JSON lines,
//! Docker's multiplexed log frames), the hijacked connections of attach and exec
//! ([`hijack`]), and typed errors ([`Error`]).
//!
//! The endpoint wrappers (in [`containers`], [`exec`], [`images`], [`system`],
//! [`volumes`]) take and return the Engine API models of `bollard-stubs` for request
//! bodies and `serde_json::Value` where the CLI only renders what the daemon said
//! (inspect, ps, events), so a field this crate does not know still reaches `--format`.
//!
//! It must not know about the command line (no clap, no terminal handling) nor link the
//! engine: it only speaks HTTP to whatever daemon listens on the socket.

pub mod body;
mod client;
pub mod containers;
mod error;
pub mod exec;
pub mod hijack;
pub mod host;
pub mod images;
pub mod networks;
mod query;
pub mod registry;
pub mod stream;
pub mod system;
mod version;
pub mod volumes;

pub use body::Body;
pub use bollard_stubs::models;
pub use client::{json_body, read_all, Client, Ping};

/// Decodes a whole JSON response body.
pub async fn client_json(resp: http::Response<hyper::body::Incoming>) -> Result<serde_json::Value> {
    client::json_body(resp, "response").await
}
pub use error::{Error, Result};
pub use hijack::Hijacked;
pub use host::Host;
pub use query::Query;
pub use version::ApiVersion;
