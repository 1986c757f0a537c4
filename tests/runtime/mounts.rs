//! Bind mounts the kernel makes hard: id-mapped sources, sources a user namespace cannot
//! reach, and mount points that are dangling symlinks in the image.

use std::os::unix::fs::PermissionsExt;

use berth_test_support::{unique_id, Bundle, Runtime};
use serde_json::json;

#[test]
fn idmapped_bind_mount_shows_files_with_the_mapped_owner() {
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("owned-by-1000");
    std::fs::write(&file, "x").unwrap();
    std::os::unix::fs::chown(&file, Some(1000), Some(1000)).unwrap();
    let rt = Runtime::new();
    let bundle = Bundle::new("idmap")
        .mount(json!({
            "destination": "/data", "type": "bind", "source": src.path(), "options": ["bind", "idmap"],
            "uidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}],
            "gidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}]
        }))
        .args(&["stat", "-c", "%u:%g", "/data/owned-by-1000"]);
    let out = rt.run(&bundle, &unique_id("idmap")).ok();
    assert_eq!(out.stdout, "0:0\n");
    // The file on disk is unchanged.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 1000);
}

#[test]
fn user_namespace_container_mounts_a_source_its_root_cannot_reach() {
    let top = tempfile::tempdir().unwrap();
    let src = top.path().join("inner");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("hello"), "hello from the host\n").unwrap();
    // Nobody but host root may walk into `top`: the container's root is host uid 100000.
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let rt = Runtime::new();
    let bundle = Bundle::new("userns-bind")
        .config_mut(|c| {
            c["linux"]["namespaces"].as_array_mut().unwrap().push(json!({"type": "user"}));
            let map = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
            c["linux"]["uidMappings"] = map.clone();
            c["linux"]["gidMappings"] = map;
        })
        // /mnt exists in the image: the container's root may not create directories in a
        // rootfs owned by host root.
        .mount(json!({"destination": "/mnt", "type": "bind", "source": src, "options": ["bind", "ro"]}))
        .args(&["cat", "/mnt/hello"]);
    let out = rt.run(&bundle, &unique_id("userns-bind"));
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(out.ok().stdout, "hello from the host\n");
}

#[test]
fn mount_on_a_dangling_symlink_lands_where_it_points_inside_the_rootfs() {
    let rt = Runtime::new();
    let bundle = Bundle::new("dangling").args(&["sh", "-c", "grep -c ' /made/here ' /proc/self/mountinfo"]);
    std::os::unix::fs::symlink("/made/here", bundle.rootfs().join("etc/link")).unwrap();
    let bundle = bundle.mount(json!({
        "destination": "/etc/link", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]
    }));
    let out = rt.run(&bundle, &unique_id("dangling")).ok();
    assert_eq!(out.stdout, "1\n");
    assert!(!std::path::Path::new("/made/here").exists(), "the mount point was created on the host");
}
