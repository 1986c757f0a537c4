//! The build context: a tar (from the client, a file or stdin) indexed in place, its
//! `.dockerignore`, and the client side that produces the tar from a directory.

pub mod client;
pub mod error;
pub mod glob;
pub mod ignore;
pub mod index;

pub use client::{read_ignore, tar_dir};
pub use error::{Error, Result};
pub use ignore::Ignore;
pub use index::{Context, Entry, EntryKind, EntryReader};
