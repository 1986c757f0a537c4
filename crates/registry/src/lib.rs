//! berth-registry: a client of the OCI distribution protocol (pull, push, login).
//!
//! Will own: manifests and blobs over HTTP, auth challenges and tokens, credentials in
//! `~/.docker/config.json` form. Uses `berth-image` to store what it downloads; must not
//! know about containers or the engine.
//!
//! Not built yet (issue 4).
