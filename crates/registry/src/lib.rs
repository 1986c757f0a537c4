//! berth-registry: a client of the OCI distribution protocol (Docker Registry HTTP API v2):
//! pull, push and login against real registries.
//!
//! Owns, main types first:
//! - [`pull::pull`] and [`push::push`]: an image between a registry and a
//!   [`berth_image::Store`], every byte verified against its digest before the store
//!   takes it, layers a few at a time, reporting [`progress::Event`]s to an
//!   [`progress::Observer`];
//! - [`client::Session`]: one repository of one registry over HTTP(S) (hyper under
//!   reqwest's blocking client, rustls with the system's CAs and `certs.d` directories),
//!   with its authorization, retries with backoff, redirects followed;
//! - [`manifest`] (GET/HEAD/PUT of manifests and indexes, platform selection through
//!   `berth-image`), [`blob`] (download with `Range` resume, upload monolithic or chunked,
//!   cross-repository mounts);
//! - [`auth`]: `WWW-Authenticate` challenges (basic, bearer tokens with pull or push
//!   scopes, fetched again on 401), credentials in docker's `config.json` form, `login`;
//! - [`config::Options`]: the insecure-registry rule (listed hosts and loopback may use
//!   plain HTTP), CA directories, attempts, parallelism;
//! - [`Error`]: every error names the operation, registry, repository and digest.
//!
//! Uses `berth-image` for references, manifests, platforms and the store. Must not know
//! about containers, the engine or its API (the engine turns [`progress::Event`]s into
//! Docker's JSON progress stream), nor the command line.

pub mod auth;
pub mod blob;
pub mod client;
pub mod config;
pub mod error;
pub mod manifest;
pub mod progress;
pub mod pull;
pub mod push;

pub use auth::credentials::{Credentials, DockerConfig};
pub use auth::login;
pub use client::{Access, Session};
pub use config::Options;
pub use error::{Error, Result};
pub use progress::{Event, Observer, Status};
pub use pull::{pull, PullOptions, Pulled};
pub use push::{push, PushOptions, Pushed};
