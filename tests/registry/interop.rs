//! Other clients of the same registry: what berth pushes, skopeo and podman pull with the
//! same digests; what skopeo (also with zstd layers) and podman push, berth pulls and runs.

use berth_test_support::registry::{Auth, Registry};
use berth_test_support::{Client, Daemon};

use crate::{image_id, pushed_digest, sha256, skopeo, two_layer_image};

#[test]
fn berth_push_reads_in_skopeo_and_podman() {
    let c = Client::Berth;
    let d = Daemon::start();
    let reg = Registry::start(&d.netns, Auth::Anonymous);
    let img = format!("{}/interop/app:1", reg.host());
    two_layer_image(&d, c, &img, "for-skopeo");
    let push = d.run(c, &["push", &img]).ok();
    let digest = pushed_digest(&push);
    let raw = skopeo(&reg, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{img}")]);
    assert_eq!(sha256(&raw.stdout), digest, "the registry serves berth's manifest byte for byte");
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("oci");
    // skopeo verifies every blob it copies against its digest.
    // (berth pushes layers as the store has them, here uncompressed: keep them so.)
    skopeo(&reg, &["copy", "--src-tls-verify=false", "--dest-oci-accept-uncompressed-layers", &format!("docker://{img}"), &format!("oci:{}:x", layout.display())]);
    let index: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());

    // podman, with a private store (vfs: no mounts to leave behind).
    let root = dir.path().join("podman");
    let pm = |args: &[&str]| {
        reg.command("podman")
            .arg("--root")
            .arg(root.join("root"))
            .arg("--runroot")
            .arg(root.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"])
            .args(args)
            .output()
            .unwrap()
    };
    let pulled = pm(&["pull", "-q", "--tls-verify=false", &img]);
    assert!(pulled.status.success(), "podman pull: {}", String::from_utf8_lossy(&pulled.stderr));
    let listed = pm(&["images", "--digests", "--format", "{{.Digest}}"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&digest), "{}", String::from_utf8_lossy(&listed.stdout));
    // And back: podman pushes what it pulled to another repository; berth pulls and runs it.
    let back = format!("{}/interop/from-podman:1", reg.host());
    let tagged = pm(&["tag", &img, &back]);
    assert!(tagged.status.success(), "podman tag: {}", String::from_utf8_lossy(&tagged.stderr));
    let pushed = pm(&["push", "-q", "--tls-verify=false", &back]);
    assert!(pushed.status.success(), "podman push: {}", String::from_utf8_lossy(&pushed.stderr));
    let raw = skopeo(&reg, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{back}")]);
    let pull = d.run(c, &["pull", &back]).ok();
    assert!(pull.stdout.contains(&format!("Digest: {}", sha256(&raw.stdout))), "{}", pull.stdout);
    assert_eq!(d.run(c, &["run", "--rm", &back, "cat", "/marker"]).ok().out(), "for-skopeo");
    let _ = pm(&["rmi", "-a", "-f"]);
}

#[test]
fn skopeo_push_pulls_in_berth_with_zstd() {
    let c = Client::Berth;
    let d = Daemon::start();
    // One registry per compression: skopeo's blob cache would otherwise reuse, for the
    // second copy, the layers it compressed for the first.
    let regs = [Registry::start(&d.netns, Auth::Anonymous), Registry::start(&d.netns, Auth::Anonymous)];
    two_layer_image(&d, c, "local/src:1", "from-skopeo");
    let id = image_id(&d, c, "local/src:1");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("src.tar");
    d.run(c, &["save", "-o", &archive.display().to_string(), "local/src:1"]).ok();
    for (reg, (name, extra)) in regs.iter().zip([("zstd", &["--format", "oci", "--dest-compress-format", "zstd"][..]), ("gzip", &["--format", "v2s2"][..])]) {
        let img = format!("{}/skopeo/{name}:1", reg.host());
        let mut args = vec!["copy", "--dest-tls-verify=false"];
        args.extend_from_slice(extra);
        let src = format!("docker-archive:{}", archive.display());
        let dst = format!("docker://{img}");
        args.push(&src);
        args.push(&dst);
        skopeo(reg, &args);
        let raw = skopeo(reg, &["inspect", "--raw", "--tls-verify=false", &dst]);
        if name == "zstd" {
            assert!(String::from_utf8_lossy(&raw.stdout).contains("tar+zstd"), "{}", String::from_utf8_lossy(&raw.stdout));
        }
        let digest = sha256(&raw.stdout);
        let pull = d.run(c, &["pull", &img]).ok();
        assert!(pull.stdout.contains(&format!("Digest: {digest}")), "{}", pull.stdout);
        if name == "gzip" {
            // (converting to OCI, skopeo rewrites the config: a new id for zstd.)
            assert_eq!(image_id(&d, c, &img), id, "{name}: the config skopeo pushed is the one berth saved");
        }
        let out = d.run(c, &["run", "--rm", &img, "cat", "/marker"]).ok();
        assert_eq!(out.out(), "from-skopeo");
        d.run(c, &["rmi", &img]).ok();
    }
}
