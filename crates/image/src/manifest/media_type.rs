//! Media types of the two image formats berth reads and writes: the OCI image spec and
//! Docker's registry schema 2, which the OCI spec grew out of. A media type is what says
//! whether a blob is a manifest, an index, a config or a layer (and how it is compressed),
//! so an unknown one is refused by name rather than guessed at.

use crate::layer::compression::Compression;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_LAYER_NONDIST: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
pub const OCI_LAYER_NONDIST_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const OCI_LAYER_NONDIST_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Not in Docker's spec, but what containers/image writes for uncompressed layers.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Schema 1 (signed JSON with v1 history): long deprecated, recognised only to refuse it
/// with a message that says so.
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Which spec a media type belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Oci,
    Docker,
}

/// What a blob is, by its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Manifest(Flavor),
    Index(Flavor),
    Config(Flavor),
    Layer {
        compression: Compression,
        /// Nondistributable (OCI) or foreign (Docker): the blob may live only at its URLs.
        foreign: bool,
    },
}

/// Classifies a media type; `None` for one berth does not know.
pub fn classify(media_type: &str) -> Option<Kind> {
    use Compression::{Gzip, None as Plain, Zstd};
    let layer = |compression, foreign| Kind::Layer {
        compression,
        foreign,
    };
    Some(match media_type {
        OCI_MANIFEST => Kind::Manifest(Flavor::Oci),
        DOCKER_MANIFEST => Kind::Manifest(Flavor::Docker),
        OCI_INDEX => Kind::Index(Flavor::Oci),
        DOCKER_MANIFEST_LIST => Kind::Index(Flavor::Docker),
        OCI_CONFIG => Kind::Config(Flavor::Oci),
        DOCKER_CONFIG => Kind::Config(Flavor::Docker),
        OCI_LAYER | DOCKER_LAYER => layer(Plain, false),
        OCI_LAYER_GZIP | DOCKER_LAYER_GZIP => layer(Gzip, false),
        OCI_LAYER_ZSTD | DOCKER_LAYER_ZSTD => layer(Zstd, false),
        OCI_LAYER_NONDIST => layer(Plain, true),
        OCI_LAYER_NONDIST_GZIP | DOCKER_FOREIGN_LAYER => layer(Gzip, true),
        OCI_LAYER_NONDIST_ZSTD => layer(Zstd, true),
        _ => return None,
    })
}

/// The layer media type of `flavor` for a blob compressed this way.
pub fn layer_media_type(flavor: Flavor, compression: Compression) -> &'static str {
    match (flavor, compression) {
        (Flavor::Oci, Compression::None) => OCI_LAYER,
        (Flavor::Oci, Compression::Gzip) => OCI_LAYER_GZIP,
        (Flavor::Oci, Compression::Zstd) => OCI_LAYER_ZSTD,
        (Flavor::Docker, Compression::None) => DOCKER_LAYER,
        (Flavor::Docker, Compression::Gzip) => DOCKER_LAYER_GZIP,
        (Flavor::Docker, Compression::Zstd) => DOCKER_LAYER_ZSTD,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_both_specs_and_refuses_unknown() {
        assert_eq!(
            classify(DOCKER_MANIFEST),
            Some(Kind::Manifest(Flavor::Docker))
        );
        assert_eq!(classify(OCI_INDEX), Some(Kind::Index(Flavor::Oci)));
        assert_eq!(
            classify(DOCKER_LAYER_GZIP),
            Some(Kind::Layer {
                compression: Compression::Gzip,
                foreign: false
            })
        );
        assert_eq!(
            classify(OCI_LAYER_ZSTD),
            Some(Kind::Layer {
                compression: Compression::Zstd,
                foreign: false
            })
        );
        assert_eq!(classify("application/vnd.example+json"), None);
        for flavor in [Flavor::Oci, Flavor::Docker] {
            for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
                assert_eq!(
                    classify(layer_media_type(flavor, c)),
                    Some(Kind::Layer {
                        compression: c,
                        foreign: false
                    })
                );
            }
        }
    }
}
