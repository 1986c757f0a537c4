//! berth-build: Dockerfiles into images, one cached layer per instruction.
//!
//! Will own: the Dockerfile parser, the build context and `.dockerignore`, the step cache
//! and the executor that runs RUN steps through `berth-runtime` and commits layers through
//! `berth-image`. Must not know about the HTTP API or the engine.
//!
//! Not built yet (issue 8).
