//! `docker import`: a root filesystem tarball becomes a one-layer image.
//!
//! Order is what makes it atomic: the layer blob, the unpacked layer, the config and the
//! manifest are all stored (each atomically) before the reference is written to the index,
//! so an interrupted import leaves only unreferenced content, never a visible half image.

use std::io::{Read, Seek};
use std::time::{SystemTime, UNIX_EPOCH};

use oci_spec::image::{
    Arch, Descriptor, HistoryBuilder, ImageConfigurationBuilder, ImageManifestBuilder, MediaType,
    Os, RootFsBuilder,
};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::ImageId;
use crate::layer::compression::Compression;
use crate::reference::Reference;
use crate::store::Store;

fn encode(what: &'static str) -> impl Fn(String) -> Error {
    move |reason| Error::Encode { what, reason }
}

impl Store {
    /// Imports a root filesystem archive (tar, gzip or zstd) as a one-layer image tagged
    /// `reference`, returning the image id (its config digest).
    pub fn import_rootfs_tar(&self, reader: impl Read, reference: &Reference) -> Result<ImageId> {
        self.import_rootfs_tar_as(reader, Some(reference))
    }

    /// As [`import_rootfs_tar`](Self::import_rootfs_tar); with no reference the image is
    /// recorded untagged (dangling), as `docker import FILE` does.
    pub fn import_rootfs_tar_as(
        &self,
        reader: impl Read,
        reference: Option<&Reference>,
    ) -> Result<ImageId> {
        if let Some(reference) = reference.filter(|r| r.digest().is_some()) {
            return Err(Error::ParseReference {
                input: reference.to_string(),
                reason: "an import is tagged, a digest cannot be chosen".to_owned(),
            });
        }
        let layer_digest = self.blobs().put_stream(reader, None)?;
        let layer_size = self.blobs().size(&layer_digest)?;
        let mut blob = self.blobs().get(&layer_digest)?;
        let compression = sniff(&mut blob, &layer_digest)?;
        let layer = self.layers().unpack(None, None, blob)?;

        let created = rfc3339(SystemTime::now());
        let history = HistoryBuilder::default()
            .created(created.clone())
            .created_by("berth import")
            .comment("imported from tarball")
            .build()
            .map_err(|e| encode("image history")(e.to_string()))?;
        let rootfs = RootFsBuilder::default()
            .typ("layers")
            .diff_ids(vec![layer.diff_id.to_string()])
            .build()
            .map_err(|e| encode("image rootfs")(e.to_string()))?;
        let config = ImageConfigurationBuilder::default()
            .created(created)
            .architecture(Arch::default())
            .os(Os::default())
            .rootfs(rootfs)
            .history(vec![history])
            .build()
            .map_err(|e| encode("image config")(e.to_string()))?;
        let config_json =
            serde_json::to_vec(&config).map_err(|e| encode("image config")(e.to_string()))?;
        let config_digest = self.blobs().put_bytes(&config_json)?;

        let manifest = ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(descriptor(
                MediaType::ImageConfig,
                config_json.len() as u64,
                &config_digest,
            )?)
            .layers(vec![descriptor(
                compression.layer_media_type(),
                layer_size,
                &layer_digest,
            )?])
            .build()
            .map_err(|e| encode("image manifest")(e.to_string()))?;
        let manifest_json =
            serde_json::to_vec(&manifest).map_err(|e| encode("image manifest")(e.to_string()))?;
        let manifest_digest = self.blobs().put_bytes(&manifest_json)?;

        match reference {
            Some(r) => self.images().set(r, &manifest_digest)?,
            None => self.images().add_untagged(&manifest_digest)?,
        }
        Ok(ImageId(config_digest))
    }
}

fn descriptor(media_type: MediaType, size: u64, digest: &Digest) -> Result<Descriptor> {
    let d: oci_spec::image::Digest = digest
        .to_string()
        .parse()
        .map_err(|e: oci_spec::OciSpecError| encode("descriptor")(e.to_string()))?;
    Ok(Descriptor::new(media_type, size, d))
}

/// The blob's compression, from its magic bytes; leaves the file at its start.
fn sniff(blob: &mut std::fs::File, digest: &Digest) -> Result<Compression> {
    let read_err = |source| Error::ReadBlob {
        digest: digest.clone(),
        source,
    };
    let mut head = Vec::with_capacity(4);
    blob.by_ref()
        .take(4)
        .read_to_end(&mut head)
        .map_err(read_err)?;
    blob.rewind().map_err(read_err)?;
    Ok(Compression::detect(&head))
}

/// RFC 3339 in UTC, seconds precision, as image configs carry it. Days are turned into a
/// civil date by counting 400-year eras (the Gregorian cycle) from 0000-03-01, so leap days
/// fall at the end of a year; a date crate for one timestamp is not worth its weight.
/// A creation time as the image config records it (one formatter for the crate).
fn rfc3339(t: SystemTime) -> String {
    crate::image::rfc3339(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{mount_rootfs, DriverKind};
    use crate::layer::fixture::TarFixture;
    use std::fs;
    use std::time::Duration;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn import_makes_a_one_layer_image_and_mounts_it() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let tar = TarFixture::new()
            .dir("bin/")
            .file("bin/sh", b"#!shell")
            .file("etc/hostname", b"box\n")
            .finish();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let reference = Reference::parse("myimage:v1").unwrap();

        let id = store.import_rootfs_tar(&gz[..], &reference).unwrap();
        let image = store
            .image(&reference)
            .unwrap()
            .expect("imported image is indexed");
        assert_eq!(image.id, id);
        assert_eq!(
            image.config.rootfs().diff_ids(),
            &vec![Digest::of(&tar).to_string()]
        );
        assert_eq!(image.config.history().as_ref().unwrap().len(), 1);
        let layer = &image.manifest.layers()[0];
        assert_eq!(layer.media_type(), &MediaType::ImageLayerGzip);
        assert_eq!(layer.digest().to_string(), Digest::of(&gz).to_string());
        assert_eq!(layer.size(), gz.len() as u64);
        assert_eq!(
            image.manifest.config().media_type(),
            &MediaType::ImageConfig
        );
        let index = fs::read_to_string(store.root().join("images.json")).unwrap();
        assert!(index.contains("docker.io/library/myimage:v1"), "{index}");
        assert!(
            index.contains(&image.manifest_digest.to_string()),
            "{index}"
        );

        let chain = image.chain().unwrap();
        assert!(store.layers().exists(&chain[0]));
        let container = dir.path().join("c");
        let root = mount_rootfs(store.layers(), &chain, &container).unwrap();
        assert_eq!(
            fs::read(root.path().join("etc/hostname")).unwrap(),
            b"box\n"
        );
        if root.kind() == DriverKind::Overlay {
            root.unmount().unwrap();
        }

        // Importing the same content again gives an image with the same layer (unpacked once).
        let again = store
            .import_rootfs_tar(&tar[..], &Reference::parse("other").unwrap())
            .unwrap();
        let other = store
            .image(&Reference::parse("other").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(other.id, again);
        assert_eq!(other.chain().unwrap(), chain);
        assert_eq!(
            fs::read_dir(store.root().join("layers")).unwrap().count(),
            1
        );
    }

    #[test]
    fn failed_import_is_not_visible() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hostile = TarFixture::new().file("../../etc/x", b"pwn").finish();
        let reference = Reference::parse("evil").unwrap();
        let err = store
            .import_rootfs_tar(&hostile[..], &reference)
            .unwrap_err();
        assert!(err.to_string().contains("../../etc/x"), "{err}");
        assert!(store.image(&reference).unwrap().is_none());
        assert!(store.images().list().unwrap().is_empty());
        assert_eq!(fs::read_dir(dir.path().join("layers")).unwrap().count(), 0);
    }

    #[test]
    fn import_refuses_digest_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let r = Reference::parse(&format!("a@{}", Digest::of(b""))).unwrap();
        assert!(store.import_rootfs_tar(&b""[..], &r).is_err());
    }
}
