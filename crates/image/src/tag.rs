//! `docker tag`: more names for an image already in the store. A tag is one entry of the
//! index, so tagging writes no content and can never publish a half image; untagging only
//! forgets the name (the image stays, dangling if that was its last one, until
//! [`Store::remove_image`] or [`Store::prune`] deletes it).

use crate::error::{Error, Result};
use crate::image::{rfc3339_now, ImageId};
use crate::reference::Reference;
use crate::store::Store;

impl Store {
    /// Points `target` at the image `source` selects (a reference, a full or short id),
    /// moving `target` off whatever image it named before. Returns the image's id.
    pub fn tag(&self, source: &str, target: &Reference) -> Result<ImageId> {
        if target.digest().is_some() {
            return Err(Error::Tag {
                reference: target.to_string(),
                reason: "a tag cannot carry a digest",
            });
        }
        let mut tx = self.images().begin()?;
        let selected = self.select(&tx.index, source)?;
        let manifest = selected.manifests[0].clone();
        let id = self.id_of(&manifest)?;
        tx.index
            .references
            .insert(target.to_string(), manifest.clone());
        tx.index.images.entry(manifest).or_default().last_tag_time = Some(rfc3339_now());
        tx.commit()?;
        Ok(id)
    }

    /// Forgets the reference (a tag, or a `name@digest`), returning the id of the image it
    /// named. The image itself is kept.
    pub fn untag(&self, reference: &Reference) -> Result<ImageId> {
        let mut tx = self.images().begin()?;
        let Some(manifest) = tx.index.references.remove(&reference.to_string()) else {
            return Err(Error::ImageNotFound {
                reference: reference.to_string(),
            });
        };
        tx.commit()?;
        self.id_of(&manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{build, layer, ImageSpec};

    fn two_images(store: &Store) -> (ImageId, crate::Digest, ImageId) {
        let spec = |tags, content: &[u8]| ImageSpec {
            layers: vec![layer("f", content)],
            created: "2024-01-01T00:00:00Z",
            labels: &[],
            tags,
        };
        let (a, am) = build(store, &spec(&["app:1"], b"a"));
        let (b, _) = build(store, &spec(&["other"], b"b"));
        (a, am, b)
    }

    #[test]
    fn tag_by_reference_id_prefix_and_digest() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, manifest, b) = two_images(&store);
        fn r(s: &str) -> Reference {
            Reference::parse(s).unwrap()
        }

        assert_eq!(store.tag("app:1", &r("app:2")).unwrap(), a);
        assert_eq!(store.tag(&a.to_string(), &r("full")).unwrap(), a);
        assert_eq!(store.tag(a.0.hex(), &r("bare")).unwrap(), a);
        // The shortest prefix telling the two ids apart, and at least SHORT_ID_MIN.
        let common =
            a.0.hex()
                .chars()
                .zip(b.0.hex().chars())
                .take_while(|(x, y)| x == y)
                .count();
        let short = &a.0.hex()[..(common + 1).max(crate::image::SHORT_ID_MIN)];
        assert_eq!(store.tag(short, &r("short")).unwrap(), a);
        assert_eq!(
            store.tag(&format!("sha256:{short}"), &r("short2")).unwrap(),
            a
        );
        assert!(matches!(
            store.tag(&a.0.hex()[..3], &r("x")),
            Err(Error::ImageNotFound { .. })
        ));
        assert_eq!(
            store
                .tag(&format!("app@{manifest}"), &r("by-digest"))
                .unwrap(),
            a
        );
        assert!(store.tag(&format!("other@{manifest}"), &r("y")).is_err());
        assert!(matches!(
            store.tag("app:1", &r(&format!("z@{manifest}"))),
            Err(Error::Tag { .. })
        ));
        assert!(matches!(
            store.tag("nope", &r("x")),
            Err(Error::ImageNotFound { .. })
        ));
        // Retagging moves the name: `other` now names a.
        store.tag("app:1", &r("other")).unwrap();
        assert_eq!(store.resolve("other").unwrap().id, a);
        assert_eq!(store.resolve(b.0.hex()).unwrap().id, b, "b stays, dangling");

        assert_eq!(store.untag(&r("app:2")).unwrap(), a);
        assert!(store.image(&r("app:2")).unwrap().is_none());
        assert!(matches!(
            store.untag(&r("app:2")),
            Err(Error::ImageNotFound { .. })
        ));
        // After every tag is gone the image is still there, by id.
        for t in [
            "app:1",
            "full",
            "bare",
            "short",
            "short2",
            "by-digest",
            "other",
        ] {
            store.untag(&r(t)).unwrap();
        }
        assert_eq!(store.resolve(&a.to_string()).unwrap().id, a);
    }
}
