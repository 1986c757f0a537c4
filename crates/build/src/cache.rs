//! The step cache: a step's key (its parent image and everything else its result depends
//! on) → the image it produced. One small file per key under the cache directory, written
//! to a temporary name and renamed, so the cache survives daemon restarts and a crash
//! never leaves a half-written entry; an entry whose image was since removed is a miss.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_image::{Image, Store};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// A step's cache key, built from the parts that decide its result.
#[derive(Debug, Clone)]
pub struct Key(Sha256);

impl Key {
    /// A key for a step on `parent` (`None`: `FROM scratch` before any layer).
    pub fn new(parent: Option<&Image>) -> Key {
        let mut h = Sha256::new();
        match parent {
            Some(p) => h.update(p.id.to_string()),
            None => h.update("scratch"),
        }
        Key(h)
    }

    /// Adds one part; parts are length-prefixed so `("ab","c")` and `("a","bc")` differ.
    pub fn part(mut self, part: impl AsRef<[u8]>) -> Key {
        let p = part.as_ref();
        self.0.update((p.len() as u64).to_le_bytes());
        self.0.update(p);
        self
    }

    fn hex(&self) -> String {
        hex::encode(self.0.clone().finalize())
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn open(dir: &Path) -> Result<Cache> {
        fs::create_dir_all(dir).map_err(Error::io("create build cache directory", dir))?;
        Ok(Cache { dir: dir.to_owned() })
    }

    /// The image a step with `key` produced before, if it is still in `store`.
    pub fn get(&self, store: &Store, key: &Key) -> Option<Image> {
        let id = fs::read_to_string(self.dir.join(key.hex())).ok()?;
        store.resolve(id.trim()).ok().filter(|i| i.id.to_string() == id.trim())
    }

    pub fn put(&self, key: &Key, image: &Image) -> Result<()> {
        let path = self.dir.join(key.hex());
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(Error::io("write build cache entry", &path))?;
        tmp.write_all(image.id.to_string().as_bytes()).map_err(Error::io("write build cache entry", &path))?;
        // No fsync: an entry lost to a crash is a cache miss, never a wrong image (the
        // image it names is durable in the store before the entry is written).
        tmp.persist(&path).map_err(|e| Error::io("write build cache entry", &path)(e.error))?;
        Ok(())
    }

    /// Forgets every entry (`docker builder prune`); returns how many there were.
    pub fn clear(&self) -> Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(&self.dir).map_err(Error::io("read build cache", &self.dir))?.flatten() {
            if fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        let a = Key::new(None).part("ab").part("c").hex();
        let b = Key::new(None).part("a").part("bc").hex();
        assert_ne!(a, b);
        assert_eq!(a, Key::new(None).part("ab").part("c").hex());
    }
}
