//! The informational commands runc users and tools rely on: ps, list, state, events,
//! features, spec, and exec's --detach/--pid-file.

use berth_test_support::{unique_id, Bundle, Runtime};
use serde_json::Value;

#[test]
fn ps_lists_the_containers_processes_and_list_shows_it_running() {
    let rt = Runtime::new();
    let bundle = Bundle::new("ps").args(&["sh", "-c", "sleep 300 & exec sleep 301"]);
    let id = unique_id("ps");
    rt.create_and_start(&bundle, &id);
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    // The background sleep may take a moment to exist.
    let mut pids: Vec<i64> = Vec::new();
    for _ in 0..50 {
        let out = rt.output(&["ps", "--format", "json", &id]).ok();
        pids = serde_json::from_str(&out.stdout).unwrap();
        if pids.len() == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&init));
    let table = rt.output(&["ps", &id]).ok();
    assert!(table.stdout.lines().next().unwrap().contains("PID"), "{table}");
    assert_eq!(table.stdout.lines().count(), 3, "{table}");

    let quiet = rt.output(&["list", "-q"]).ok();
    assert_eq!(quiet.stdout.trim(), id);
    let listed = rt.output(&["list"]).ok();
    let row = listed.stdout.lines().find(|l| l.starts_with(&id)).unwrap_or_default().to_string();
    assert!(row.contains("running") && row.contains(&init.to_string()), "{listed}");
    rt.delete_force(&id).ok();
}

#[test]
fn state_has_the_oci_fields_and_events_report_memory_and_pids() {
    let rt = Runtime::new();
    let bundle = Bundle::new("events").args(&["sleep", "300"]);
    let id = unique_id("events");
    rt.create(&bundle, &id).ok();
    let st = rt.state(&id);
    for key in ["ociVersion", "id", "pid", "status", "bundle", "created"] {
        assert!(st.get(key).is_some(), "state lacks {key}: {st}");
    }
    assert_eq!(st["status"], "created");
    rt.start(&id).ok();
    let out = rt.output(&["events", "--stats", &id]).ok();
    let ev: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(ev["type"], "stats");
    assert!(ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0, "{ev}");
    assert!(ev["data"]["pids"]["current"].as_u64().unwrap_or(0) >= 1, "{ev}");
    rt.delete_force(&id).ok();
}

#[test]
fn features_and_spec_describe_what_the_runtime_supports() {
    let rt = Runtime::new();
    let f: Value = serde_json::from_str(&rt.output(&["features"]).ok().stdout).unwrap();
    assert!(f["linux"]["namespaces"].as_array().unwrap().iter().any(|n| n == "user"));
    assert_eq!(f["linux"]["seccomp"]["enabled"], true);
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().to_str().unwrap();
    rt.output(&["spec", "--bundle", b]).ok();
    let spec: Value = serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["root"]["path"], "rootfs");
    // A second spec refuses to overwrite it.
    let again = rt.output(&["spec", "--bundle", b]);
    assert!(!again.success() && again.stderr.contains("already exists"), "{again}");
}

#[test]
fn exec_detach_writes_the_pid_of_the_new_process() {
    let rt = Runtime::new();
    let bundle = Bundle::new("exec-detach").args(&["sleep", "300"]);
    let id = unique_id("exec-detach");
    rt.create_and_start(&bundle, &id);
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    rt.output(&["exec", "--detach", "--pid-file", pid_file.to_str().unwrap(), &id, "sleep", "302"]).ok();
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(cmdline, "sleep\u{0}302\u{0}");
    // It lives in the container's pid namespace.
    let init = rt.state(&id)["pid"].as_i64().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap(),
        std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap()
    );
    rt.delete_force(&id).ok();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists() || std::fs::read_to_string(format!("/proc/{pid}/cmdline")).map_or(true, |c| c != cmdline));
}

#[test]
fn a_relative_pid_file_is_written_in_the_callers_directory() {
    let rt = Runtime::new();
    let bundle = Bundle::new("pid-file").args(&["sleep", "300"]);
    let id = unique_id("pid-file");
    let cwd = tempfile::tempdir().unwrap();
    let status = rt
        .command(&["create", "--bundle", bundle.path().to_str().unwrap(), "--pid-file", "init.pid", &id])
        .current_dir(cwd.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let pid: i64 = std::fs::read_to_string(cwd.path().join("init.pid")).unwrap().trim().parse().unwrap();
    assert_eq!(rt.state(&id)["pid"].as_i64(), Some(pid));
    assert!(!bundle.path().join("init.pid").exists(), "written relative to the bundle instead");
    rt.delete_force(&id).ok();
}
