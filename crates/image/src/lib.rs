//! berth-image: the content-addressed image store and the overlay storage driver.
//!
//! Will own: blobs addressed by digest, OCI/Docker manifests and configs, layer
//! application (tar, whiteouts), the overlay and copy storage drivers, import/save/load.
//! Must not know about containers' processes, the HTTP API or registries' protocol.
//!
//! Not built yet (issue 3); the crate exists so the architecture is visible.
