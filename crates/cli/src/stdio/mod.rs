//! The local side of a container's stdio: the terminal ([`terminal`]: raw mode restored
//! on every exit path, window size), the hijacked attach/exec stream ([`streams`]:
//! stdin in, frames or raw bytes out), and signals ([`signals`]: proxying to the
//! container, SIGWINCH as resize).

pub mod pipe;
pub mod signals;
pub mod streams;
pub mod terminal;
