//! The image model: an image is a manifest naming a config and layer blobs; its id is the
//! config's digest (as Docker's is), because the config pins every layer by DiffID.
//!
//! Also how a command's argument selects an image, as `docker` resolves it: a full id, a
//! reference (tag or digest), then a unique id prefix of at least
//! [`SHORT_ID_MIN`] hex digits.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use oci_spec::image::{ImageConfiguration, ImageManifest};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::store::images::IndexFile;
use crate::store::layers::ChainId;
use crate::store::Store;

/// The shortest id prefix that selects an image: fewer digits would match by accident.
pub const SHORT_ID_MIN: usize = 4;

/// An image's id: the digest of its config.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub Digest);

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An image of the store, resolved from a reference.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: ImageId,
    pub manifest_digest: Digest,
    pub manifest: ImageManifest,
    pub config: ImageConfiguration,
}

impl Image {
    /// The chain IDs of the image's layers, bottom first: what a driver mounts.
    pub fn chain(&self) -> Result<Vec<ChainId>> {
        let diff_ids = self
            .config
            .rootfs()
            .diff_ids()
            .iter()
            .map(|d| d.parse())
            .collect::<Result<Vec<Digest>>>()?;
        Ok(ChainId::chain(&diff_ids))
    }
}

impl Store {
    /// Resolves a reference to its image, reading and verifying manifest and config. A
    /// digest reference (`name@sha256:…`) also finds an image with that manifest that has
    /// a reference in the same repository.
    pub fn image(&self, reference: &Reference) -> Result<Option<Image>> {
        let index = self.images().snapshot()?;
        match by_reference(&index, reference) {
            Some(manifest) => self.load_image(&manifest).map(Some),
            None => Ok(None),
        }
    }

    /// Resolves what a user typed (`busybox`, `busybox:1.36`, `name@sha256:…`, a full
    /// `sha256:…` id or a unique prefix of one) to its image.
    pub fn resolve(&self, ref_or_id: &str) -> Result<Image> {
        let index = self.images().snapshot()?;
        let selected = self.select(&index, ref_or_id)?;
        self.load_image(&selected.manifests[0])
    }

    /// Reads and verifies the image whose manifest is `manifest_digest`.
    pub(crate) fn load_image(&self, manifest_digest: &Digest) -> Result<Image> {
        let decode = |what, digest: &Digest| {
            let digest = digest.clone();
            move |e: serde_json::Error| Error::Decode {
                what,
                digest,
                reason: e.to_string(),
            }
        };
        let manifest: ImageManifest = serde_json::from_slice(&self.blobs().read(manifest_digest)?)
            .map_err(decode("image manifest", manifest_digest))?;
        let config_digest: Digest = manifest.config().digest().to_string().parse()?;
        let config: ImageConfiguration =
            serde_json::from_slice(&self.blobs().read(&config_digest)?)
                .map_err(decode("image config", &config_digest))?;
        Ok(Image {
            id: ImageId(config_digest),
            manifest_digest: manifest_digest.clone(),
            manifest,
            config,
        })
    }

    /// The config digest (image id) of a manifest, without parsing the config.
    pub(crate) fn id_of(&self, manifest_digest: &Digest) -> Result<ImageId> {
        let manifest: ImageManifest = serde_json::from_slice(&self.blobs().read(manifest_digest)?)
            .map_err(|e| Error::Decode {
                what: "image manifest",
                digest: manifest_digest.clone(),
                reason: e.to_string(),
            })?;
        Ok(ImageId(manifest.config().digest().to_string().parse()?))
    }

    /// Which image records `ref_or_id` selects in `index`.
    pub(crate) fn select(&self, index: &IndexFile, ref_or_id: &str) -> Result<Selected> {
        let not_found = || Error::ImageNotFound {
            reference: ref_or_id.to_owned(),
        };
        let hex = ref_or_id.strip_prefix("sha256:").unwrap_or(ref_or_id);
        let is_hex = !hex.is_empty()
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if is_hex && hex.len() == 64 {
            let id = ImageId(Digest::from_hex(hex)?);
            let manifests = self.records_with_id(index, |i| i == &id)?;
            return match manifests.is_empty() {
                true => Err(not_found()),
                false => Ok(Selected {
                    manifests,
                    reference: None,
                }),
            };
        }
        if let Ok(reference) = Reference::parse(ref_or_id) {
            if let Some(manifest) = by_reference(index, &reference) {
                let key = reference.to_string();
                return Ok(Selected {
                    manifests: vec![manifest],
                    reference: index.references.contains_key(&key).then_some(key),
                });
            }
        }
        if is_hex && hex.len() >= SHORT_ID_MIN {
            let mut records = Vec::new();
            for manifest in index.images.keys() {
                records.push((manifest.clone(), self.id_of(manifest)?));
            }
            return match by_prefix(&records, hex) {
                Ok(manifests) if manifests.is_empty() => Err(not_found()),
                Ok(manifests) => Ok(Selected {
                    manifests,
                    reference: None,
                }),
                Err(count) => Err(Error::AmbiguousImageId {
                    prefix: ref_or_id.to_owned(),
                    count,
                }),
            };
        }
        Err(not_found())
    }

    /// The image records whose id passes `keep`.
    fn records_with_id(
        &self,
        index: &IndexFile,
        mut keep: impl FnMut(&ImageId) -> bool,
    ) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for manifest in index.images.keys() {
            if keep(&self.id_of(manifest)?) {
                out.push(manifest.clone());
            }
        }
        Ok(out)
    }
}

/// The image records a command's argument selects.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    /// Manifest digests, never empty: one, or every record sharing the id asked for.
    pub(crate) manifests: Vec<Digest>,
    /// The index key, when the argument named a reference that is in the index.
    pub(crate) reference: Option<String>,
}

/// The records whose id starts with `hex`, or how many distinct ids it matches when that
/// is more than one.
fn by_prefix(records: &[(Digest, ImageId)], hex: &str) -> std::result::Result<Vec<Digest>, usize> {
    let hits: Vec<&(Digest, ImageId)> = records
        .iter()
        .filter(|(_, id)| id.0.hex().starts_with(hex))
        .collect();
    let mut ids: Vec<&ImageId> = hits.iter().map(|(_, id)| id).collect();
    ids.sort();
    ids.dedup();
    match ids.len() {
        0 | 1 => Ok(hits.into_iter().map(|(m, _)| m.clone()).collect()),
        n => Err(n),
    }
}

fn by_reference(index: &IndexFile, reference: &Reference) -> Option<Digest> {
    if let Some(d) = index.references.get(&reference.to_string()) {
        return Some(d.clone());
    }
    let digest = reference.digest()?;
    if !index.images.contains_key(digest) {
        return None;
    }
    let name = reference.name();
    let same_repository = index
        .references_of(digest)
        .iter()
        .any(|r| Reference::parse(r).is_ok_and(|r| r.name() == name));
    same_repository.then(|| digest.clone())
}

/// Now in RFC 3339, UTC, seconds precision.
pub(crate) fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs as i64)
}

/// Unix seconds in RFC 3339. Days become a civil date by counting 400-year Gregorian eras
/// from 0000-03-01, so the leap day falls at the end of a year.
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 timestamp (`2024-01-02T03:04:05.678+01:00`) to Unix seconds,
/// dropping fractions; what `docker images` shows as "created 2 weeks ago".
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let h: i64 = rest[1..3].parse().ok()?;
            let m: i64 = rest[4..6].parse().ok()?;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    // Days from civil, the inverse of `rfc3339`'s era arithmetic.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_prefixes_must_be_unique() {
        let id = |hex: &str| ImageId(Digest::from_hex(&format!("{hex:0<64}")).unwrap());
        let m = |n: u8| Digest::of(&[n]);
        let records = vec![
            (m(1), id("abcd1")),
            (m(2), id("abcd2")),
            (m(3), id("abcd2")),
            (m(4), id("ef")),
        ];
        assert_eq!(by_prefix(&records, "abcd"), Err(2));
        assert_eq!(by_prefix(&records, "abcd2"), Ok(vec![m(2), m(3)]));
        assert_eq!(by_prefix(&records, "abcd1"), Ok(vec![m(1)]));
        assert_eq!(by_prefix(&records, "0000"), Ok(vec![]));
    }

    #[test]
    fn timestamps_round_trip() {
        for secs in [0, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs), "{secs}");
        }
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.123456789+01:00"),
            Some(1_700_000_000)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-13-14T00:00:00Z",
            "2023-11-14T00:00:00",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
