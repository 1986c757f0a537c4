//! Platforms, and choosing one manifest of an index for the host. Names are Go's
//! (GOOS/GOARCH, `amd64` not `x86_64`) because that is what every index carries. An arm
//! host runs older variants of its architecture, so the best match is the exact variant,
//! then the newest older one; a descriptor that names no variant matches any.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::manifest::model::Descriptor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
        Platform {
            architecture: architecture.to_owned(),
            os: os.to_owned(),
            os_version: None,
            os_features: Vec::new(),
            variant: variant.map(str::to_owned),
            features: Vec::new(),
        }
    }

    /// The platform this process runs on, in Go's names (`linux/amd64` on x86-64).
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "x86" => ("386", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "riscv64" => ("riscv64", None),
            "s390x" => ("s390x", None),
            other => (other, None),
        };
        Platform::new(std::env::consts::OS, arch, variant)
    }

    /// Parses `os/arch[/variant]`, as `--platform` takes it.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let arch = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next().filter(|p| !p.is_empty());
        if parts.next().is_some() {
            return None;
        }
        Some(Platform::new(os, arch, variant))
    }

    /// How well an image built for `self` suits a host of `want`: `None` when it does not
    /// run there, a higher score for a closer variant.
    fn score(&self, want: &Platform) -> Option<u32> {
        if self.os != want.os
            || normalize_arch(&self.architecture) != normalize_arch(&want.architecture)
        {
            return None;
        }
        let arch = normalize_arch(&want.architecture);
        let want_v = want.variant.as_deref().or(default_variant(arch));
        let have_v = self.variant.as_deref().or(default_variant(arch));
        match (want_v, have_v) {
            (_, None) | (None, _) => Some(50),
            (Some(w), Some(h)) if w == h => Some(100),
            // An armv7 host runs v6 and v5 code: older variants match, the nearest best.
            (Some(w), Some(h)) if arch == "arm" => {
                let (w, h) = (arm_level(w)?, arm_level(h)?);
                (h < w).then(|| 50 - (w - h))
            }
            _ => None,
        }
    }
}

impl Default for Platform {
    /// `linux` on the host's architecture: what containers on this machine run.
    fn default() -> Platform {
        let mut p = Platform::host();
        p.os = "linux".to_owned();
        p
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

fn normalize_arch(arch: &str) -> &str {
    match arch {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        other => other,
    }
}

fn default_variant(arch: &str) -> Option<&'static str> {
    match arch {
        "arm64" => Some("v8"),
        "arm" => Some("v7"),
        _ => None,
    }
}

fn arm_level(v: &str) -> Option<u32> {
    v.strip_prefix('v')?.parse().ok()
}

/// The manifest of `manifests` that best suits `want`, or `None` if none runs there.
/// Descriptors without a platform (attestations, artifacts) are never chosen.
pub fn select<'a>(manifests: &'a [Descriptor], want: &Platform) -> Option<&'a Descriptor> {
    let mut best: Option<(u32, &Descriptor)> = None;
    for d in manifests {
        let Some(score) = d.platform.as_ref().and_then(|p| p.score(want)) else {
            continue;
        };
        // Strictly greater: the first of equals wins, as in the index's order.
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, d));
        }
    }
    best.map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;

    fn desc(n: u8, p: Option<&str>) -> Descriptor {
        let mut d = Descriptor::new(
            crate::manifest::media_type::OCI_MANIFEST,
            Digest::of(&[n]),
            1,
        );
        d.platform = p.map(|p| Platform::parse(p).unwrap());
        d
    }

    fn pick(list: &[Descriptor], want: &str) -> Option<u8> {
        let want = Platform::parse(want).unwrap();
        let d = select(list, &want)?;
        list.iter().position(|x| x == d).map(|i| i as u8)
    }

    #[test]
    fn selects_by_os_arch_and_variant() {
        let list = vec![
            desc(0, None),
            desc(1, Some("linux/arm/v6")),
            desc(2, Some("linux/arm/v7")),
            desc(3, Some("linux/amd64")),
            desc(4, Some("linux/arm64/v8")),
            desc(5, Some("windows/amd64")),
        ];
        assert_eq!(pick(&list, "linux/amd64"), Some(3));
        assert_eq!(pick(&list, "linux/x86_64"), Some(3));
        assert_eq!(pick(&list, "windows/amd64"), Some(5));
        assert_eq!(pick(&list, "linux/arm/v7"), Some(2));
        assert_eq!(pick(&list, "linux/arm/v6"), Some(1));
        assert_eq!(pick(&list, "linux/arm/v8"), Some(2));
        assert_eq!(pick(&list, "linux/arm/v5"), None);
        assert_eq!(pick(&list, "linux/arm"), Some(2));
        assert_eq!(pick(&list, "linux/arm64"), Some(4));
        assert_eq!(pick(&list, "linux/aarch64/v8"), Some(4));
        assert_eq!(pick(&list, "linux/s390x"), None);
        // No variant in the index matches any wanted variant.
        let bare = vec![desc(0, Some("linux/arm64"))];
        assert_eq!(pick(&bare, "linux/arm64/v8"), Some(0));
    }

    #[test]
    fn host_and_default_are_linux() {
        assert_eq!(Platform::default().os, "linux");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(Platform::default().to_string(), "linux/amd64");
        }
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("linux/arm/v7/x").is_none());
    }
}
