//! The rdma controller. `rdma.max` takes the same
//! `<device> hca_handle=<n> hca_object=<n>` lines on v1 and v2.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::LinuxRdma;

use crate::error::Result;
use crate::interface;

pub(crate) fn apply(dir: &Path, rdma: &HashMap<String, LinuxRdma>) -> Result<()> {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    for (device, limit) in devices {
        if let Some(line) = line(device, limit) {
            interface::write(dir, "rdma.max", &line)?;
        }
    }
    Ok(())
}

fn line(device: &str, limit: &LinuxRdma) -> Option<String> {
    let mut line = device.to_owned();
    if let Some(h) = limit.hca_handles() {
        line.push_str(&format!(" hca_handle={h}"));
    }
    if let Some(o) = limit.hca_objects() {
        line.push_str(&format!(" hca_object={o}"));
    }
    (line.len() > device.len()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxRdmaBuilder;

    #[test]
    fn formats_lines() {
        let l = LinuxRdmaBuilder::default()
            .hca_handles(2u32)
            .hca_objects(100u32)
            .build()
            .unwrap();
        assert_eq!(
            line("mlx4_0", &l).unwrap(),
            "mlx4_0 hca_handle=2 hca_object=100"
        );
        assert_eq!(line("mlx4_0", &LinuxRdma::default()), None);
    }
}
