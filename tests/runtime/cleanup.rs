//! Nothing is left on the host after containers end, however they end.

use berth_test_support::{leaks, unique_id, Bundle, Runtime};

use crate::{host_pid, WAIT};

#[test]
fn hundred_sequential_runs_leave_no_mounts_cgroups_or_processes() {
    let rt = Runtime::new();
    let bundle = Bundle::new("seq").args(&["true"]);
    let base = unique_id("seq");
    let root = rt.root();
    let needles = [
        base.as_str(),
        bundle.path().to_str().unwrap(),
        root.to_str().unwrap(),
    ];
    let before = leaks::Snapshot::take(&needles);

    for i in 0..100 {
        rt.run(&bundle, &format!("{base}-{i}")).ok();
    }

    assert!(
        rt.list().is_empty(),
        "containers left in state: {:?}",
        rt.list()
    );
    leaks::assert_nothing_left(&before, &needles, WAIT);
}

#[test]
fn container_killed_with_sigkill_mid_run_leaves_nothing_behind() {
    let rt = Runtime::new();
    let bundle = Bundle::new("sigkill").args(&["sleep", "300"]);
    let id = unique_id("sigkill");
    let root = rt.root();
    let needles = [
        id.as_str(),
        bundle.path().to_str().unwrap(),
        root.to_str().unwrap(),
    ];
    let before = leaks::Snapshot::take(&needles);

    let run = rt.spawn_run(&bundle, &id);
    assert!(
        rt.wait_for_status(&id, "running", WAIT),
        "never running: {:?}",
        rt.status(&id)
    );
    let pid = host_pid(&rt.state(&id));
    // killed from outside the runtime, as the OOM killer or an admin would
    // SAFETY: kill(2) has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);

    let out = run.wait();
    assert_eq!(out.code(), Some(128 + libc::SIGKILL), "{out}");
    assert!(
        rt.list().is_empty(),
        "container left in state: {:?}",
        rt.list()
    );
    leaks::assert_nothing_left(&before, &needles, WAIT);
}

#[test]
fn killed_and_deleted_container_leaves_nothing_behind() {
    let rt = Runtime::new();
    let bundle = Bundle::new("kill-delete").args(&["sleep", "300"]);
    let id = unique_id("kill-delete");
    let needles = [id.as_str(), bundle.path().to_str().unwrap()];
    let before = leaks::Snapshot::take(&needles);

    rt.create_and_start(&bundle, &id);
    rt.kill(&id, "KILL").ok();
    assert!(rt.wait_for_status(&id, "stopped", WAIT));
    rt.delete(&id).ok();
    leaks::assert_nothing_left(&before, &needles, WAIT);
}
