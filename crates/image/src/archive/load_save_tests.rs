//! Archive round trips, concurrent loads, and archives that must be refused without a
//! trace in the store.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Barrier};

use crate::archive::{ArchiveError, Format};
use crate::digest::Digest;
use crate::layer::fixture::TarFixture;
use crate::manifest::media_type::*;
use crate::manifest::{Descriptor, Flavor, Index, Manifest};
use crate::reference::Reference;
use crate::store::layers::ChainId;
use crate::store::Store;

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn config_for(layers: &[Vec<u8>]) -> Vec<u8> {
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| {
            let (_, mut r) = crate::layer::compression::decompress(&l[..]).unwrap();
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut v).unwrap();
            Digest::of(&v).to_string()
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap()
}

/// Builds an archive tar from (name, bytes) files, in order.
fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Names verbatim (no sanitizing), so hostile archives can be expressed.
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A docker archive of one image per (tags, layers).
fn docker_archive(images: &[(&[&str], Vec<Vec<u8>>)]) -> Vec<u8> {
    let mut files = Vec::new();
    let mut manifest = Vec::new();
    for (tags, layers) in images {
        let config = config_for(layers);
        let config_name = format!("{}.json", Digest::of(&config).hex());
        let mut names = Vec::new();
        for l in layers {
            let name = format!("{}/layer.tar", Digest::of(l).hex());
            if !files.iter().any(|(n, _)| n == &name) {
                files.push((name.clone(), l.clone()));
            }
            names.push(name);
        }
        files.push((config_name.clone(), config));
        manifest
            .push(serde_json::json!({"Config": config_name, "RepoTags": tags, "Layers": names}));
    }
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    tar_of(&files)
}

/// An OCI archive of one image with these layer blobs and media types.
fn oci_archive(tag: &str, layers: &[(Vec<u8>, &str)]) -> Vec<u8> {
    let blobs: Vec<Vec<u8>> = layers.iter().map(|(b, _)| b.clone()).collect();
    oci_archive_with(tag, layers, config_for(&blobs))
}

fn oci_archive_with(tag: &str, layers: &[(Vec<u8>, &str)], config: Vec<u8>) -> Vec<u8> {
    let blobs: Vec<Vec<u8>> = layers.iter().map(|(b, _)| b.clone()).collect();
    let m = Manifest::new(
        Flavor::Oci,
        Descriptor::new(OCI_CONFIG, Digest::of(&config), config.len() as u64),
        layers
            .iter()
            .map(|(b, t)| Descriptor::new(t, Digest::of(b), b.len() as u64))
            .collect(),
    )
    .to_json()
    .unwrap();
    let mut d = Descriptor::new(OCI_MANIFEST, Digest::of(&m), m.len() as u64);
    d.annotations = super::oci_layout::annotations_for(&Reference::parse(tag).unwrap());
    let index = Index::new(Flavor::Oci, vec![d]).to_json().unwrap();
    let mut files = vec![(
        "oci-layout".to_owned(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    for b in blobs.iter().chain([&config, &m]) {
        files.push((format!("blobs/sha256/{}", Digest::of(b).hex()), b.clone()));
    }
    files.push(("index.json".into(), index));
    tar_of(&files)
}

fn base_layer() -> Vec<u8> {
    TarFixture::new()
        .dir("bin/")
        .file("bin/sh", b"#!shell")
        .file("etc/os-release", b"berth\n")
        .finish()
}

/// What a failed load must leave exactly as it was.
fn snapshot(store: &Store) -> (Option<Vec<u8>>, Vec<String>, Vec<String>) {
    let list = |dir: &Path| {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    (
        fs::read(store.root().join("images.json")).ok(),
        list(&store.root().join("blobs/sha256")),
        list(&store.root().join("layers")),
    )
}

fn store_in(dir: &Path, name: &str) -> Store {
    Store::open(&dir.join(name)).unwrap()
}

#[test]
fn docker_archive_loads_with_tags_and_shared_layers() {
    if !is_root() {
        eprintln!("skipped: unpacking layers needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "s");
    let top = TarFixture::new().file("app", b"1").finish();
    let archive = docker_archive(&[
        (&["busybox:latest", "localhost/bb:1"], vec![base_layer()]),
        (&["app:v1"], vec![base_layer(), top.clone()]),
    ]);
    let loaded = store.load(&archive[..]).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].names.len(), 2);
    let base_chain = ChainId::new(None, &Digest::of(&base_layer()));
    assert_eq!(loaded[0].unpacked, vec![base_chain.clone()]);
    assert_eq!(loaded[1].unpacked.len(), 1, "base layer reused");
    let image = store
        .image(&Reference::parse("app:v1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(image.id, loaded[1].id);
    assert_eq!(image.manifest_digest, loaded[1].manifest_digest);
    let chain = image.chain().unwrap();
    assert_eq!(
        fs::read(store.layers().diff_path(&chain[1]).join("app")).unwrap(),
        b"1"
    );
    // Loading again changes nothing and unpacks nothing.
    let again = store.load(&archive[..]).unwrap();
    assert!(again.iter().all(|l| l.unpacked.is_empty()));
    assert_eq!(again[1].manifest_digest, loaded[1].manifest_digest);
}

#[test]
fn round_trips_keep_digests() {
    if !is_root() {
        eprintln!("skipped: unpacking layers needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = store_in(dir.path(), "a");
    let r = Reference::parse("round:trip").unwrap();
    let top = TarFixture::new().file("x", b"y").finish();
    let archive = oci_archive(
        "round:trip",
        &[
            (gzip(&base_layer()), OCI_LAYER_GZIP),
            (zstd::encode_all(&top[..], 3).unwrap(), OCI_LAYER_ZSTD),
        ],
    );
    let original = a.load(&archive[..]).unwrap().remove(0);
    assert_eq!(original.names, vec![r.clone()]);

    // OCI archive: every digest survives, and the output is deterministic.
    let mut oci = Vec::new();
    a.save(std::slice::from_ref(&r), &mut oci, Format::OciArchive)
        .unwrap();
    let mut oci2 = Vec::new();
    a.save(std::slice::from_ref(&r), &mut oci2, Format::OciArchive)
        .unwrap();
    assert_eq!(oci, oci2);
    let b = store_in(dir.path(), "b");
    let from_oci = b.load(&oci[..]).unwrap().remove(0);
    assert_eq!(from_oci.manifest_digest, original.manifest_digest);
    assert_eq!(from_oci.id, original.id);
    assert_eq!(from_oci.names, vec![r.clone()]);

    // OCI layout directory.
    let layout = dir.path().join("layout");
    a.save_dir(std::slice::from_ref(&r), &layout).unwrap();
    assert!(layout.join("oci-layout").is_file());
    let c = store_in(dir.path(), "c");
    let from_dir = c.load_dir(&layout).unwrap().remove(0);
    assert_eq!(from_dir.manifest_digest, original.manifest_digest);

    // Docker archive: layers decompressed, config (so the id) unchanged.
    let mut docker = Vec::new();
    a.save(std::slice::from_ref(&r), &mut docker, Format::DockerArchive)
        .unwrap();
    let d = store_in(dir.path(), "d");
    let from_docker = d.load(&docker[..]).unwrap().remove(0);
    assert_eq!(from_docker.id, original.id);
    assert_eq!(from_docker.names, vec![r.clone()]);
    let image = d.image(&r).unwrap().unwrap();
    assert!(image
        .manifest
        .layers()
        .iter()
        .all(|l| l.media_type().to_string() == OCI_LAYER));
    // ...and a docker archive saved from the docker-loaded image is the same archive.
    let mut docker2 = Vec::new();
    d.save(
        std::slice::from_ref(&r),
        &mut docker2,
        Format::DockerArchive,
    )
    .unwrap();
    assert_eq!(docker, docker2);
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for e in tar::Archive::new(&docker[..]).entries().unwrap() {
        *names
            .entry(e.unwrap().path().unwrap().display().to_string())
            .or_default() += 1;
    }
    assert!(names.contains_key("manifest.json") && names.contains_key("repositories"));
    assert!(names.contains_key(&format!("{}.json", original.id.0.hex())));
}

#[test]
fn concurrent_loads_of_shared_layers_unpack_once() {
    if !is_root() {
        eprintln!("skipped: unpacking layers needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "s");
    // A base big enough that the two unpacks overlap in time.
    let mut base = TarFixture::new();
    for i in 0..400 {
        base = base.file(&format!("f{i}"), &[b'x'; 4096]);
    }
    let base = base.finish();
    let archives: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            let top = TarFixture::new()
                .file("who", format!("{i}").as_bytes())
                .finish();
            let tag = format!("app{i}:latest");
            docker_archive(&[(&[tag.as_str()], vec![base.clone(), top])])
        })
        .collect();
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = archives
        .into_iter()
        .map(|a| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                store.load(&a[..]).unwrap().remove(0)
            })
        })
        .collect();
    let loaded: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let base_chain = ChainId::new(None, &Digest::of(&base));
    let unpacks = loaded
        .iter()
        .filter(|l| l.unpacked.contains(&base_chain))
        .count();
    assert_eq!(unpacks, 1, "{loaded:?}");
    for i in 0..2 {
        let img = store
            .image(&Reference::parse(&format!("app{i}")).unwrap())
            .unwrap()
            .unwrap();
        let chain = img.chain().unwrap();
        assert_eq!(
            fs::read(store.layers().diff_path(&chain[1]).join("who")).unwrap(),
            format!("{i}").as_bytes()
        );
        assert_eq!(
            fs::read(store.layers().diff_path(&chain[0]).join("f399"))
                .unwrap()
                .len(),
            4096
        );
    }
    assert_eq!(
        fs::read_dir(store.root().join("layers")).unwrap().count(),
        3
    );
}

/// Loads `archive` into a store holding one image already, expects failure, and checks
/// the store is exactly as before.
fn refused(archive: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "s");
    if is_root() {
        store
            .load(&docker_archive(&[(&["before:1"], vec![base_layer()])])[..])
            .unwrap();
    }
    let before = snapshot(&store);
    let err = store.load(archive).unwrap_err().to_string();
    assert_eq!(
        snapshot(&store),
        before,
        "store changed by a failed load: {err}"
    );
    assert_eq!(
        fs::read_dir(store.root().join("tmp")).unwrap().count(),
        0,
        "{err}"
    );
    err
}

#[test]
fn traversal_in_a_layer_is_refused_naming_image_and_layer() {
    let evil = TarFixture::new()
        .file("ok", b"1")
        .file("../../etc/evil", b"x")
        .finish();
    let err = refused(&docker_archive(&[(
        &["evil:1"],
        vec![base_layer(), evil.clone()],
    )]));
    assert!(err.contains("docker.io/library/evil:1"), "{err}");
    assert!(
        err.contains(&format!("layer 1 ({}/layer.tar)", Digest::of(&evil).hex())),
        "{err}"
    );
    assert!(err.contains("../../etc/evil"), "{err}");
}

#[test]
fn a_bad_layer_among_several_unpacked_at_once_leaves_nothing() {
    if !is_root() {
        eprintln!("skipped: unpacking layers needs root");
        return;
    }
    // Good layers big enough to be still unpacking when the bad one fails, and after it.
    let big = |tag: &str| {
        let mut t = TarFixture::new();
        for i in 0..200 {
            t = t.file(&format!("{tag}/f{i}"), &[b'x'; 8192]);
        }
        gzip(&t.finish())
    };
    let evil = TarFixture::new().file("../evil", b"x").finish();
    let err = refused(&docker_archive(&[(
        &["many:1"],
        vec![big("a"), big("b"), evil.clone(), big("c"), big("d")],
    )]));
    assert!(
        err.contains(&format!("layer 2 ({}/layer.tar)", Digest::of(&evil).hex())),
        "{err}"
    );
}

#[test]
fn missing_layer_is_refused() {
    let layer = base_layer();
    let config = config_for(&[layer]);
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["gone:1"], "Layers": ["abc/layer.tar"]}]);
    let archive = tar_of(&[
        (config_name, config),
        (
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
    ]);
    let err = refused(&archive);
    assert!(
        err.contains("gone:1") && err.contains("layer \"abc/layer.tar\" is not in the archive"),
        "{err}"
    );
}

#[test]
fn config_digest_mismatch_is_refused() {
    let layer = base_layer();
    let config = config_for(std::slice::from_ref(&layer));
    let wrong = Digest::of(b"another config");
    let layer_name = "l/layer.tar".to_owned();
    let manifest = serde_json::json!([{"Config": format!("{}.json", wrong.hex()), "RepoTags": ["bad:1"], "Layers": [layer_name]}]);
    let archive = tar_of(&[
        (layer_name, layer),
        (format!("{}.json", wrong.hex()), config.clone()),
        (
            "manifest.json".into(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
    ]);
    let err = refused(&archive);
    assert!(
        err.contains("bad:1") && err.contains(&wrong.to_string()),
        "{err}"
    );
    assert!(err.contains(&Digest::of(&config).to_string()), "{err}");
}

#[test]
fn truncated_gzip_layer_is_refused() {
    let gz = gzip(&TarFixture::new().file("big", &[7u8; 100_000]).finish());
    let cut = gz[..gz.len() / 2].to_vec();
    // The config names the whole layer's DiffID; the archive carries half the blob.
    let config = config_for(std::slice::from_ref(&gz));
    let err = refused(&oci_archive_with(
        "cut:1",
        &[(cut.clone(), OCI_LAYER_GZIP)],
        config,
    ));
    assert!(err.contains("docker.io/library/cut:1"), "{err}");
    assert!(
        err.contains(&format!(
            "layer 0 (blobs/sha256/{})",
            Digest::of(&cut).hex()
        )),
        "{err}"
    );
}

#[test]
fn oci_blob_tampering_and_unknown_media_types_are_refused() {
    let layer = gzip(&base_layer());
    let good = oci_archive("t:1", &[(layer.clone(), OCI_LAYER_GZIP)]);
    // Same name, other bytes: the blob no longer hashes to its name.
    let hex = Digest::of(&layer).hex().to_owned();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for e in tar::Archive::new(&good[..]).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut v).unwrap();
        if name.ends_with(&hex) {
            v = gzip(b"tampered");
        }
        files.push((name, v));
    }
    let err = refused(&tar_of(&files));
    assert!(
        err.contains("t:1") && err.contains("layer 0") && err.contains(&hex),
        "{err}"
    );

    let err = refused(&oci_archive("odd:1", &[(layer, "application/x-odd-layer")]));
    assert!(
        err.contains("odd:1") && err.contains("application/x-odd-layer"),
        "{err}"
    );
}

#[test]
fn broken_outer_archives_are_refused() {
    let whole = docker_archive(&[(&["x:1"], vec![base_layer()])]);
    // Cut inside the first file's data.
    let err = refused(&whole[..700]);
    assert!(
        err.contains("truncated") || err.contains("read archive"),
        "{err}"
    );
    let err = refused(&tar_of(&[("../manifest.json".into(), b"[]".to_vec())]));
    assert!(err.contains("leaves the archive"), "{err}");
    let err = refused(&tar_of(&[("hello".into(), b"x".to_vec())]));
    assert!(err.contains("neither a docker archive"), "{err}");
    let err = refused(&tar_of(&[("manifest.json".into(), b"{oops".to_vec())]));
    assert!(err.contains("manifest.json"), "{err}");
}

#[test]
fn save_of_unknown_image_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "s");
    let err = store
        .save(
            &[Reference::parse("nope").unwrap()],
            std::io::sink(),
            Format::OciArchive,
        )
        .unwrap_err();
    assert!(matches!(err, ArchiveError::Save { .. }), "{err}");
    assert!(
        err.to_string().contains("docker.io/library/nope:latest"),
        "{err}"
    );
}

#[test]
fn gzipped_archives_and_symlinked_layers_load() {
    if !is_root() {
        eprintln!("skipped: unpacking layers needs root");
        return;
    }
    // `docker save` writes a layer shared by two images once, and a symlink for the other.
    let layer = base_layer();
    let config = config_for(std::slice::from_ref(&layer));
    let config_name = format!("{}.json", Digest::of(&config).hex());
    let manifest = serde_json::json!([{"Config": config_name, "RepoTags": ["ln:1"], "Layers": ["b/layer.tar"]}]);
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("a/layer.tar", &layer), (&config_name, &config)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "b/layer.tar", "../a/layer.tar")
        .unwrap();
    let m = serde_json::to_vec(&manifest).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(m.len() as u64);
    b.append_data(&mut h, "manifest.json", &m[..]).unwrap();
    let archive = gzip(&b.into_inner().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path(), "s");
    let loaded = store.load(&archive[..]).unwrap();
    assert_eq!(loaded[0].id.0, Digest::of(&config));
    assert!(store
        .image(&Reference::parse("ln:1").unwrap())
        .unwrap()
        .is_some());
}

#[test]
fn multi_platform_index_loads_the_chosen_platform() {
    if !is_root() {
        eprintln!("skipped: unpacking layers needs root");
        return;
    }
    let mut files = vec![(
        "oci-layout".to_owned(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    let mut children = Vec::new();
    for (arch, variant) in [("arm64", Some("v8")), ("amd64", None)] {
        let layer = TarFixture::new().file("arch", arch.as_bytes()).finish();
        let config = config_for(std::slice::from_ref(&layer));
        let m = Manifest::new(
            Flavor::Docker,
            Descriptor::new(DOCKER_CONFIG, Digest::of(&config), config.len() as u64),
            vec![Descriptor::new(
                DOCKER_LAYER,
                Digest::of(&layer),
                layer.len() as u64,
            )],
        )
        .to_json()
        .unwrap();
        let mut d = Descriptor::new(DOCKER_MANIFEST, Digest::of(&m), m.len() as u64);
        d.platform = Some(crate::manifest::Platform::new("linux", arch, variant));
        children.push(d);
        for b in [layer, config, m] {
            files.push((format!("blobs/sha256/{}", Digest::of(&b).hex()), b));
        }
    }
    let list = Index::new(Flavor::Docker, children.clone())
        .to_json()
        .unwrap();
    files.push((
        format!("blobs/sha256/{}", Digest::of(&list).hex()),
        list.clone(),
    ));
    let mut top = Descriptor::new(DOCKER_MANIFEST_LIST, Digest::of(&list), list.len() as u64);
    top.annotations = super::oci_layout::annotations_for(&Reference::parse("multi:1").unwrap());
    files.push((
        "index.json".into(),
        Index::new(Flavor::Oci, vec![top]).to_json().unwrap(),
    ));
    let archive = tar_of(&files);

    let dir = tempfile::tempdir().unwrap();
    let arm = store_in(dir.path(), "arm");
    let want = crate::manifest::Platform::parse("linux/arm64").unwrap();
    let loaded = arm.load_with(&archive[..], &want).unwrap();
    assert_eq!(loaded[0].manifest_digest, children[0].digest);
    let amd = store_in(dir.path(), "amd");
    let want = crate::manifest::Platform::parse("linux/amd64").unwrap();
    assert_eq!(
        amd.load_with(&archive[..], &want).unwrap()[0].manifest_digest,
        children[1].digest
    );
    let err = amd
        .load_with(
            &archive[..],
            &crate::manifest::Platform::parse("linux/s390x").unwrap(),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("no manifest for linux/s390x"),
        "{err}"
    );
    // A Docker schema 2 manifest is kept as it came, and the store reads it.
    let image = amd
        .image(&Reference::parse("multi:1").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(image.manifest_digest, children[1].digest);
}

/// (entries, bytes) under `root`, recursively: every entry counted, and the length of
/// every file and symlink. Directories' own sizes are left out: ext4 never shrinks a
/// directory once it held many entries, which is the filesystem's doing, not a leak.
fn measure(root: &Path) -> (usize, u64) {
    let mut entries = 0;
    let mut bytes = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            entries += 1;
            if m.is_dir() {
                stack.push(e.path());
            } else {
                bytes += m.len();
            }
        }
    }
    (entries, bytes)
}

/// The whole life of two images sharing a layer, from load to prune, through a container
/// root mounted from one of them: nothing may be left in the data root afterwards.
#[test]
fn load_mount_remove_and_prune_leave_the_data_root_as_it_was() {
    if !is_root() {
        eprintln!("skipped: needs root (layer ownership, overlay mounts)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    let first = measure(&root);

    let shared = base_layer();
    let a = docker_archive(&[(
        &["leak/a:1"],
        vec![
            shared.clone(),
            TarFixture::new().file("srv/a", b"a").finish(),
        ],
    )]);
    let b = docker_archive(&[(
        &["leak/b:1"],
        vec![shared, TarFixture::new().file("srv/b", b"bb").finish()],
    )]);
    let loaded_a = store.load(&a[..]).unwrap();
    assert_eq!(loaded_a[0].unpacked.len(), 2);
    let loaded_b = store.load(&b[..]).unwrap();
    assert_eq!(loaded_b[0].unpacked.len(), 1, "the shared layer is reused");

    let image = store.resolve("leak/a:1").unwrap();
    let chain = image.chain().unwrap();
    store.hold_layers("c1", &chain).unwrap();
    // The container's directory is the engine's, outside the image store.
    let container = dir.path().join("containers/c1");
    let mounted = crate::driver::mount_rootfs(store.layers(), &chain, &container).unwrap();
    assert_eq!(fs::read(mounted.path().join("bin/sh")).unwrap(), b"#!shell");
    fs::write(mounted.path().join("srv/written"), b"by the container").unwrap();
    assert!(!store
        .layers()
        .diff_path(&chain[1])
        .join("srv/written")
        .exists());
    mounted.unmount().unwrap();
    fs::remove_dir_all(&container).unwrap();
    store.release("c1").unwrap();

    store.remove_image("leak/a:1", false).unwrap();
    store.remove_image("leak/b:1", false).unwrap();
    store.prune(true).unwrap();
    assert!(store.list(&Default::default()).unwrap().is_empty());
    assert_eq!(measure(&root), first, "data root differs from after open");
    drop(store);
    Store::open(&root).unwrap();
    assert_eq!(measure(&root), first, "data root differs after reopening");
}
