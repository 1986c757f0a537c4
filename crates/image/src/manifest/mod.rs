//! Manifests: the documents that name an image's config and layers by digest, in both
//! formats in use (OCI image spec, Docker registry schema 2) and their lists (OCI index,
//! Docker manifest list), with the choice of one platform's manifest from a list.
//!
//! They live apart from the store because registries, archives and the builder all read
//! and write them; the store itself only keeps their bytes.

pub mod media_type;
pub mod model;
pub mod platform;

pub use media_type::{Flavor, Kind};
pub use model::{Descriptor, Document, Index, Manifest};
pub use platform::{select, Platform};
