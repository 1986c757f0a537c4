//! berth-cli: the `berth` command line, with docker's commands, flags and output.
//!
//! Will own: argument parsing, output formatting (tables, Go-style templates), exit codes.
//! Reaches the daemon only through `berth-api-client`.
//!
//! Not built yet (issue 5).
