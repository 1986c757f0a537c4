//! Network records on disk: one `<id>.json` per network under `<data-root>/networks`,
//! each replaced whole (temp file, fsync, rename, fsync of the directory), so a daemon
//! killed mid-write keeps the old record or the new one, never half of either.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{NetworkError, Result};
use crate::network::Network;

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store> {
        fs::create_dir_all(dir).map_err(NetworkError::io("create", dir))?;
        Ok(Store { dir: dir.to_owned() })
    }

    pub fn load_all(&self) -> Result<Vec<Network>> {
        let mut out = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(NetworkError::io("read", &self.dir))? {
            let e = e.map_err(NetworkError::io("read", &self.dir))?;
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                let bytes = fs::read(&p).map_err(NetworkError::io("read", &p))?;
                let n: Network = serde_json::from_slice(&bytes)
                    .map_err(|source| NetworkError::Record { path: p.clone(), source })?;
                out.push(n);
            }
        }
        Ok(out)
    }

    /// Writes a record durably: for what exists nowhere else (a network's definition).
    pub fn save(&self, n: &Network) -> Result<()> {
        self.write(n, true)
    }

    /// Writes a record atomically but without waiting for the disk: for address
    /// bookkeeping, which recovery rebuilds from the containers' own (durable) records,
    /// so a lost update costs nothing and a container start saves two fsyncs.
    pub fn save_allocations(&self, n: &Network) -> Result<()> {
        self.write(n, false)
    }

    fn write(&self, n: &Network, durable: bool) -> Result<()> {
        let path = self.dir.join(format!("{}.json", n.id));
        let tmp = self.dir.join(format!(".{}.json.tmp", n.id));
        let bytes = serde_json::to_vec_pretty(n).expect("a network record always encodes");
        let mut f = fs::File::create(&tmp).map_err(NetworkError::io("create", &tmp))?;
        f.write_all(&bytes).map_err(NetworkError::io("write", &tmp))?;
        if durable {
            f.sync_all().map_err(NetworkError::io("fsync", &tmp))?;
        }
        fs::rename(&tmp, &path).map_err(NetworkError::io("rename", &path))?;
        if durable {
            fs::File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(NetworkError::io("fsync", &self.dir))?;
        }
        Ok(())
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let path = self.dir.join(format!("{id}.json"));
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetworkError::io("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}
