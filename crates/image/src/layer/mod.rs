//! Layers: archives of filesystem changes, and applying them to a directory.

pub mod apply;
pub mod compression;
pub mod whiteout;
pub(crate) mod xattr;

#[cfg(test)]
pub(crate) mod fixture;
