//! Interop of `Store::load`/`Store::save` with real peers: podman (containers/image) and
//! skopeo, from Debian. A busybox image is made with `podman import`, saved by podman in
//! both formats and loaded by berth; berth's saves are loaded by podman and inspected by
//! skopeo; the config digest (the image id) must agree everywhere, and the OCI manifest
//! digest where the format keeps it.
//!
//! podman runs with private everything (root, runroot, tmpdir, config files, the vfs
//! driver so nothing is mounted), inside a temp dir removed on drop, also on failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_image::{Digest, Format, Reference, Store};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why the test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (podman's storage, unpacking layers)".into());
    }
    for tool in ["podman", "skopeo"] {
        if !have(tool) {
            return Some(format!(
                "{tool} is not installed (scripts/setup.sh installs it)"
            ));
        }
    }
    if !Path::new("/usr/bin/busybox").is_file() && !Path::new("/bin/busybox").is_file() {
        return Some("busybox is not installed".into());
    }
    None
}

/// A private podman: its own storage and config in a temp dir.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["root", "runroot", "tmp", "networks"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        fs::write(
            d.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{0}/runroot\"\ngraphroot = \"{0}/root\"\n",
                d.display()
            ),
        )
        .unwrap();
        fs::write(
            d.join("containers.conf"),
            format!(
                "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\ntmp_dir = \"{0}/tmp\"\nlock_type = \"file\"\n[network]\nnetwork_config_dir = \"{0}/networks\"\n",
                d.display()
            ),
        )
        .unwrap();
        fs::write(
            d.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        Podman { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> String {
        let d = self.dir.path();
        let mut cmd = Command::new("podman");
        cmd.env("CONTAINERS_CONF", d.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", d.join("storage.conf"))
            .env("CONTAINERS_REGISTRIES_CONF", d.join("registries.conf"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"])
            .args(["--storage-driver", "vfs"])
            .args(args);
        output(cmd, &format!("podman {}", args.join(" ")))
    }

    fn image_id(&self, name: &str) -> String {
        self.run(&["image", "inspect", "--format", "{{.Id}}", name])
            .trim()
            .to_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // vfs mounts nothing, but be sure: unmount whatever is below our dir, deepest
        // first, before the temp dir is removed.
        let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        let root = self.dir.path().to_string_lossy().into_owned();
        let mut mounts: Vec<&str> = info
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|m| m.starts_with(&root))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = nix::mount::umount2(m, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

fn output(mut cmd: Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn skopeo_raw(transport_path: &str, config: bool) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw"]);
    if config {
        cmd.arg("--config");
    }
    cmd.arg(transport_path);
    let what = format!("skopeo inspect {transport_path}");
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A busybox root filesystem tarball: the static binary and a few applet links.
fn busybox_rootfs(path: &Path) {
    let bin = ["/usr/bin/busybox", "/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .unwrap();
    let mut b = tar::Builder::new(fs::File::create(path).unwrap());
    let header = |kind, mode, size| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h
    };
    let mut dir = header(tar::EntryType::Directory, 0o755, 0);
    b.append_data(&mut dir.clone(), "bin/", std::io::empty())
        .unwrap();
    b.append_data(&mut dir, "tmp/", std::io::empty()).unwrap();
    let data = fs::read(bin).unwrap();
    let mut h = header(tar::EntryType::Regular, 0o755, data.len() as u64);
    b.append_data(&mut h, "bin/busybox", &data[..]).unwrap();
    for applet in ["sh", "ls", "cat", "echo", "id", "uname"] {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    b.finish().unwrap();
}

#[test]
fn podman_and_skopeo_agree_with_berth_on_both_formats() {
    if let Some(why) = skip_reason() {
        eprintln!("skipped: {why}");
        return;
    }
    let podman = Podman::new();
    let rootfs = podman.path("rootfs.tar");
    busybox_rootfs(&rootfs);
    let name = "localhost/berth-interop:latest";
    podman.run(&["import", rootfs.to_str().unwrap(), name]);
    let id = podman.image_id(name);
    let reference = Reference::parse(name).unwrap();

    let work = tempfile::tempdir().unwrap();
    for (format, file) in [
        ("docker-archive", "p-docker.tar"),
        ("oci-archive", "p-oci.tar"),
    ] {
        let archive = podman.path(file);
        podman.run(&[
            "save",
            "--format",
            format,
            "-o",
            archive.to_str().unwrap(),
            name,
        ]);
        let store = Store::open(&work.path().join(format)).unwrap();
        let loaded = store
            .load(fs::File::open(&archive).unwrap())
            .unwrap_or_else(|e| panic!("load podman's {format}: {e}"));
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].id.0.hex(), id, "image id of podman's {format}");
        assert_eq!(loaded[0].names, vec![reference.clone()], "{format}");
        let image = store
            .image(&reference)
            .unwrap()
            .expect("loaded image is indexed");
        assert_eq!(image.id, loaded[0].id);
        if format == "oci-archive" {
            let manifest = skopeo_raw(&format!("oci-archive:{}", archive.display()), false);
            assert_eq!(
                image.manifest_digest,
                Digest::of(&manifest),
                "manifest digest kept"
            );
        }
        // The layer is there, unpacked: busybox is in it.
        let chain = image.chain().unwrap();
        assert!(store
            .layers()
            .diff_path(&chain[0])
            .join("bin/busybox")
            .is_file());
    }

    // berth's saves, of the image loaded from podman's OCI archive.
    let store = Store::open(&work.path().join("oci-archive")).unwrap();
    let image = store.image(&reference).unwrap().unwrap();
    for (format, file, transport) in [
        (Format::DockerArchive, "b-docker.tar", "docker-archive"),
        (Format::OciArchive, "b-oci.tar", "oci-archive"),
    ] {
        let archive = work.path().join(file);
        store
            .save(
                std::slice::from_ref(&reference),
                fs::File::create(&archive).unwrap(),
                format,
            )
            .unwrap();
        let spec = format!("{transport}:{}", archive.display());
        let config = skopeo_raw(&spec, true);
        assert_eq!(
            Digest::of(&config).hex(),
            id,
            "skopeo's config digest of {spec}"
        );
        if format == Format::OciArchive {
            let manifest = skopeo_raw(&spec, false);
            assert_eq!(
                Digest::of(&manifest),
                image.manifest_digest,
                "skopeo's manifest of {spec}"
            );
        }

        podman.run(&["rmi", "--force", name]);
        let out = podman.run(&["load", "-i", archive.to_str().unwrap()]);
        assert!(
            out.contains(name),
            "podman load of {file} names the image: {out}"
        );
        assert_eq!(
            podman.image_id(name),
            id,
            "podman's id after loading {file}"
        );
    }

    // And a directory layout reads back with the same digests.
    let layout = work.path().join("layout");
    store
        .save_dir(std::slice::from_ref(&reference), &layout)
        .unwrap();
    // ref.name is the tag, as Docker writes it; the full name is io.containerd.image.name.
    let spec = format!("oci:{}:latest", layout.display());
    let manifest = skopeo_raw(&spec, false);
    assert_eq!(
        Digest::of(&manifest),
        image.manifest_digest,
        "skopeo {spec}"
    );
}
