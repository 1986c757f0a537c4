//! Volumes: named, anonymous and image volumes across containers and daemon restarts,
//! read-only mounts, copy-up of image content (and `nocopy`), tmpfs limits,
//! `--volumes-from`, `rm -v` / `--rm`, the `volume` API (create, ls filters, rm of a
//! volume in use, prune), driver options, and `cp` into and out of a volume, including
//! a hostile symlink. Scenarios needing `volume …` commands run with the docker CLI
//! only (the berth CLI's `volume` subcommand is written separately).

use berth_test_support::{Client, Daemon};

use crate::both;

/// The volumes on disk, by directory (so scenarios can check without `volume ls`).
fn volume_dirs(d: &Daemon) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d.data_root().join("volumes"))
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn named_volume_outlives_container(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "--name", "wr", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"]).ok();
    d.run(c, &["rm", "-v", "wr"]).ok();
    assert_eq!(volume_dirs(&d), ["data"], "rm -v keeps named volumes");
    let r = d.run(c, &["run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/f"]).ok();
    assert_eq!(r.stdout, "kept\n");
    // --mount type=volume reaches the same volume.
    let r = d.run(c, &["run", "--rm", "--mount", "type=volume,src=data,dst=/m", "busybox", "cat", "/m/f"]).ok();
    assert_eq!(r.stdout, "kept\n");
    assert_eq!(volume_dirs(&d), ["data"]);
}

fn read_only_rejects_writes(c: Client) {
    let d = Daemon::start();
    let r = d.run(c, &["run", "--rm", "-v", "rov:/data:ro", "busybox", "sh", "-c", "touch /data/x"]);
    assert_ne!(r.code, 0, "write to a :ro volume succeeded");
    assert!(r.stderr.contains("Read-only file system") || r.stdout.contains("Read-only"), "{r:?}");
    let r = d.run(c, &["run", "--rm", "--mount", "type=volume,src=rov,dst=/data,readonly", "busybox", "touch", "/data/x"]);
    assert_ne!(r.code, 0, "write to a readonly mount succeeded");
    d.run(c, &["run", "--rm", "-v", "rov:/data:rw", "busybox", "touch", "/data/x"]).ok();
    // Names that could leave the data root are refused.
    for bad in ["../evil:/data", "a/b:/data"] {
        let r = d.run(c, &["run", "--rm", "-v", bad, "busybox", "true"]);
        assert_ne!(r.code, 0, "{bad} accepted");
    }
    assert!(!d.data_root().join("evil").exists());
}

fn copy_up_and_nocopy(c: Client) {
    let d = Daemon::start();
    let r = d.run(c, &["run", "--rm", "-v", "etcv:/etc", "busybox", "cat", "/etc/passwd"]).ok();
    assert!(r.stdout.starts_with("root:"), "{r:?}");
    let passwd = d.data_root().join("volumes/etcv/_data/passwd");
    assert!(passwd.exists(), "image content copied into the volume");
    // The container's /etc/hosts is the daemon's, on top of the volume.
    let r = d.run(c, &["run", "--rm", "-v", "etcv:/etc", "busybox", "cat", "/etc/hosts"]).ok();
    assert!(r.stdout.contains("localhost"), "{r:?}");
    // Not empty any more: a change in the volume stays, no second copy.
    d.run(c, &["run", "--rm", "-v", "etcv:/etc", "busybox", "sh", "-c", "echo mine > /etc/passwd"]).ok();
    let r = d.run(c, &["run", "--rm", "-v", "etcv:/etc", "busybox", "cat", "/etc/passwd"]).ok();
    assert_eq!(r.stdout, "mine\n");
    // nocopy, both spellings.
    let r = d.run(c, &["run", "--rm", "-v", "bare:/etc:nocopy", "busybox", "test", "-e", "/etc/passwd"]);
    assert_ne!(r.code, 0, "nocopy copied");
    let r = d.run(c, &["run", "--rm", "--mount", "type=volume,src=bare2,dst=/etc,volume-nocopy", "busybox", "test", "-e", "/etc/group"]);
    assert_ne!(r.code, 0, "volume-nocopy copied");
}

fn tmpfs_size_limits(c: Client) {
    let d = Daemon::start();
    let r = d.run(c, &["run", "--rm", "--tmpfs", "/x:size=1m", "busybox", "dd", "if=/dev/zero", "of=/x/f", "bs=1M", "count=2"]);
    assert_ne!(r.code, 0, "2 MB fit in a 1 MB tmpfs: {r:?}");
    d.run(c, &["run", "--rm", "--tmpfs", "/x:size=1m", "busybox", "dd", "if=/dev/zero", "of=/x/f", "bs=1k", "count=500"]).ok();
    let r = d.run(c, &["run", "--rm", "--mount", "type=tmpfs,dst=/y,tmpfs-size=1048576", "busybox", "dd", "if=/dev/zero", "of=/y/f", "bs=1M", "count=2"]);
    assert_ne!(r.code, 0, "2 MB fit in a 1 MB --mount tmpfs: {r:?}");
}

/// Docker CLI only: the berth CLI has no `--volumes-from` flag yet.
fn volumes_from(c: Client) {
    let d = Daemon::start();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("h"), "from host\n").unwrap();
    let bind = format!("{}:/hd", host.path().display());
    d.run(c, &["run", "--name", "src", "-v", "vf:/data", "-v", &bind, "busybox", "sh", "-c", "echo shared > /data/a"]).ok();
    let r = d.run(c, &["run", "--rm", "--volumes-from", "src", "busybox", "cat", "/data/a", "/hd/h"]).ok();
    assert_eq!(r.stdout, "shared\nfrom host\n");
    let r = d.run(c, &["run", "--rm", "--volumes-from", "src:ro", "busybox", "touch", "/data/b"]);
    assert_ne!(r.code, 0, "--volumes-from src:ro is writable");
    let r = d.run(c, &["run", "--rm", "--volumes-from", "nosuch", "busybox", "true"]);
    assert_ne!(r.code, 0);
}

fn anonymous_volumes_removed(c: Client) {
    let d = Daemon::start();
    d.run(c, &["run", "--name", "a1", "-v", "/data", "busybox", "sh", "-c", "echo x > /data/f"]).ok();
    let dirs = volume_dirs(&d);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(dirs[0].len(), 64, "anonymous volumes have 64-hex names");
    let meta = std::fs::read_to_string(d.data_root().join("volumes").join(&dirs[0]).join("volume.json")).unwrap();
    assert!(meta.contains("com.docker.volume.anonymous"), "{meta}");
    d.run(c, &["rm", "-v", "a1"]).ok();
    assert!(volume_dirs(&d).is_empty(), "rm -v left {:?}", volume_dirs(&d));
    d.run(c, &["run", "--rm", "-v", "/data", "busybox", "true"]).ok();
    assert!(crate::eventually(10, || volume_dirs(&d).is_empty()), "--rm left {:?}", volume_dirs(&d));
    // Without -v the anonymous volume stays.
    d.run(c, &["run", "--name", "a2", "-v", "/data", "busybox", "true"]).ok();
    d.run(c, &["rm", "a2"]).ok();
    assert_eq!(volume_dirs(&d).len(), 1);
    // An image VOLUME becomes an anonymous volume, with the image's content.
    d.run(c, &["run", "--name", "base", "busybox", "sh", "-c", "mkdir /vol && echo baked > /vol/f"]).ok();
    d.run(c, &["commit", "-c", "VOLUME /vol", "base", "withvol:v1"]).ok();
    let r = d.run(c, &["run", "--name", "iv", "withvol:v1", "cat", "/vol/f"]).ok();
    assert_eq!(r.stdout, "baked\n");
    assert_eq!(volume_dirs(&d).len(), 2);
    // ... unless a named volume covers the path.
    d.run(c, &["run", "--rm", "-v", "cover:/vol", "withvol:v1", "true"]).ok();
    assert_eq!(volume_dirs(&d).len(), 3, "{:?}", volume_dirs(&d));
    d.run(c, &["rm", "-v", "iv"]).ok();
    assert_eq!(volume_dirs(&d).len(), 2);
}

fn cp_in_and_out_of_volume(c: Client) {
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.txt"), "into the volume\n").unwrap();
    d.run(c, &["run", "-d", "--name", "cv", "-v", "cpv:/data", "busybox", "sleep", "300"]).ok();
    let src = dir.path().join("in.txt");
    d.run(c, &["cp", src.to_str().unwrap(), "cv:/data/"]).ok();
    assert_eq!(d.run(c, &["exec", "cv", "cat", "/data/in.txt"]).ok().stdout, "into the volume\n");
    assert!(d.data_root().join("volumes/cpv/_data/in.txt").exists());
    d.run(c, &["exec", "cv", "sh", "-c", "mkdir -p /data/sub && echo deep > /data/sub/f"]).ok();
    let out = dir.path().join("out");
    d.run(c, &["cp", "cv:/data/sub", out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(out.join("f")).unwrap(), "deep\n");
    // A symlink in the volume pointing at the host's /etc must not let cp write there.
    d.run(c, &["exec", "cv", "ln", "-s", "/etc", "/data/hostetc"]).ok();
    let marker = format!("berth-vol-cp-escape-{}", std::process::id());
    let m = dir.path().join(&marker);
    std::fs::write(&m, "x").unwrap();
    let _ = d.run(c, &["cp", m.to_str().unwrap(), "cv:/data/hostetc/"]);
    assert!(!std::path::Path::new("/etc").join(&marker).exists(), "cp wrote through the symlink onto the host");
    // Stopped: still the volume, not the empty mount point.
    d.run(c, &["stop", "-t", "0", "cv"]).ok();
    let back = dir.path().join("back.txt");
    d.run(c, &["cp", "cv:/data/in.txt", back.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "into the volume\n");
}

both!(
    volumes_from,
    named_volume_outlives_container,
    read_only_rejects_writes,
    copy_up_and_nocopy,
    tmpfs_size_limits,
    anonymous_volumes_removed,
    cp_in_and_out_of_volume,
);

/// `volume create/ls/inspect/rm` through both CLIs.
fn volume_cli_basics(c: Client) {
    let d = Daemon::start();
    assert_eq!(d.run(c, &["volume", "create", "--label", "k=v", "vb"]).ok().out(), "vb");
    let ls = d.run(c, &["volume", "ls", "--format", "{{.Driver}} {{.Name}} {{.Label \"k\"}}"]).ok();
    assert_eq!(ls.out(), "local vb v");
    let mp = d.run(c, &["volume", "inspect", "-f", "{{.Mountpoint}}", "vb"]).ok();
    assert!(mp.out().ends_with("/volumes/vb/_data"), "{}", mp.stdout);
    d.run(c, &["run", "--name", "user", "-v", "vb:/v", "busybox", "true"]).ok();
    assert_ne!(d.run(c, &["volume", "rm", "vb"]).code, 0, "in use by a stopped container");
    d.run(c, &["rm", "user"]).ok();
    assert_eq!(d.run(c, &["volume", "rm", "vb"]).ok().out(), "vb");
    assert_eq!(d.run(c, &["volume", "ls", "-q"]).ok().out(), "");
}

both!(volume_cli_basics);

#[test]
fn volume_commands_docker() {
    let d = Daemon::start();
    d.docker(&["volume", "create", "--label", "tier=db", "v1"]).ok();
    // Creating an existing name returns it.
    assert_eq!(d.docker(&["volume", "create", "v1"]).ok().out(), "v1");
    let mp = d.docker(&["volume", "inspect", "-f", "{{.Mountpoint}} {{.Driver}} {{.Scope}} {{.Labels.tier}}", "v1"]).ok();
    assert_eq!(mp.out(), format!("{} local local db", d.data_root().join("volumes/v1/_data").display()));
    assert_ne!(d.docker(&["volume", "inspect", "nope"]).code, 0);
    let bad = d.docker(&["volume", "create", "..x"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("invalid characters"), "{bad:?}");
    assert_ne!(d.docker(&["volume", "create", "-o", "bogus=1", "vo"]).code, 0);
    d.docker(&["volume", "create", "v2"]).ok();
    d.docker(&["run", "-d", "--name", "user", "-v", "v1:/d", "busybox", "sleep", "300"]).ok();
    let mounts = d.docker(&["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}", "user"]).ok();
    assert_eq!(mounts.out(), "volume v1 /d true");
    assert_eq!(d.docker(&["ps", "-q", "-f", "volume=v1"]).ok().out().len(), 12);
    assert_eq!(d.docker(&["ps", "-q", "-f", "volume=v2"]).ok().out(), "");
    let ls = |f: &str| d.docker(&["volume", "ls", "-q", "-f", f]).ok().stdout;
    assert_eq!(ls("dangling=true"), "v2\n");
    assert_eq!(ls("dangling=false"), "v1\n");
    assert_eq!(ls("label=tier=db"), "v1\n");
    assert_eq!(ls("name=v2"), "v2\n");
    let rm = d.docker(&["volume", "rm", "v1"]);
    assert_ne!(rm.code, 0);
    assert!(rm.stderr.contains("volume is in use"), "{rm:?}");
    // Stopped still counts as in use.
    d.docker(&["stop", "-t", "0", "user"]).ok();
    assert!(d.docker(&["volume", "rm", "v1"]).stderr.contains("volume is in use"));
    let (status, body) = d.api("DELETE", "/volumes/v1", b"").unwrap();
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    d.docker(&["volume", "rm", "-f", "v1"]).ok();
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok().stdout, "v2\n");
    d.docker(&["volume", "rm", "v2"]).ok();
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok().stdout, "");
    let until = format!("{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1);
    let ev = d.docker(&["events", "--since", "0", "--until", &until, "--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}}"]).ok();
    let ev: Vec<&str> = ev.stdout.lines().collect();
    for want in ["create v1", "create v2", "mount v1", "unmount v1", "destroy v1", "destroy v2"] {
        assert!(ev.contains(&want), "no {want:?} in {ev:?}");
    }
}

#[test]
fn volume_prune_docker() {
    let d = Daemon::start();
    d.docker(&["volume", "create", "named"]).ok();
    d.docker(&["volume", "create", "--label", "keep=no", "labelled"]).ok();
    d.docker(&["run", "--name", "tt", "-v", "/x", "busybox", "true"]).ok();
    d.docker(&["rm", "tt"]).ok();
    d.docker(&["run", "--name", "held", "-v", "/y", "busybox", "true"]).ok();
    assert_eq!(volume_dirs(&d).len(), 4);
    let p = d.docker(&["volume", "prune", "-f"]).ok();
    assert!(p.stdout.contains("Total reclaimed space"), "{p:?}");
    assert_eq!(volume_dirs(&d).len(), 3, "only the unused anonymous one: {:?}", volume_dirs(&d));
    d.docker(&["volume", "prune", "-af", "--filter", "label=keep=no"]).ok();
    assert_eq!(d.docker(&["volume", "ls", "-q", "-f", "dangling=true"]).ok().stdout, "named\n");
    d.docker(&["volume", "prune", "-af"]).ok();
    assert_eq!(volume_dirs(&d).len(), 1, "the volume of `held` stays");
}

#[test]
fn restart_keeps_volumes_docker() {
    let mut d = Daemon::start();
    d.docker(&["volume", "create", "--label", "a=b", "persist"]).ok();
    d.docker(&["run", "--rm", "-v", "persist:/p", "busybox", "sh", "-c", "echo survived > /p/f"]).ok();
    d.docker(&["run", "--name", "anon", "-v", "/q", "busybox", "true"]).ok();
    let before = d.docker(&["volume", "ls", "-q"]).ok().stdout;
    d.restart_after_kill();
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok().stdout, before);
    assert_eq!(d.docker(&["volume", "inspect", "-f", "{{.Labels.a}}", "persist"]).ok().out(), "b");
    let r = d.docker(&["run", "--rm", "-v", "persist:/p", "busybox", "cat", "/p/f"]).ok();
    assert_eq!(r.stdout, "survived\n");
    // The anonymous volume is still the container's: rm -v removes it.
    d.docker(&["rm", "-v", "anon"]).ok();
    assert_eq!(d.docker(&["volume", "ls", "-q"]).ok().stdout, "persist\n");
}

#[test]
fn driver_options_tmpfs_docker() {
    let d = Daemon::start();
    d.docker(&["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "tv"]).ok();
    let r = d.docker(&["run", "--rm", "-v", "tv:/t", "busybox", "dd", "if=/dev/zero", "of=/t/f", "bs=1M", "count=2"]);
    assert_ne!(r.code, 0, "2 MB fit in a 1 MB tmpfs volume: {r:?}");
    d.docker(&["run", "--rm", "-v", "tv:/t", "busybox", "sh", "-c", "df /t | grep -q tmpfs"]).ok();
    // Unmounted when no container runs: the directory beneath is the plain, empty one.
    assert!(crate::eventually(10, || std::fs::read_dir(d.data_root().join("volumes/tv/_data")).unwrap().next().is_none()));
    // A bind through the local driver.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("h"), "bound\n").unwrap();
    let dev = format!("device={}", host.path().display());
    d.docker(&["volume", "create", "-o", "type=none", "-o", "o=bind", "-o", &dev, "bv"]).ok();
    let r = d.docker(&["run", "--rm", "-v", "bv:/b", "busybox", "cat", "/b/h"]).ok();
    assert_eq!(r.stdout, "bound\n");
}
