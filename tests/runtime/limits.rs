//! Resource limits from the config.

use berth_test_support::{leaks, unique_id, Bundle, Runtime};
use serde_json::json;

use crate::WAIT;

fn nofile_limits() -> (u64, u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    (lim.rlim_cur, lim.rlim_max)
}

/// CAP_SYS_RESOURCE (bit 24) in our bounding set: we could raise hard limits.
fn can_raise_hard_limits() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim();
    u64::from_str_radix(bnd, 16).unwrap() & (1 << 24) != 0
}

#[test]
fn rlimit_within_the_hard_limit_is_applied() {
    let rt = Runtime::new();
    let bundle = Bundle::new("rlimit-ok")
        .config_mut(|c| {
            c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768}])
        })
        .args(&["sh", "-c", "ulimit -Sn; ulimit -Hn"]);
    let out = rt.run(&bundle, &unique_id("rlimit-ok")).ok();
    assert_eq!(out.stdout, "512\n768\n");
}

#[test]
fn rlimit_above_the_hard_limit_fails_with_a_clear_error() {
    if can_raise_hard_limits() {
        eprintln!("skipped: this host has CAP_SYS_RESOURCE, raising the hard limit is allowed");
        return;
    }
    let (_, hard) = nofile_limits();
    let too_many = hard + 1000;
    let rt = Runtime::new();
    let bundle = Bundle::new("rlimit-high")
        .config_mut(|c| {
            c["process"]["rlimits"] =
                json!([{"type": "RLIMIT_NOFILE", "soft": too_many, "hard": too_many}])
        })
        .args(&["sh", "-c", "echo container started"]);
    let id = unique_id("rlimit-high");
    let needles = [id.as_str(), bundle.path().to_str().unwrap()];
    let before = leaks::Snapshot::take(&needles);

    let out = rt.run(&bundle, &id).err();
    assert!(!out.stdout.contains("container started"), "{out}");
    let err = out.stderr.to_lowercase();
    assert!(
        err.contains("rlimit") || err.contains("nofile"),
        "error does not say which limit failed:\n{out}"
    );
    assert!(
        rt.list().is_empty(),
        "failed container left in state: {:?}",
        rt.list()
    );
    leaks::assert_nothing_left(&before, &needles, WAIT);
}
