//! berth-api-client: a client of the Docker Engine API over a unix socket.
//!
//! Will own: request building, version negotiation, streams (logs, attach, build).
//! Talks to the engine only over HTTP; must not link the engine.
//!
//! Not built yet (issue 5).
