//! berthd end to end: each test starts its own daemon (own network namespace, own data
//! root, the busybox image) and drives it with a real client. Every scenario runs twice,
//! with the berth CLI and with the real docker CLI (28.x), as `NAME::berth` and
//! `NAME::docker`.

mod build;
mod containers;
mod lifecycle;
mod network;
mod recovery;
mod volumes;

use berth_test_support::Client;

pub use berth_test_support::both;

/// Polls `f` for up to `secs` seconds.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

pub fn name(c: Client) -> &'static str {
    match c {
        Client::Berth => "berth",
        Client::Docker => "docker",
    }
}
