//! `--device /dev/x[:/dev/y][:rwm]`: host path, container path (the host's when absent),
//! cgroup permissions (default `rwm`).

use berth_api_client::models::DeviceMapping;

fn is_mode(s: &str) -> bool {
    !s.is_empty() && s.len() <= 3 && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

pub fn parse(s: &str) -> Result<DeviceMapping, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, perms) = match parts.as_slice() {
        [src] => (*src, *src, "rwm"),
        [src, m] if is_mode(m) => (*src, *src, *m),
        [src, dst] => (*src, *dst, "rwm"),
        [src, dst, m] => {
            if !is_mode(m) {
                return Err(format!("invalid device mode: {m}"));
            }
            (*src, *dst, *m)
        }
        _ => return Err(format!("invalid device specification: {s}")),
    };
    if src.is_empty() || !dst.starts_with('/') {
        return Err(format!("invalid device specification: {s}"));
    }
    Ok(DeviceMapping {
        path_on_host: Some(src.to_owned()),
        path_in_container: Some(dst.to_owned()),
        cgroup_permissions: Some(perms.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> (String, String, String) {
        let d = parse(s).unwrap();
        (
            d.path_on_host.unwrap(),
            d.path_in_container.unwrap(),
            d.cgroup_permissions.unwrap(),
        )
    }

    #[test]
    fn devices() {
        assert_eq!(
            t("/dev/fuse"),
            ("/dev/fuse".into(), "/dev/fuse".into(), "rwm".into())
        );
        assert_eq!(
            t("/dev/fuse:r"),
            ("/dev/fuse".into(), "/dev/fuse".into(), "r".into())
        );
        assert_eq!(
            t("/dev/sda:/dev/xvda"),
            ("/dev/sda".into(), "/dev/xvda".into(), "rwm".into())
        );
        assert_eq!(
            t("/dev/sda:/dev/xvda:rw"),
            ("/dev/sda".into(), "/dev/xvda".into(), "rw".into())
        );
        assert!(parse("/dev/sda:/dev/xvda:rwx").is_err());
        assert!(parse("/a:/b:r:x").is_err());
        assert!(parse("/dev/sda:xvda").is_err());
    }
}
