//! Phase timings for profiling container start-up: with `BERTH_RUNTIME_TIMING=1` in the
//! environment, each marked phase prints its offset from process start to stderr.

use std::sync::OnceLock;
use std::time::Instant;

fn start() -> Option<Instant> {
    static START: OnceLock<Option<Instant>> = OnceLock::new();
    *START.get_or_init(|| std::env::var_os("BERTH_RUNTIME_TIMING").map(|_| Instant::now()))
}

/// Records that `phase` was reached (a no-op unless timing is enabled).
pub fn mark(phase: &str) {
    if let Some(t) = start() {
        eprintln!("[timing {} {:>8.3} ms] {phase}", std::process::id(), t.elapsed().as_secs_f64() * 1000.0);
    }
}
