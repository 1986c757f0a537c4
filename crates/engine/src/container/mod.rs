//! Containers: the persistent [`record::Record`], the in-memory [`Container`] handle that
//! serializes lifecycle operations and tells waiters about exits, and one module per
//! operation.

pub mod archive;
pub mod attach;
pub mod commit;
pub mod create;
pub mod exec;
pub mod exit;
pub mod health;
pub mod inspect;
pub mod list;
pub mod logs;
pub mod names;
pub mod record;
pub mod remove;
pub mod spec;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub use berth_runtime::user;

use std::path::PathBuf;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::error::Result;
use record::{Record, Status};

/// What waiters watch: counters that only grow, so "the next exit" is well defined.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    pub starts: u64,
    pub exits: u64,
    pub last_exit: i64,
    pub removed: bool,
    pub running: bool,
    /// A shim is up and accepts attach connections (created or running).
    pub shim_up: bool,
}

#[derive(Debug)]
pub struct Container {
    pub id: String,
    /// `<data-root>/containers/<id>`: record, rootfs, logs.
    pub dir: PathBuf,
    /// `<exec-root>/c/<id>`: the shim's socket and exit file.
    pub state_dir: PathBuf,
    record: Mutex<Record>,
    /// Held across start, stop, kill, remove, restart: one lifecycle change at a time.
    pub op: tokio::sync::Mutex<()>,
    lifecycle: watch::Sender<Lifecycle>,
    /// Attach requests waiting for the shim before `start` may let the process run.
    pub pending_attach: Mutex<u32>,
    pub attach_done: tokio::sync::Notify,
}

impl Container {
    pub fn new(record: Record, dir: PathBuf, state_dir: PathBuf) -> Container {
        let running = record.state.status.is_running();
        Container {
            id: record.id.clone(),
            dir,
            state_dir,
            record: Mutex::new(record),
            op: tokio::sync::Mutex::new(()),
            lifecycle: watch::channel(Lifecycle {
                running,
                ..Lifecycle::default()
            })
            .0,
            pending_attach: Mutex::new(0),
            attach_done: tokio::sync::Notify::new(),
        }
    }

    /// A copy of the record.
    pub fn record(&self) -> Record {
        self.record.lock().expect("record lock").clone()
    }

    pub fn status(&self) -> Status {
        self.record.lock().expect("record lock").state.status
    }

    pub fn name(&self) -> String {
        self.record.lock().expect("record lock").name.clone()
    }

    /// Changes the record and writes it to disk before anyone sees the change.
    pub fn update<T>(&self, f: impl FnOnce(&mut Record) -> T) -> Result<T> {
        let mut r = self.record.lock().expect("record lock");
        let mut next = r.clone();
        let out = f(&mut next);
        next.save(&self.dir)?;
        *r = next;
        Ok(out)
    }

    /// Changes what only lives in memory until the next save (health results).
    pub fn update_in_memory<T>(&self, f: impl FnOnce(&mut Record) -> T) -> T {
        f(&mut self.record.lock().expect("record lock"))
    }

    pub fn subscribe(&self) -> watch::Receiver<Lifecycle> {
        self.lifecycle.subscribe()
    }

    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle.borrow().clone()
    }

    pub fn notify(&self, f: impl FnOnce(&mut Lifecycle)) {
        self.lifecycle.send_modify(f);
    }
}

/// Docker's 64-hex ids, from the kernel's random pool.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    // getrandom(2) with no flags blocks only before the pool is initialized at boot.
    // SAFETY: the buffer is valid for 32 writable bytes.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    assert_eq!(n, 32, "getrandom");
    hex::encode(bytes)
}
