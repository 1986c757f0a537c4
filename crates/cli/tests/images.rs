//! End-to-end tests of the image commands: the built `berth` binary against a temporary
//! data root, with a busybox root filesystem imported from a tarball. Run as root (the
//! store keeps files' owners); as another user they are skipped with a note.
//!
//! Each test owns a temp directory (data root and fixtures), removed when the test ends,
//! whether it passes or panics. These commands mount nothing.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    /// A fresh data root and a busybox rootfs tarball, or `None` when not root.
    fn new() -> Option<Env> {
        if !is_root() {
            eprintln!("skipped: needs root");
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        // One shared busybox rootfs per test process (built once: copying the busybox binary
        // in every test raced with other tests' forks, "Text file busy").
        let rootfs = berth_test_support::busybox_rootfs();
        run_ok(
            Command::new("tar")
                .arg("-C")
                .arg(rootfs)
                .args(["-cf"])
                .arg(dir.path().join("busybox.tar"))
                .arg("."),
        );
        Some(Env { dir })
    }

    fn tar(&self) -> PathBuf {
        self.dir.path().join("busybox.tar")
    }

    fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn berth(&self, args: &[&str]) -> Output {
        self.berth_stdin(args, None)
    }

    fn berth_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .arg("--data-root")
            .arg(self.data_root())
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run berth");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs berth, asserting success, and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed: {}",
            show(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Imports the busybox tarball as `name`, returning the id.
    fn import(&self, name: &str) -> String {
        let tar = self.tar();
        let id = self.ok(&["import", tar.to_str().unwrap(), name]);
        id.trim().to_owned()
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(out.status.success(), "{cmd:?}: {}", show(&out));
}

fn show(out: &Output) -> String {
    format!(
        "{}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn short(id: &str) -> &str {
    &id["sha256:".len()..][..12]
}

fn assert_one_error_line(out: &Output, code: i32, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("berth: error: "), "{err:?}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
}

#[test]
fn import_prints_the_id_and_images_lists_it() {
    let Some(env) = Env::new() else { return };
    let id = env.import("busybox:test");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id:?}");

    let table = env.ok(&["images"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    let columns: Vec<&str> = lines[0]
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        columns,
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        "{table}"
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..3], ["busybox", "test", short(&id)], "{table}");
    assert!(lines[1].contains(" ago "), "{table}");
    assert!(row.last().unwrap().ends_with("MB"), "{table}");
    // Columns line up: each header starts where its cells start.
    for name in ["TAG", "IMAGE ID"] {
        let at = lines[0].find(name).unwrap();
        assert_ne!(lines[1].as_bytes()[at], b' ', "{name} misaligned:\n{table}");
        assert_eq!(
            lines[1].as_bytes()[at - 1],
            b' ',
            "{name} misaligned:\n{table}"
        );
    }

    assert_eq!(env.ok(&["images", "-q"]), format!("{}\n", short(&id)));
    assert_eq!(env.ok(&["images", "-q", "--no-trunc"]), format!("{id}\n"));
    assert_eq!(
        env.ok(&["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]),
        "busybox:test\n"
    );
    let json: Value = serde_json::from_str(env.ok(&["images", "--format", "json"]).trim()).unwrap();
    assert_eq!(json["ID"], short(&id));
    let with_digests = env.ok(&["images", "--digests"]);
    assert!(
        with_digests.lines().next().unwrap().contains("DIGEST"),
        "{with_digests}"
    );

    // Filters and the positional name.
    assert_eq!(
        env.ok(&["images", "-q", "busybox"]),
        format!("{}\n", short(&id))
    );
    assert_eq!(
        env.ok(&["images", "-q", "-f", "reference=busy*"]),
        format!("{}\n", short(&id))
    );
    assert_eq!(env.ok(&["images", "-q", "-f", "reference=other"]), "");
    assert_eq!(env.ok(&["images", "-q", "-f", "dangling=true"]), "");

    // The same content from standard input gives the same layer (the image differs: its
    // config records when it was imported).
    let tar = std::fs::read(env.tar()).unwrap();
    let out = env.berth_stdin(&["import", "-", "again:v1"], Some(&tar));
    assert!(out.status.success(), "{}", show(&out));
    let layers = |name| env.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", name]);
    assert_eq!(layers("again:v1"), layers("busybox:test"));
}

#[test]
fn inspect_returns_a_json_array() {
    let Some(env) = Env::new() else { return };
    let id = env.import("busybox:test");
    let out = env.ok(&["image", "inspect", "busybox:test"]);
    let images: Value = serde_json::from_str(&out).unwrap();
    let images = images.as_array().expect("an array");
    assert_eq!(images.len(), 1);
    let image = &images[0];
    assert_eq!(image["Id"], id.as_str());
    assert_eq!(image["RepoTags"], serde_json::json!(["busybox:test"]));
    assert_eq!(image["RootFS"]["Type"], "layers");
    let layers = image["RootFS"]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert!(layers[0].as_str().unwrap().starts_with("sha256:"));
    assert!(image["Size"].as_u64().unwrap() > 0);
    assert!(out.starts_with("[\n    {\n"), "indented like docker: {out}");

    // By id prefix, and with a template.
    assert_eq!(
        env.ok(&["image", "inspect", "-f", "{{.Id}}", short(&id)]),
        format!("{id}\n")
    );
    assert_eq!(
        env.ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .RepoTags}} {{.RootFS.Type}}",
            "busybox:test"
        ]),
        "[\"busybox:test\"] layers\n"
    );

    let history = env.ok(&["history", "busybox:test"]);
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert!(
        lines[0].starts_with("IMAGE ") && lines[0].contains("CREATED BY"),
        "{history}"
    );
    assert!(
        lines[1].starts_with(short(&id)) && lines[1].contains("berth import"),
        "{history}"
    );
}

#[test]
fn tag_and_rmi() {
    let Some(env) = Env::new() else { return };
    let id = env.import("busybox:test");
    assert_eq!(env.ok(&["tag", "busybox:test", "mirror/box:v2"]), "");
    assert_eq!(
        env.ok(&["image", "tag", short(&id), "localhost:5000/box"]),
        ""
    );
    assert_eq!(
        env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]),
        format!(
            "busybox:test {s}\nlocalhost:5000/box:latest {s}\nmirror/box:v2 {s}\n",
            s = short(&id)
        )
    );
    // -q lists each image once.
    assert_eq!(env.ok(&["images", "-q"]), format!("{}\n", short(&id)));

    assert_eq!(
        env.ok(&["rmi", "mirror/box:v2"]),
        "Untagged: mirror/box:v2\n"
    );
    // An id with several names needs -f.
    let out = env.berth(&["rmi", short(&id)]);
    assert_one_error_line(&out, 1, "force");
    let out = env.ok(&["image", "rm", "-f", short(&id)]);
    assert!(out.contains("Untagged: busybox:test\n"), "{out}");
    assert!(
        out.contains("Untagged: localhost:5000/box:latest\n"),
        "{out}"
    );
    assert!(out.ends_with(&format!("Deleted: {id}\n")), "{out}");
    assert_eq!(env.ok(&["images", "-a", "-q"]), "");
    // The content went with it: the data root holds no layer any more.
    let layers = std::fs::read_dir(env.data_root().join("image/layers"))
        .unwrap()
        .count();
    assert_eq!(layers, 0);

    let out = env.berth(&["tag", "busybox:test", "Bad/Name"]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
}

#[test]
fn unknown_flag_exits_125_with_one_line() {
    let Some(env) = Env::new() else { return };
    env.import("busybox:test");
    let out = env.berth(&["images", "--bogus"]);
    assert_one_error_line(&out, 125, "--bogus");
    assert!(
        stderr(&out).contains("berth images --help"),
        "{}",
        stderr(&out)
    );
    let out = env.berth(&["images", "--format", "{{.Nope}}"]);
    assert_one_error_line(&out, 125, "Nope");
    let out = env.berth(&["images", "-f", "color=blue"]);
    assert_one_error_line(&out, 125, "color");
    let out = env.berth(&["tag", "only-one"]);
    assert_one_error_line(&out, 125, "TARGET_IMAGE");
}

#[test]
fn missing_image_is_named() {
    let Some(env) = Env::new() else { return };
    let id = env.import("busybox:test");
    let out = env.berth(&["image", "inspect", "nosuch"]);
    assert_one_error_line(&out, 1, "no such image: nosuch");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");

    let out = env.berth(&["rmi", "nosuch:v9"]);
    assert_one_error_line(&out, 1, "nosuch:v9");
    let out = env.berth(&["tag", "nosuch", "x"]);
    assert_one_error_line(&out, 1, "nosuch");
    let out = env.berth(&["history", "nosuch"]);
    assert_one_error_line(&out, 1, "nosuch");
    let tar = env.dir.path().join("missing.tar");
    let out = env.berth(&["import", tar.to_str().unwrap(), "x"]);
    assert_one_error_line(&out, 1, "missing.tar");

    // Several operands: the good ones still go through.
    let out = env.berth(&["rmi", "nosuch", "busybox:test"]);
    assert_one_error_line(&out, 1, "nosuch");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Untagged: busybox:test\nDeleted: {id}\n")
    );
}

#[test]
fn save_load_prune_and_df() {
    let Some(env) = Env::new() else { return };
    let id = env.import("busybox:test");
    let df = env.ok(&["system", "df"]);
    let lines: Vec<&str> = df.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        "{df}"
    );
    assert!(
        lines[1].starts_with("Images ") && lines[1].split_whitespace().nth(1) == Some("1"),
        "{df}"
    );

    // docker-archive to a file, back after removal: same id, same name.
    let archive = env.dir.path().join("saved.tar");
    assert_eq!(
        env.ok(&["save", "-o", archive.to_str().unwrap(), "busybox:test"]),
        ""
    );
    env.ok(&["rmi", "busybox:test"]);
    assert_eq!(
        env.ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: busybox:test\n"
    );
    assert_eq!(env.ok(&["images", "-q", "--no-trunc"]), format!("{id}\n"));

    // oci-archive through a pipe.
    let out = env.berth(&["image", "save", "--format", "oci-archive", "busybox:test"]);
    assert!(out.status.success(), "{}", show(&out));
    env.ok(&["rmi", "busybox:test"]);
    let loaded = env.berth_stdin(&["image", "load"], Some(&out.stdout));
    assert!(loaded.status.success(), "{}", show(&loaded));
    assert_eq!(
        String::from_utf8_lossy(&loaded.stdout),
        "Loaded image: busybox:test\n"
    );
    assert_eq!(
        env.ok(&["image", "inspect", "-f", "{{.Id}}", "busybox:test"]),
        format!("{id}\n")
    );

    // A failed save leaves no file.
    let bad = env.dir.path().join("bad.tar");
    let out = env.berth(&["save", "-o", bad.to_str().unwrap(), "nosuch"]);
    assert_one_error_line(&out, 1, "nosuch");
    assert!(!bad.exists());

    // Re-importing under the same name leaves the old image dangling; prune removes it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let new_id = env.import("busybox:test");
    assert_ne!(new_id, id);
    assert_eq!(
        env.ok(&["images", "-q", "--no-trunc", "-f", "dangling=true"]),
        format!("{id}\n")
    );
    let pruned = env.ok(&["image", "prune", "-f"]);
    assert!(
        pruned.starts_with(&format!("Deleted Images:\ndeleted: {id}\n")),
        "{pruned}"
    );
    assert!(pruned.contains("Total reclaimed space: "), "{pruned}");
    // Declining the prompt removes nothing.
    let out = env.berth_stdin(&["image", "prune", "-a"], Some(b"n\n"));
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        env.ok(&["images", "-q", "--no-trunc"]),
        format!("{new_id}\n")
    );
    let pruned = env.ok(&["image", "prune", "-a", "-f"]);
    assert!(
        pruned.contains(&format!("untagged: busybox:test\ndeleted: {new_id}\n")),
        "{pruned}"
    );
    let df = env.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Size}}",
    ]);
    assert_eq!(df, "Images 0 0B\n");
}

#[test]
fn version_prints_the_client() {
    let Some(env) = Env::new() else { return };
    let out = env.ok(&["version"]);
    assert!(out.starts_with("Client:\n Version:"), "{out}");
    assert_eq!(
        env.ok(&["version", "--format", "{{.Client.Version}}"]),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn import_without_a_name_makes_an_untagged_image_that_prune_removes() {
    let Some(env) = Env::new() else { return };
    let tar = env.tar();
    let id = env.ok(&["import", tar.to_str().unwrap()]).trim().to_owned();
    assert!(id.starts_with("sha256:"), "{id:?}");
    let rows = env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert_eq!(rows.trim(), format!("<none>:<none> {}", short(&id)));
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["image", "inspect", short(&id)])).unwrap();
    assert_eq!(inspect[0]["Id"], id.as_str());
    env.ok(&["image", "prune", "-f"]);
    assert_eq!(env.ok(&["images", "-q"]), "");
}

#[test]
fn a_load_killed_half_way_leaves_earlier_images_and_no_debris() {
    let Some(env) = Env::new() else { return };
    // A big archive, so that the load is still running when it is killed.
    let big = env.dir.path().join("big");
    std::fs::create_dir_all(&big).unwrap();
    let mut data = vec![0u8; 64 << 20];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
    }
    std::fs::write(big.join("blob"), &data).unwrap();
    let big_tar = env.dir.path().join("big.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&big)
            .arg("-cf")
            .arg(&big_tar)
            .arg("."),
    );
    env.ok(&["import", big_tar.to_str().unwrap(), "big:1"]);
    let archive = env.dir.path().join("saved.tar");
    env.ok(&["save", "-o", archive.to_str().unwrap(), "big:1"]);
    env.ok(&["rmi", "big:1"]);
    env.ok(&["image", "prune", "-a", "-f"]);
    let kept = env.import("kept:1");
    let before = tree_of(&env.data_root());

    let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--data-root")
        .arg(env.data_root())
        .args(["load", "-i", archive.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    child.kill().unwrap();
    let _ = child.wait();

    // The next command opens the store, which removes what the killed load left.
    let rows = env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert!(rows.contains(&format!("kept:1 {}", short(&kept))), "{rows}");
    if rows.contains("big:1") {
        // The load won the race and finished: then the image is whole.
        env.ok(&[
            "save",
            "-o",
            env.dir.path().join("again.tar").to_str().unwrap(),
            "big:1",
        ]);
    } else {
        let after = tree_of(&env.data_root());
        let extra: Vec<_> = after.iter().filter(|e| !before.contains(e)).collect();
        let gone: Vec<_> = before.iter().filter(|e| !after.contains(e)).collect();
        assert!(
            extra.is_empty() && gone.is_empty(),
            "the killed load changed the store: added {extra:?}, lost {gone:?}"
        );
    }
}

/// Every path under `root` with its size (directories as 0), sorted.
fn tree_of(root: &std::path::Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if m.is_dir() {
                stack.push(p);
                out.push((rel, 0));
            } else if !rel.ends_with(".lock") {
                out.push((rel, m.len()));
            }
        }
    }
    out.sort();
    out
}
