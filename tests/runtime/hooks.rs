//! OCI lifecycle hooks: each kind runs, at its point of the lifecycle, with the state of
//! the container on stdin; a failing or hanging creation hook fails `create` cleanly.

use std::path::Path;
use std::time::{Duration, Instant};

use berth_test_support::{leaks, unique_id, Bundle, Runtime};
use serde_json::{json, Value};

use crate::WAIT;

/// Where the container sees the hooks' output directory (bind-mounted from the host).
const IN_CONTAINER: &str = "/hooks-out";

fn out_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-hooks-")
        .tempdir()
        .expect("create hook output dir")
}

/// A hook that saves its stdin to `file` and notes its name in `dir/order`.
fn saving_hook(dir: &str, name: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("cat > {dir}/{name}.json && echo {name} >> {dir}/order")]
    })
}

#[test]
fn every_hook_runs_with_the_container_state_of_its_lifecycle_step_on_stdin() {
    let out = out_dir();
    let host = out.path().to_str().unwrap().to_owned();
    let bundle = Bundle::new("hooks")
        .mount(json!({
            "destination": IN_CONTAINER, "type": "bind", "source": host,
            "options": ["rbind", "rw"]
        }))
        .config_mut(|c| {
            c["hooks"] = json!({
                // run by the runtime, on the host
                "prestart": [saving_hook(&host, "prestart")],
                "createRuntime": [saving_hook(&host, "createRuntime")],
                // run in the container's namespaces, before pivot_root: host paths still resolve
                "createContainer": [saving_hook(&host, "createContainer")],
                // run in the container, after pivot_root: /bin/sh is the container's busybox
                "startContainer": [saving_hook(IN_CONTAINER, "startContainer")],
                "poststart": [saving_hook(&host, "poststart")],
                "poststop": [saving_hook(&host, "poststop")]
            })
        })
        .args(&["sh", "-c", &format!("echo process >> {IN_CONTAINER}/order")]);
    std::fs::create_dir(bundle.rootfs().join(IN_CONTAINER.trim_start_matches('/'))).unwrap();
    let rt = Runtime::new();
    let id = unique_id("hooks");

    rt.create(&bundle, &id).ok();
    rt.start(&id).ok();
    assert!(
        rt.wait_for_status(&id, "stopped", WAIT),
        "{:?}",
        rt.status(&id)
    );
    rt.delete(&id).ok();

    let order = std::fs::read_to_string(out.path().join("order")).unwrap_or_default();
    let order: Vec<&str> = order.lines().collect();
    let position = |name: &str| {
        order
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("{name} did not run: ran {order:?}"))
    };
    assert_eq!(order.len(), 7, "{order:?}");
    assert!(
        position("createRuntime") < position("createContainer"),
        "{order:?}"
    );
    assert!(
        position("prestart") < position("createContainer"),
        "{order:?}"
    );
    assert!(
        position("createContainer") < position("startContainer"),
        "{order:?}"
    );
    assert!(
        position("startContainer") < position("process"),
        "{order:?}"
    );
    assert!(
        position("startContainer") < position("poststart"),
        "{order:?}"
    );
    assert_eq!(position("poststop"), 6, "{order:?}");

    // The status each hook sees. createRuntime and createContainer run while the create
    // operation is under way: "creating" (runtime-spec: "the container is being created";
    // runc passes it too). startContainer runs once create is done but before the program:
    // "created". poststart runs after the program was started: "running"; poststop after
    // it is gone: "stopped". The deprecated prestart moved from `start` (spec 1.0: after
    // create, "created", as runtime-tools' validation expects) into `create` (spec 1.1+
    // and runc 1.1: "creating"), so either is accepted for it.
    let mut wrong = Vec::new();
    for (hook, status) in [
        ("prestart", "creating|created"),
        ("createRuntime", "creating"),
        ("createContainer", "creating"),
        ("startContainer", "created"),
        ("poststart", "running"),
        ("poststop", "stopped"),
    ] {
        let file = out.path().join(format!("{hook}.json"));
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let state: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{hook} got no state JSON on stdin ({e}): {text:?}"));
        assert_eq!(state["id"], id.as_str(), "{hook}: {state}");
        assert_eq!(
            Path::new(state["bundle"].as_str().unwrap_or_default()),
            bundle.path().canonicalize().unwrap(),
            "{hook}: {state}"
        );
        if hook != "poststop" {
            assert!(state["pid"].as_i64().unwrap_or(0) > 0, "{hook}: {state}");
        }
        if !status.split('|').any(|s| state["status"] == s) {
            wrong.push(format!(
                "{hook} got status {} instead of {status:?}",
                state["status"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let bundle = Bundle::new("hook-fail")
        .config_mut(|c| {
            c["hooks"] =
                json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]})
        })
        .args(&["sh", "-c", "echo container started"]);
    let rt = Runtime::new();
    let id = unique_id("hook-fail");
    let root = rt.root();
    let needles = [
        id.as_str(),
        bundle.path().to_str().unwrap(),
        root.to_str().unwrap(),
    ];
    let before = leaks::Snapshot::take(&needles);

    let out = rt.create(&bundle, &id).err();
    assert!(
        out.stderr.contains("hook"),
        "error does not name the hook:\n{out}"
    );
    assert!(
        rt.list().is_empty(),
        "failed container left in state: {:?}",
        rt.list()
    );
    assert_eq!(rt.status(&id), None);
    assert!(!rt.container_stdout(&id).contains("container started"));
    leaks::assert_nothing_left(&before, &needles, WAIT);
}

#[test]
fn hook_exceeding_its_timeout_is_killed_and_create_fails_in_about_a_second() {
    // the hook's own command line is its marker: a 10 s sleep nobody else runs
    let marker = format!("10.{:09}", std::process::id());
    let bundle = Bundle::new("hook-timeout")
        .config_mut(|c| {
            c["hooks"] = json!({"createRuntime": [
                {"path": "/bin/sleep", "args": ["sleep", marker], "timeout": 1}
            ]})
        })
        .args(&["true"]);
    let rt = Runtime::new();
    let id = unique_id("hook-timeout");
    let needles = [
        id.as_str(),
        bundle.path().to_str().unwrap(),
        marker.as_str(),
    ];
    let before = leaks::Snapshot::take(&needles);

    let started = Instant::now();
    let out = rt.create(&bundle, &id).err();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "create took {took:?} with a 1 s hook timeout:\n{out}"
    );
    assert!(
        took >= Duration::from_millis(900),
        "create gave up after {took:?}:\n{out}"
    );
    assert!(
        rt.list().is_empty(),
        "failed container left in state: {:?}",
        rt.list()
    );
    // the timed-out hook is killed, not left sleeping
    leaks::assert_nothing_left(&before, &needles, Duration::from_secs(2));
}
