//! create / start / state / kill / delete / run / exec / pause / resume.

use berth_test_support::{leaks, unique_id, Bundle, Runtime};

use crate::{alive, host_pid, wait_dead, WAIT};

#[test]
fn created_container_becomes_running_then_stopped_and_is_gone_after_delete() {
    let rt = Runtime::new();
    let bundle = Bundle::new("lifecycle").args(&["sleep", "300"]);
    let id = unique_id("lifecycle");

    rt.create(&bundle, &id).ok();
    let state = rt.state(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], id.as_str(), "{state}");
    assert_eq!(state["bundle"], bundle.path().to_str().unwrap(), "{state}");
    let pid = host_pid(&state);
    assert!(alive(pid), "created container has no process");
    let listed = rt.list();
    assert!(
        listed
            .iter()
            .any(|c| c["id"] == id.as_str() && c["status"] == "created"),
        "{listed:?}"
    );

    rt.start(&id).ok();
    assert_eq!(rt.state(&id)["status"], "running");

    rt.kill(&id, "KILL").ok();
    assert!(
        rt.wait_for_status(&id, "stopped", WAIT),
        "still {:?} after SIGKILL",
        rt.status(&id)
    );

    rt.delete(&id).ok();
    assert_eq!(rt.status(&id), None, "state still answers after delete");
    assert!(rt.list().is_empty());
}

#[test]
fn starting_a_container_twice_fails() {
    let rt = Runtime::new();
    let bundle = Bundle::new("start-twice").args(&["sleep", "300"]);
    let id = unique_id("start-twice");
    rt.create_and_start(&bundle, &id);
    rt.start(&id).err();
    rt.delete_force(&id).ok();
}

#[test]
fn run_exits_with_the_container_exit_code() {
    let rt = Runtime::new();
    let bundle = Bundle::new("exit-code").args(&["sh", "-c", "exit 3"]);
    let out = rt.run(&bundle, &unique_id("exit-code"));
    assert_eq!(out.code(), Some(3), "{out}");
}

#[test]
fn run_passes_the_container_stdout_and_stderr_through() {
    let rt = Runtime::new();
    let bundle = Bundle::new("stdio").args(&["sh", "-c", "echo hello; echo oops >&2"]);
    let out = rt.run(&bundle, &unique_id("stdio")).ok();
    assert_eq!(out.stdout, "hello\n");
    assert!(out.stderr.contains("oops"), "{out}");
}

#[test]
fn run_gives_the_configured_environment_and_working_directory() {
    let rt = Runtime::new();
    let bundle = Bundle::new("env")
        .env("GREETING", "hi there")
        .config_mut(|c| c["process"]["cwd"] = "/etc".into())
        .args(&["sh", "-c", "echo \"$GREETING\"; pwd"]);
    let out = rt.run(&bundle, &unique_id("env")).ok();
    assert_eq!(out.stdout, "hi there\n/etc\n");
}

#[test]
fn run_of_a_missing_program_fails_and_names_it() {
    let rt = Runtime::new();
    let bundle = Bundle::new("missing").args(&["/no/such/program"]);
    let out = rt.run(&bundle, &unique_id("missing")).err();
    assert!(
        out.stderr.contains("/no/such/program"),
        "error does not name the program:\n{out}"
    );
}

#[test]
fn exec_runs_a_command_inside_a_running_container() {
    let rt = Runtime::new();
    let bundle = Bundle::new("exec")
        .hostname("exec-host")
        .args(&["sleep", "300"]);
    let id = unique_id("exec");
    rt.create_and_start(&bundle, &id);

    let out = rt
        .exec(&id, &["sh", "-c", "cat /proc/1/comm; hostname"])
        .ok();
    assert_eq!(out.stdout, "sleep\nexec-host\n");
    let out = rt.exec(&id, &["sh", "-c", "exit 5"]);
    assert_eq!(out.code(), Some(5), "{out}");
    assert_eq!(rt.state(&id)["status"], "running");

    rt.delete_force(&id).ok();
}

#[test]
fn paused_container_reports_paused_and_runs_again_after_resume() {
    let rt = Runtime::new();
    let bundle = Bundle::new("pause").args(&["sleep", "300"]);
    let id = unique_id("pause");
    rt.create_and_start(&bundle, &id);

    rt.pause(&id).ok();
    assert_eq!(rt.state(&id)["status"], "paused");
    rt.resume(&id).ok();
    assert_eq!(rt.state(&id)["status"], "running");
    rt.exec(&id, &["true"]).ok();

    rt.delete_force(&id).ok();
}

#[test]
fn delete_force_removes_a_running_container_and_its_processes() {
    let rt = Runtime::new();
    let bundle = Bundle::new("delete-force").args(&["sleep", "300"]);
    let id = unique_id("delete-force");
    let needles = [id.as_str(), bundle.path().to_str().unwrap()];
    let before = leaks::Snapshot::take(&needles);
    rt.create_and_start(&bundle, &id);
    let pid = host_pid(&rt.state(&id));

    rt.delete(&id).err(); // plain delete refuses a running container
    rt.delete_force(&id).ok();
    assert_eq!(rt.status(&id), None);
    assert!(
        wait_dead(pid),
        "container process {pid} survived delete --force"
    );
    leaks::assert_nothing_left(&before, &needles, WAIT);
}
