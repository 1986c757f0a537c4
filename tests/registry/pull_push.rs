//! Anonymous registry: push then pull by tag and by digest, a multi-platform index, a
//! registry killed in the middle of a pull.

use std::time::{Duration, Instant};

use berth_test_support::registry::{Auth, Registry};
use berth_test_support::{Client, Daemon};

use crate::{both, image_id, pushed_digest, pushed_size, two_layer_image};

fn push_then_pull_by_tag_and_digest(c: Client) {
    let d = Daemon::start();
    let reg = Registry::start(&d.netns, Auth::Anonymous);
    let img = format!("{}/test/app:1", reg.host());
    two_layer_image(&d, c, &img, "pushed-by-berth");
    let id = image_id(&d, c, &img);
    let push = d.run(c, &["push", &img]).ok();
    assert!(push.stdout.contains("Pushed"), "{}", push.stdout);
    let digest = pushed_digest(&push);
    // Pushing again: every layer is there already.
    let again = d.run(c, &["push", &img]).ok();
    assert!(again.stdout.contains("Layer already exists"), "{}", again.stdout);
    assert_eq!(pushed_digest(&again), digest);

    d.run(c, &["rmi", &img]).ok();
    assert_ne!(d.run(c, &["image", "inspect", &img]).code, 0);
    let pull = d.run(c, &["pull", &img]).ok();
    assert!(pull.stdout.contains(&format!("Digest: {digest}")), "{}", pull.stdout);
    assert!(pull.stdout.contains("Status: Downloaded newer image"), "{}", pull.stdout);
    // The busybox layer is in the store: only the committed one came over the wire.
    assert!(pull.stdout.contains("Already exists"), "{}", pull.stdout);
    assert_eq!(image_id(&d, c, &img), id, "same config, same id");
    let up = d.run(c, &["pull", &img]).ok();
    assert!(up.stdout.contains("Image is up to date"), "{}", up.stdout);
    let out = d.run(c, &["run", "--rm", &img, "cat", "/marker"]).ok();
    assert_eq!(out.out(), "pushed-by-berth");

    // By digest, into a fresh name.
    let by_digest = format!("{}/test/app@{digest}", reg.host());
    d.run(c, &["rmi", &img]).ok();
    d.run(c, &["pull", &by_digest]).ok();
    assert_eq!(image_id(&d, c, &by_digest), id);
    let digests = d.run(c, &["image", "inspect", "-f", "{{json .RepoDigests}}", &by_digest]).ok();
    assert!(digests.stdout.contains(&digest), "{}", digests.stdout);

    // The same image under another repository of the registry: its blobs are mounted,
    // not uploaded again.
    let other = format!("{}/other/app:1", reg.host());
    d.run(c, &["tag", &format!("{}/test/app@{digest}", reg.host()), &other]).ok();
    let mounted = d.run(c, &["push", &other]).ok();
    assert!(mounted.stdout.contains("Mounted from test/app"), "{}", mounted.stdout);
    assert_eq!(pushed_digest(&mounted), digest);

    // Every tag of the repository at once.
    let two = format!("{}/test/app:2", reg.host());
    d.run(c, &["tag", &other, &two]).ok();
    d.run(c, &["tag", &other, &img]).ok();
    let all = d.run(c, &["push", "--all-tags", &format!("{}/test/app", reg.host())]).ok();
    assert!(all.stdout.contains(&format!("1: digest: {digest}")) && all.stdout.contains(&format!("2: digest: {digest}")), "{}", all.stdout);

    // Errors name what is missing.
    let missing = d.run(c, &["pull", &format!("{}/test/app:nope", reg.host())]);
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("not found") || missing.stdout.contains("not found"), "{missing:?}");
}

fn pull_quiet_and_platform(c: Client) {
    let d = Daemon::start();
    let reg = Registry::start(&d.netns, Auth::Anonymous);
    // Two single-platform images, and an index naming them as amd64 and arm64.
    let amd = format!("{}/multi/app:amd", reg.host());
    let arm = format!("{}/multi/app:arm", reg.host());
    two_layer_image(&d, c, &amd, "amd64");
    two_layer_image(&d, c, &arm, "arm64");
    let amd_id = image_id(&d, c, &amd);
    let arm_id = image_id(&d, c, &arm);
    let pa = d.run(c, &["push", &amd]).ok();
    let pr = d.run(c, &["push", &arm]).ok();
    let mt = media_type(&reg, &amd);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {{"mediaType":"{mt}","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
        {{"mediaType":"{mt}","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        pushed_digest(&pr), pushed_size(&pr), pushed_digest(&pa), pushed_size(&pa)
    );
    put_manifest(&reg, "multi/app", "1", "application/vnd.oci.image.index.v1+json", &index);
    let img = format!("{}/multi/app:1", reg.host());
    let q = d.run(c, &["pull", "-q", &img]).ok();
    assert_eq!(q.out(), img, "-q prints the reference only");
    assert_eq!(image_id(&d, c, &img), amd_id, "linux/amd64 by default");
    d.run(c, &["pull", "--platform", "linux/arm64", &img]).ok();
    assert_eq!(image_id(&d, c, &img), arm_id);
    let none = d.run(c, &["pull", "--platform", "linux/s390x", &img]);
    assert_ne!(none.code, 0);
    let text = format!("{}{}", none.stdout, none.stderr);
    assert!(text.contains("linux/s390x") && text.contains("linux/arm64/v8"), "{text}");
}

both!(push_then_pull_by_tag_and_digest, pull_quiet_and_platform);

/// The manifest media type the registry has for `image`.
fn media_type(reg: &Registry, image: &str) -> String {
    let out = crate::skopeo(reg, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{image}")]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["mediaType"].as_str().unwrap().to_owned()
}

/// PUT of a manifest or index, with python3 inside the namespace.
pub fn put_manifest(reg: &Registry, repo: &str, tag: &str, media_type: &str, body: &str) {
    let script = "import sys,urllib.request as u\n\
        r=u.Request(sys.argv[1],data=sys.stdin.buffer.read(),method='PUT',headers={'Content-Type':sys.argv[2]})\n\
        print(u.urlopen(r).status)";
    let url = format!("http://{}/v2/{repo}/manifests/{tag}", reg.host());
    let mut child = reg
        .command("python3")
        .args(["-c", script, &url, media_type])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "PUT {url}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The registry dies while a layer is downloading: the pull fails with a clear error after
/// its retries, leaves no image and no temp files; once it is back, a second pull completes.
#[test]
fn registry_killed_mid_pull() {
    let c = Client::Berth;
    let d = Daemon::start();
    let mut reg = Registry::start(&d.netns, Auth::Anonymous);
    let img = big_image(&d, c, &reg, "big/one:1");
    let tmp = d.data_root().join("image/tmp");
    let pull = d.command(c, &["pull", &img]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    assert!(kill_when_writing(&mut reg, &tmp), "the download never started");
    let out = pull.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "the pull outran the kill: {text}");
    eprintln!("killed: {text}");
    assert!(text.contains("cannot reach the registry"), "{text}");
    assert!(text.contains(&reg.host()), "the error names the registry: {text}");
    assert_ne!(d.run(c, &["image", "inspect", &img]).code, 0, "no partial image");
    let left: Vec<String> = std::fs::read_dir(&tmp).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(left.is_empty(), "temp files left: {left:?}");

    reg.restart();
    let again = d.run(c, &["pull", &img]).ok();
    assert!(again.stdout.contains("Downloaded newer image"), "{}", again.stdout);
    let size: u64 = d.run(c, &["image", "inspect", "-f", "{{.Size}}", &img]).ok().out().parse().unwrap();
    assert!(size >= 134217728, "{size}");
}

/// The registry dies in the middle of a layer and is back within the retries: the pull
/// resumes where it stopped (a `Range` request) and completes.
#[test]
fn registry_restarted_mid_pull_resumes() {
    let c = Client::Berth;
    let d = Daemon::start();
    let mut reg = Registry::start(&d.netns, Auth::Anonymous);
    let img = big_image(&d, c, &reg, "resume/one:1");
    let tmp = d.data_root().join("image/tmp");
    let pull = d.command(c, &["pull", &img]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    assert!(kill_when_writing(&mut reg, &tmp), "the download never started");
    reg.restart();
    let out = pull.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Retrying"), "{text}");
    assert!(text.contains("Downloaded newer image"), "{text}");
    let size: u64 = d.run(c, &["image", "inspect", "-f", "{{.Size}}", &img]).ok().out().parse().unwrap();
    assert!(size >= 134217728, "{size}");
}

/// A blob the registry serves with other bytes than its digest says (corrupted storage)
/// is refused: a digest error naming the blob, no image, nothing in the store's tmp.
#[test]
fn corrupted_blob_is_refused() {
    let c = Client::Berth;
    let d = Daemon::start();
    let reg = Registry::start(&d.netns, Auth::Anonymous);
    let img = format!("{}/bad/app:1", reg.host());
    two_layer_image(&d, c, &img, "will-be-corrupted");
    d.run(c, &["push", &img]).ok();
    let layer = d.run(c, &["image", "inspect", "-f", "{{json .RootFS.Layers}}", &img]).ok();
    let layers: Vec<String> = serde_json::from_str(layer.out()).unwrap();
    d.run(c, &["rmi", &img]).ok();
    d.run(c, &["image", "prune", "-a", "-f"]).ok();
    // The top layer is uncompressed: its blob digest is its diff_id. Flip one byte.
    let hex = layers.last().unwrap().trim_start_matches("sha256:").to_owned();
    let data = reg.storage().join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]));
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();
    let pull = d.run(c, &["pull", &img]);
    assert_ne!(pull.code, 0, "{pull:?}");
    let text = format!("{}{}", pull.stdout, pull.stderr);
    eprintln!("corrupted: {text}");
    assert!(text.contains(&format!("sha256:{hex}")) && text.contains("refused"), "{text}");
    assert_ne!(d.run(c, &["image", "inspect", &img]).code, 0, "no image");
    let blob = d.data_root().join(format!("image/blobs/sha256/{hex}"));
    assert!(!blob.exists(), "the bad blob was stored");
    let left: Vec<_> = std::fs::read_dir(d.data_root().join("image/tmp")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A 128 MiB incompressible one-layer image `repo` pushed to `reg` and removed locally.
fn big_image(d: &Daemon, c: Client, reg: &Registry, repo: &str) -> String {
    let ctx = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("head -c 134217728 /dev/urandom > {0}/big && tar -C {0} -cf {0}/big.tar big", ctx.path().display()))
        .status()
        .unwrap();
    assert!(st.success());
    let img = format!("{}/{repo}", reg.host());
    d.run(c, &["import", &ctx.path().join("big.tar").display().to_string(), &img]).ok();
    d.run(c, &["push", &img]).ok();
    d.run(c, &["rmi", &img]).ok();
    img
}

/// Kills the registry as soon as the daemon is writing a blob of more than 1 MiB.
fn kill_when_writing(reg: &mut Registry, tmp: &std::path::Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let writing = std::fs::read_dir(tmp).into_iter().flatten().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with("blob-") && e.metadata().is_ok_and(|m| m.len() > 1 << 20)
        });
        if writing {
            reg.kill();
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// daemon.json's `insecure-registries` (a CIDR block here): berthd talks to a registry
/// whose certificate it cannot verify only when the host is listed; otherwise the push
/// fails naming the certificate.
#[test]
fn insecure_registries_from_daemon_json() {
    let c = Client::Docker;
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), r#"{"insecure-registries": ["10.99.0.0/16"]}"#).unwrap();
    let d = Daemon::start_with(&["--config", &cfg.path().display().to_string()]);
    let reg = Registry::start_tls(&d.netns);
    let img = format!("{}/tls/busybox:1", reg.host());
    d.run(c, &["tag", "busybox", &img]).ok();
    d.run(c, &["push", &img]).ok();
    d.run(c, &["rmi", &img]).ok();
    d.run(c, &["pull", &img]).ok();

    let strict = Daemon::start();
    let reg2 = Registry::start_tls(&strict.netns);
    let img2 = format!("{}/tls/busybox:1", reg2.host());
    strict.run(c, &["tag", "busybox", &img2]).ok();
    let refused = strict.run(c, &["push", &img2]);
    assert_ne!(refused.code, 0, "{refused:?}");
    let text = format!("{}{}", refused.stdout, refused.stderr).to_lowercase();
    assert!(text.contains("certificate"), "{text}");
}
