//! What a pull or push reports while it works, per layer (by its blob digest), in the
//! order Docker's progress stream reports it; the caller renders it (the engine as
//! Docker's JSON progress messages, a CLI as bars).

use berth_image::Digest;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    // pull
    /// Queued: the download has not started.
    Waiting,
    Downloading {
        current: u64,
        total: u64,
    },
    /// The connection broke; resuming from `at` after a pause (attempt `attempt`).
    Retrying {
        at: u64,
        attempt: u32,
    },
    /// Downloaded and verified against its digest.
    DownloadComplete,
    Extracting {
        current: u64,
        total: u64,
    },
    PullComplete,
    /// The layer was in the store: nothing downloaded.
    AlreadyExists,
    // push
    /// Checking whether the registry has it.
    Preparing,
    Pushing {
        current: u64,
        total: u64,
    },
    Pushed,
    /// The registry had the blob already.
    LayerExists,
    /// Mounted from another repository of the registry without uploading.
    Mounted {
        from: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The layer's blob digest (Docker shows its first 12 hex digits).
    pub digest: Digest,
    pub status: Status,
}

/// Receives a pull's or push's events, from several threads; `cancelled` lets the
/// receiver stop the operation (checked between chunks).
pub trait Observer: Send + Sync {
    fn event(&self, event: Event);
    fn cancelled(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _: Event) {}
}

impl<F: Fn(Event) + Send + Sync> Observer for F {
    fn event(&self, event: Event) {
        self(event)
    }
}

/// Docker's short id of a layer: the first 12 hex digits of its digest.
pub fn short_id(d: &Digest) -> String {
    d.hex()[..12].to_owned()
}
