//! berth-engine: the daemon (`berthd`) that owns containers and images and serves the
//! Docker Engine API on a unix socket.
//!
//! Will own: container records and their supervisors, the API handlers, events, restart
//! policies, logs. It drives `berth-runtime`, `berth-image`, `berth-registry`,
//! `berth-network` and `berth-build`; nothing imports it.
//!
//! Not built yet (issue 5).
