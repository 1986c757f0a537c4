//! The content-addressed blob store: `<root>/blobs/sha256/<hex>`.
//!
//! A blob becomes visible only once complete and verified: it is streamed into a temp file
//! inside the store (same filesystem, so the final rename is atomic), hashed while it is
//! written, fsynced, and renamed to its digest. A stream that fails or does not match the
//! expected digest leaves nothing behind. A pull stages its blobs unsynced and makes them
//! durable with one syncfs before they are renamed ([`BlobStore::stage`]).

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::digest::{Digest, DigestingReader};
use crate::error::{Error, Result};
use crate::store::atomic;
use crate::store::content::{Item, Pending};

/// A verified blob waiting in the store's temp directory (see [`BlobStore::stage`]).
#[derive(Debug)]
pub struct StagedBlob {
    tmp: tempfile::NamedTempFile,
    digest: Digest,
}

impl StagedBlob {
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The blob's content, from the start.
    pub fn open(&self) -> io::Result<File> {
        self.tmp.reopen()
    }
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    /// `<root>/blobs/sha256`
    dir: PathBuf,
    /// `<root>/tmp`: where blobs are written before they are verified.
    tmp: PathBuf,
    /// Blobs written and not yet named by the index: spared by garbage collection.
    pending: Pending,
}

impl BlobStore {
    /// Opens (creating if needed) the blob store under the store root.
    pub fn open(root: &Path) -> Result<BlobStore> {
        let dir = root.join("blobs").join(Digest::ALGORITHM);
        let tmp = root.join("tmp");
        atomic::create_dir(&dir)?;
        atomic::create_dir(&tmp)?;
        Ok(BlobStore {
            dir,
            tmp,
            pending: Pending::default(),
        })
    }

    pub(crate) fn with_pending(mut self, pending: Pending) -> BlobStore {
        self.pending = pending;
        self
    }

    pub(crate) fn pending(&self) -> &Pending {
        &self.pending
    }

    /// Every blob in the store. Names that are not a digest (nothing this store writes)
    /// are skipped.
    pub fn list(&self) -> Result<Vec<Digest>> {
        super::digests_in(&self.dir)
    }

    /// Where the blob with this digest lives (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    /// Stores the stream, returning its digest. With `expected`, the content must hash to it,
    /// or the call fails with [`Error::DigestMismatch`] and nothing is stored.
    pub fn put_stream(&self, reader: impl Read, expected: Option<&Digest>) -> Result<Digest> {
        let staged = self.stage(reader, expected)?;
        self.publish_synced(staged)
    }

    /// Makes one staged blob durable (fsync) and publishes it: for a blob that is
    /// written alone (a config), where no later [`sync`](Self::sync) would cover it.
    pub fn publish_synced(&self, staged: StagedBlob) -> Result<Digest> {
        staged.tmp.as_file().sync_all().map_err(|source| Error::WriteBlob {
            path: self.path(&staged.digest),
            source,
        })?;
        self.publish(staged)
    }

    /// Writes and verifies a blob as [`put_stream`](Self::put_stream) does, but neither
    /// makes it durable nor puts it in the store: for a caller writing several blobs (a
    /// pull) that makes them all durable with one [`sync`](Self::sync) and then
    /// [`publish`](Self::publish)es them. Why: an fsync of each big blob, beside the
    /// unpacking of other layers, stalls every file creation on the same ext4 journal (on
    /// the test VM an unpack took 2.0 s instead of 0.73 s with three 52 MB fsyncs beside
    /// it). Dropping the [`StagedBlob`] deletes it.
    pub fn stage(&self, reader: impl Read, expected: Option<&Digest>) -> Result<StagedBlob> {
        let write_err = |source| Error::WriteBlob {
            path: self.tmp.clone(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp)
            .map_err(write_err)?;
        let mut reader = DigestingReader::new(reader);
        io::copy(&mut reader, tmp.as_file_mut()).map_err(write_err)?;
        let (actual, _) = reader.finish();
        if let Some(expected) = expected {
            if expected != &actual {
                // Dropping `tmp` deletes it: the store never holds unverified content.
                return Err(Error::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(StagedBlob { tmp, digest: actual })
    }

    /// Puts a staged blob in the store under its digest. The caller has made it durable
    /// since (an fsync of it, or a [`sync`](Self::sync) of the file system).
    pub fn publish(&self, staged: StagedBlob) -> Result<Digest> {
        let StagedBlob { tmp, digest } = staged;
        // Pending from before it is visible, so a sweep never sees it unprotected.
        self.pending.add(Item::Blob(digest.clone()));
        let path = self.path(&digest);
        let write_err = |source| Error::WriteBlob {
            path: path.clone(),
            source,
        };
        // Renaming over an existing blob is harmless: same digest, same bytes.
        tmp.persist(&path).map_err(|e| write_err(e.error))?;
        atomic::sync_dir(&self.dir).map_err(write_err)?;
        Ok(digest)
    }

    /// Makes everything written to the store's file system durable (syncfs), staged
    /// blobs included.
    pub fn sync(&self) -> Result<()> {
        let write_err = |source| Error::WriteBlob {
            path: self.tmp.clone(),
            source,
        };
        let dir = File::open(&self.tmp).map_err(write_err)?;
        nix::unistd::syncfs(&dir).map_err(|e| write_err(e.into()))
    }

    /// Stores `bytes` (a manifest, a config), returning their digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        self.put_stream(bytes, None)
    }

    /// Opens the blob for reading.
    pub fn get(&self, digest: &Digest) -> Result<File> {
        File::open(self.path(digest)).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::BlobNotFound(digest.clone()),
            _ => Error::ReadBlob {
                digest: digest.clone(),
                source,
            },
        })
    }

    /// Reads a small blob whole, verifying it: metadata (manifests, configs) is parsed from
    /// these bytes, so a blob corrupted on disk must not be trusted.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.get(digest)?
            .read_to_end(&mut bytes)
            .map_err(|source| Error::ReadBlob {
                digest: digest.clone(),
                source,
            })?;
        digest.verify(&bytes)?;
        Ok(bytes)
    }

    pub fn exists(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// The blob's size in bytes.
    pub fn size(&self, digest: &Digest) -> Result<u64> {
        match fs::metadata(self.path(digest)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(Error::BlobNotFound(digest.clone()))
            }
            Err(source) => Err(Error::ReadBlob {
                digest: digest.clone(),
                source,
            }),
        }
    }

    /// Deletes the blob. Removing a blob that is not there is an error, so callers notice
    /// bookkeeping that went wrong.
    pub fn remove(&self, digest: &Digest) -> Result<()> {
        fs::remove_file(self.path(digest)).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::BlobNotFound(digest.clone()),
            _ => Error::RemoveBlob {
                digest: digest.clone(),
                source,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = BlobStore::open(dir.path()).unwrap();
        (dir, s)
    }

    #[test]
    fn put_get_exists_remove() {
        let (root, s) = store();
        let d = s.put_stream(&b"layer bytes"[..], None).unwrap();
        assert_eq!(d, Digest::of(b"layer bytes"));
        assert!(s.exists(&d));
        assert_eq!(root.path().join("blobs/sha256").join(d.hex()), s.path(&d));
        assert_eq!(s.read(&d).unwrap(), b"layer bytes");
        assert_eq!(s.size(&d).unwrap(), 11);
        s.remove(&d).unwrap();
        assert!(!s.exists(&d));
        assert!(matches!(s.get(&d), Err(Error::BlobNotFound(_))));
        assert!(matches!(s.remove(&d), Err(Error::BlobNotFound(_))));
    }

    #[test]
    fn expected_digest_is_checked_and_mismatch_stores_nothing() {
        let (root, s) = store();
        let good = Digest::of(b"good");
        assert_eq!(s.put_stream(&b"good"[..], Some(&good)).unwrap(), good);
        let err = s.put_stream(&b"evil"[..], Some(&good)).unwrap_err();
        assert!(
            matches!(err, Error::DigestMismatch { ref actual, .. } if actual == &Digest::of(b"evil"))
        );
        assert!(!s.exists(&Digest::of(b"evil")));
        assert_eq!(fs::read_dir(root.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(s.read(&good).unwrap(), b"good");
    }

    #[test]
    fn failing_stream_stores_nothing() {
        struct Broken(usize);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("connection reset"));
                }
                self.0 -= 1;
                buf[0] = b'x';
                Ok(1)
            }
        }
        let (root, s) = store();
        assert!(matches!(
            s.put_stream(Broken(3), None),
            Err(Error::WriteBlob { .. })
        ));
        assert_eq!(fs::read_dir(root.path().join("tmp")).unwrap().count(), 0);
        assert_eq!(
            fs::read_dir(root.path().join("blobs/sha256"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn read_detects_corruption_on_disk() {
        let (_root, s) = store();
        let d = s.put_bytes(b"{}").unwrap();
        fs::write(s.path(&d), b"{\"x\":1}").unwrap();
        assert!(matches!(s.read(&d), Err(Error::DigestMismatch { .. })));
    }
}
