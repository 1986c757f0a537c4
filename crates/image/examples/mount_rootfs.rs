//! Microbenchmark: preparing one container's root filesystem from a 10-layer image.
//!
//! ```sh
//! sudo cargo run --release -p berth-image --example mount_rootfs -- [N=200]
//! ```
//!
//! Unpacks a 10-layer image into a temp store, then N times: `mount_rootfs` into a fresh
//! container directory, `unmount`, and removes the directory (untimed). Prints the median
//! and p90 microseconds of mount and of unmount, and which driver was used.
//!
//! Everything lives in one temp directory that is unmounted and removed on exit, and on
//! panic too: the release profile aborts on panic, so no destructor would run; a panic
//! hook does the cleanup instead.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_image::{mount_rootfs, ChainId, Store};
use nix::mount::{umount2, MntFlags};

const LAYERS: usize = 10;

fn main() {
    let n: usize = match std::env::args().nth(1) {
        None => 200,
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!("usage: mount_rootfs [N=200]: N must be a positive integer, not {a:?}");
            std::process::exit(2)
        }),
    };
    if !nix::unistd::geteuid().is_root() {
        eprintln!("mount_rootfs: needs root (overlay mounts, layer ownership)");
        std::process::exit(2);
    }
    let dir = tempfile::Builder::new()
        .prefix("berth-bench-mount.")
        .tempdir()
        .expect("create temp dir");
    let work = dir.path().to_owned();
    let hook_dir = work.clone();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        clean_up(&hook_dir);
        default_hook(info);
    }));

    let store = Store::open(&work.join("store")).expect("open store");
    let chain = ten_layers(&store);
    let mut mount = Vec::with_capacity(n);
    let mut unmount = Vec::with_capacity(n);
    let mut driver = None;
    for i in 0..n {
        let container = work.join(format!("c{i}"));
        let t0 = Instant::now();
        let root = mount_rootfs(store.layers(), &chain, &container).expect("mount_rootfs");
        mount.push(t0.elapsed());
        driver.get_or_insert(root.kind());
        debug_assert!(root.path().join("layer9/f0").exists());
        let t1 = Instant::now();
        root.unmount().expect("unmount");
        unmount.push(t1.elapsed());
        fs::remove_dir_all(&container).expect("remove container dir");
    }
    println!(
        "rootfs of a {LAYERS}-layer image, {n} runs, driver {:?}",
        driver.expect("at least one run")
    );
    for (what, samples) in [("mount", &mut mount), ("unmount", &mut unmount)] {
        println!(
            "{what:<8} median {:>8} us   p90 {:>8} us",
            micros(percentile(samples, 50)),
            micros(percentile(samples, 90))
        );
    }
    drop(store);
    clean_up(&work);
}

/// Ten layers of a few directories and files each, unpacked bottom first.
fn ten_layers(store: &Store) -> Vec<ChainId> {
    let mut chain: Vec<ChainId> = Vec::with_capacity(LAYERS);
    for l in 0..LAYERS {
        let mut b = tar::Builder::new(Vec::new());
        for f in 0..20 {
            let data = format!("layer {l} file {f}\n").repeat(50);
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(1_700_000_000);
            h.set_uid(0);
            h.set_gid(0);
            b.append_data(
                &mut h,
                format!("layer{l}/f{f}"),
                io::Cursor::new(data.into_bytes()),
            )
            .expect("build layer");
        }
        let tar = b.into_inner().expect("build layer");
        let info = store
            .layers()
            .unpack(chain.last(), None, &tar[..])
            .expect("unpack layer");
        chain.push(info.chain_id);
    }
    chain
}

/// Detaches every mount under `dir` (deepest first) and removes it.
fn clean_up(dir: &Path) {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut under: Vec<PathBuf> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(PathBuf::from)
        .filter(|m| m.starts_with(dir))
        .collect();
    under.sort();
    for m in under.iter().rev() {
        let _ = umount2(m, MntFlags::MNT_DETACH);
    }
    let _ = fs::remove_dir_all(dir);
}

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    let i = (samples.len() * p).div_ceil(100).saturating_sub(1);
    samples[i.min(samples.len() - 1)]
}

fn micros(d: Duration) -> u128 {
    d.as_micros()
}
