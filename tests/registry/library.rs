//! berth-registry used as a library (as berthd uses it), for what no CLI flag reaches:
//! chunked `PATCH` uploads, the per-blob outcome of a push, and a pull into a second store
//! that shares no layer. Runs on a thread that joined the test's network namespace.

use std::sync::Mutex;

use berth_image::{Reference, Store};
use berth_registry::blob::Uploaded;
use berth_registry::{Event, Options, PullOptions, PushOptions, Status};
use berth_test_support::registry::{in_netns, Auth, Registry};
use berth_test_support::{busybox_rootfs, Daemon};

#[test]
fn chunked_push_then_pull_into_another_store() {
    let d = Daemon::start();
    let reg = Registry::start(&d.netns, Auth::Anonymous);
    let dir = tempfile::tempdir().unwrap();
    let src = Store::open(&dir.path().join("src")).unwrap();
    let dst = Store::open(&dir.path().join("dst")).unwrap();
    let out = std::process::Command::new("tar").arg("-C").arg(busybox_rootfs()).args(["-c", "."]).output().unwrap();
    assert!(out.status.success());
    let reference = Reference::parse(&format!("{}/lib/busybox:chunked", reg.host())).unwrap();
    src.import_rootfs_tar(&out.stdout[..], &reference).unwrap();
    let opts = Options::default();

    let events = Mutex::new(Vec::<Event>::new());
    let record = |e: Event| events.lock().unwrap().push(e);
    // 64 KiB chunks: the 2 MB busybox layer goes up in ~33 PATCHes.
    let push = PushOptions { credentials: None, chunk_size: Some(64 * 1024) };
    let pushed = in_netns(&d.netns, || berth_registry::push(&opts, &src, &reference, &push, &record)).unwrap();
    assert_eq!(pushed.blobs.len(), 2, "a layer and the config");
    assert!(pushed.blobs.iter().all(|(_, how)| *how == Uploaded::Pushed), "{:?}", pushed.blobs);
    let src_image = src.image(&reference).unwrap().unwrap();
    assert_eq!(pushed.digest, src_image.manifest_digest);
    assert!(events.lock().unwrap().iter().any(|e| matches!(e.status, Status::Pushing { .. })));

    let pulled = in_netns(&d.netns, || berth_registry::pull(&opts, &dst, &reference, &PullOptions::default(), &record)).unwrap();
    assert_eq!(pulled.manifest_digest, src_image.manifest_digest);
    assert_eq!(pulled.id, src_image.id.0);
    assert_eq!(pulled.downloaded, 1);
    assert!(!pulled.up_to_date);
    let again = in_netns(&d.netns, || berth_registry::pull(&opts, &dst, &reference, &PullOptions::default(), &record)).unwrap();
    assert!(again.up_to_date && again.downloaded == 0);
    let img = dst.image(&reference).unwrap().unwrap();
    assert!(dst.layers().exists(&img.chain().unwrap()[0]));

    // A registry that is not there: a clear error after the retries, quickly.
    let quick = Options { attempts: 2, ..Options::default() };
    let nowhere = Reference::parse("127.0.0.1:1/none/x:1").unwrap();
    let err = in_netns(&d.netns, || berth_registry::pull(&quick, &dst, &nowhere, &PullOptions::default(), &record)).unwrap_err();
    assert!(err.to_string().starts_with("pull 127.0.0.1:1/none/x: cannot reach the registry"), "{err}");
}

/// HTTPS with a CA from a certs.d directory: a registry on a non-loopback address is spoken
/// to over TLS only, verified against `<certs-dir>/<host:port>/*.crt`; without that CA the
/// certificate is refused, and plain HTTP is never tried for it unless it is listed insecure.
#[test]
fn tls_with_certs_d_and_the_insecure_rule() {
    let d = Daemon::start();
    let reg = Registry::start_tls(&d.netns);
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let out = std::process::Command::new("tar").arg("-C").arg(busybox_rootfs()).args(["-c", "."]).output().unwrap();
    let reference = Reference::parse(&format!("{host}/tls/busybox:1")).unwrap();
    store.import_rootfs_tar(&out.stdout[..], &reference).unwrap();
    let quiet = berth_registry::progress::Quiet;

    // No CA: the certificate is not trusted, and 10.99.0.1 is not insecure.
    let bare = Options { cert_dirs: vec![dir.path().join("none")], attempts: 1, ..Options::default() };
    let err = in_netns(&d.netns, || berth_registry::push(&bare, &store, &reference, &PushOptions::default(), &quiet)).unwrap_err();
    assert!(err.to_string().contains("cannot reach the registry") && err.to_string().to_lowercase().contains("certificate"), "{err}");

    // The CA in certs.d/<host:port>/ca.crt: verified TLS.
    let certs = dir.path().join("certs.d");
    std::fs::create_dir_all(certs.join(&host)).unwrap();
    std::fs::copy(reg.ca_cert(), certs.join(&host).join("ca.crt")).unwrap();
    let opts = Options { cert_dirs: vec![certs], ..Options::default() };
    let pushed = in_netns(&d.netns, || berth_registry::push(&opts, &store, &reference, &PushOptions::default(), &quiet)).unwrap();
    let other = Store::open(&dir.path().join("other")).unwrap();
    let pulled = in_netns(&d.netns, || berth_registry::pull(&opts, &other, &reference, &PullOptions::default(), &quiet)).unwrap();
    assert_eq!(pulled.manifest_digest, pushed.digest);

    // Listed as insecure: the certificate is not checked (HTTPS still used: it works).
    let insecure = Options { cert_dirs: vec![], insecure: vec![host.clone()], ..Options::default() };
    in_netns(&d.netns, || berth_registry::pull(&insecure, &other, &reference, &PullOptions::default(), &quiet)).unwrap();
}
