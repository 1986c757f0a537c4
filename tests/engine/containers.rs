//! Listing and inspecting: ps filters and formats, top, stats, diff, rename, pause; logs
//! with tail, timestamps and rotation; cp both ways; commit then run the new image.

use berth_test_support::{Client, Daemon};

use crate::{both, eventually};

fn ps_filters_and_format(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "-d", "--name", "a1", "-l", "tier=web", "busybox", "sleep", "300"]).ok();
    d.run(c, &["run", "--name", "b2", "busybox", "sh", "-c", "exit 2"]);
    d.run(c, &["create", "--name", "c3", "busybox", "true"]).ok();
    assert_eq!(d.run(c, &["ps", "--format", "{{.Names}}"]).ok().out(), "a1", "without -a only running");
    let all = d.run(c, &["ps", "-a", "--format", "{{.Names}}"]).ok();
    let mut names: Vec<&str> = all.stdout.lines().collect();
    names.sort();
    assert_eq!(names, ["a1", "b2", "c3"]);
    assert_eq!(d.run(c, &["ps", "-a", "-f", "status=exited", "--format", "{{.Names}} {{.Status}}"]).ok().out().split(" (").next().unwrap(), "b2 Exited");
    assert_eq!(d.run(c, &["ps", "-a", "-f", "exited=2", "--format", "{{.Names}}"]).ok().out(), "b2");
    assert_eq!(d.run(c, &["ps", "-a", "-f", "status=created", "--format", "{{.Names}}"]).ok().out(), "c3");
    assert_eq!(d.run(c, &["ps", "-f", "label=tier=web", "--format", "{{.Names}} {{.Label \"tier\"}}"]).ok().out(), "a1 web");
    assert_eq!(d.run(c, &["ps", "-a", "-f", "name=b", "-q"]).ok().out().len(), 12);
    assert_eq!(d.run(c, &["ps", "-a", "-f", "ancestor=busybox", "-q"]).ok().stdout.lines().count(), 3);
    assert_eq!(d.run(c, &["ps", "-aq", "--no-trunc", "-n", "1"]).ok().out().len(), 64);
    assert_eq!(d.run(c, &["ps", "-l", "--format", "{{.Names}}"]).ok().out(), "c3", "-l: the latest created");
    let table = d.run(c, &["ps", "--format", "table {{.ID}}\t{{.Image}}\t{{.Command}}"]).ok();
    let header = table.stdout.lines().next().unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(header, ["CONTAINER", "ID", "IMAGE", "COMMAND"]);
    assert!(table.stdout.contains("\"sleep 300\""), "{}", table.stdout);
    let json = d.run(c, &["ps", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(json.out()).unwrap();
    assert_eq!(v["Names"], "a1");
}

fn inspect_top_stats_rename_pause(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "-d", "--name", "tp", "busybox", "sleep", "300"]).ok();
    let top = d.run(c, &["top", "tp"]).ok();
    assert!(top.stdout.lines().any(|l| l.ends_with("sleep 300")), "{}", top.stdout);
    let st = d.run(c, &["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "tp"]).ok();
    assert_eq!(st.out(), "tp 1");
    d.run(c, &["rename", "tp", "up"]).ok();
    assert_eq!(d.run(c, &["inspect", "-f", "{{.Name}}", "up"]).ok().out(), "/up");
    d.run(c, &["pause", "up"]).ok();
    assert!(d.run(c, &["ps", "--format", "{{.Status}}"]).ok().out().ends_with("(Paused)"));
    assert_ne!(d.run(c, &["exec", "up", "true"]).code, 0, "no exec in a paused container");
    d.run(c, &["unpause", "up"]).ok();
    d.run(c, &["exec", "up", "true"]).ok();
    d.run(c, &["exec", "up", "sh", "-c", "echo x > /new; rm /etc/hostname.bak 2>/dev/null; true"]).ok();
    let diff = d.run(c, &["diff", "up"]).ok();
    assert!(diff.stdout.lines().any(|l| l == "A /new"), "{}", diff.stdout);
    assert!(d.run(c, &["inspect", "up"]).ok().stdout.contains("\"Running\": true"));
}

fn logs_tail_timestamps_rotation(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "--name", "lg", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", "busybox", "sh", "-c",
               "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done; echo oops >&2"]).ok();
    let tail = d.run(c, &["logs", "--tail", "2", "lg"]).ok();
    assert_eq!(tail.stdout, "line-399\n");
    assert_eq!(tail.stderr, "oops\n");
    let all = d.run(c, &["logs", "lg"]).ok();
    let n = all.stdout.lines().count();
    assert!(n < 400 && n > 20, "rotation keeps at most 2 files of 2 kB: {n} lines");
    assert!(all.stdout.ends_with("line-399\n"));
    let ts = d.run(c, &["logs", "-t", "--tail", "1", "lg"]).ok();
    assert!(ts.stderr.starts_with("20") && ts.stderr.contains("Z oops"), "{ts:?}");
    let inspect = d.run(c, &["inspect", "-f", "{{.LogPath}}", "lg"]).ok();
    let log = std::path::PathBuf::from(inspect.out());
    assert!(log.exists() && log.with_extension("log.1").exists(), "{}", log.display());
    assert!(!log.with_extension("log.2").exists(), "max-file=2");
    // follow: the stream ends when the container does
    d.run(c, &["run", "-d", "--name", "fl", "busybox", "sh", "-c", "for i in 1 2 3; do echo f$i; sleep 0.2; done"]).ok();
    let f = d.run(c, &["logs", "-f", "fl"]).ok();
    assert_eq!(f.stdout, "f1\nf2\nf3\n");
}

fn cp_both_ways(c: Client) {
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "to the container\n").unwrap();
    d.run(c, &["run", "-d", "--name", "cp", "busybox", "sleep", "300"]).ok();
    let src = dir.path().join("in.txt");
    d.run(c, &["cp", src.to_str().unwrap(), "cp:/tmp/"]).ok();
    assert_eq!(d.run(c, &["exec", "cp", "cat", "/tmp/in.txt"]).ok().stdout, "to the container\n");
    d.run(c, &["exec", "cp", "sh", "-c", "mkdir -p /data/sub && echo deep > /data/sub/f && chmod 640 /data/sub/f"]).ok();
    let out = dir.path().join("out");
    d.run(c, &["cp", "cp:/data", out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(out.join("sub/f")).unwrap(), "deep\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(out.join("sub/f")).unwrap().permissions().mode() & 0o777, 0o640);
    d.run(c, &["stop", "-t", "0", "cp"]).ok();
    d.run(c, &["cp", "cp:/etc/hostname", dir.path().join("h").to_str().unwrap()]).ok();
    assert!(dir.path().join("h").exists(), "cp out of a stopped container");
    // A symlink in the container pointing at the host's /etc must not let cp write there.
    d.run(c, &["run", "--name", "evil", "busybox", "sh", "-c", "ln -s /etc /hostetc"]).ok();
    let marker = format!("berth-cp-escape-{}", std::process::id());
    std::fs::write(dir.path().join(&marker), "x").unwrap();
    let m = dir.path().join(&marker);
    let _ = d.run(c, &["cp", m.to_str().unwrap(), "evil:/hostetc/"]);
    assert!(!std::path::Path::new("/etc").join(&marker).exists(), "cp wrote through the symlink onto the host");
}

fn commit_then_run(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "--name", "base", "busybox", "sh", "-c", "echo baked > /baked"]).ok();
    d.run(c, &["commit", "-c", "CMD [\"cat\", \"/baked\"]", "-c", "ENV COMMITTED=yes", "base", "mine:v1"]).ok();
    let r = d.run(c, &["run", "--rm", "mine:v1"]).ok();
    assert_eq!(r.stdout, "baked\n");
    let env = d.run(c, &["run", "--rm", "mine:v1", "sh", "-c", "echo $COMMITTED"]).ok();
    assert_eq!(env.out(), "yes");
    assert!(d.run(c, &["images", "--format", "{{.Repository}}:{{.Tag}}"]).ok().stdout.contains("mine:v1"));
    let hist = d.run(c, &["history", "-q", "mine:v1"]).ok();
    assert!(hist.stdout.lines().count() >= 2);
}

both!(ps_filters_and_format, inspect_top_stats_rename_pause, logs_tail_timestamps_rotation, cp_both_ways, commit_then_run);

#[test]
fn export_is_the_whole_root() {
    let d = Daemon::start();
    d.docker(&["create", "--name", "ex", "busybox", "true"]).ok();
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("x.tar");
    d.docker(&["export", "-o", tar.to_str().unwrap(), "ex"]).ok();
    let list = std::process::Command::new("tar").arg("-tf").arg(&tar).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().any(|l| l.trim_start_matches("./") == "bin/busybox"), "{list}");
    assert!(eventually(1, || true));
}

/// `cp -` (a tar on stdout and stdin), `cp -a` (owners kept) and `cp -L` (a link followed).
fn cp_archive_modes(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "-d", "--name", "ca", "busybox", "sleep", "300"]).ok();
    d.run(c, &["exec", "ca", "sh", "-c", "mkdir /d && echo hi > /d/f && chown 1234:4321 /d/f && ln -s /d/f /lnk"]).ok();
    // out as a tar on stdout
    let out = d.command(c, &["cp", "ca:/d", "-"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("d.tar");
    std::fs::write(&tar, &out.stdout).unwrap();
    let list = std::process::Command::new("tar").args(["-tvf"]).arg(&tar).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.lines().any(|l| l.contains("1234/4321") && l.ends_with("d/f")), "{list}");
    // -a keeps the owner on the way out with berth; docker's CLI never chowns what it
    // extracts on the host (its -a only matters on the way in).
    let dest = dir.path().join("out");
    d.run(c, &["cp", "-a", "ca:/d", dest.to_str().unwrap()]).ok();
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dest.join("f")).unwrap();
    if c == Client::Berth {
        assert_eq!((m.uid(), m.gid()), (1234, 4321));
    }
    // -a on the way in: the owners of the tar are kept
    let mut cmd = d.command(c, &["cp", "-a", "-", "ca:/root"]);
    cmd.stdin(std::fs::File::open(&tar).unwrap());
    assert!(cmd.status().unwrap().success());
    assert_eq!(d.run(c, &["exec", "ca", "stat", "-c", "%u:%g", "/root/d/f"]).ok().out(), "1234:4321");
    // -L copies what the link points at
    let l = dir.path().join("followed");
    d.run(c, &["cp", "-L", "ca:/lnk", l.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&l).unwrap(), "hi\n");
    assert!(!std::fs::symlink_metadata(&l).unwrap().file_type().is_symlink());
    // in from a tar on stdin
    let mut cmd = d.command(c, &["cp", "-", "ca:/tmp"]);
    cmd.stdin(std::fs::File::open(&tar).unwrap());
    assert!(cmd.status().unwrap().success());
    assert_eq!(d.run(c, &["exec", "ca", "cat", "/tmp/d/f"]).ok().out(), "hi");
}

both!(cp_archive_modes);
