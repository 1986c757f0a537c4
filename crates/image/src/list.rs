//! `docker images`: one row per tag (an image with no reference at all is one dangling
//! `<none>:<none>` row), with docker's filters. Repository names are shown in Docker's
//! familiar form (`busybox`, not `docker.io/library/busybox`) because that is what users
//! type and what scripts parsing `docker images` expect.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::image::{parse_rfc3339, Image, ImageId};
use crate::reference::{Reference, DEFAULT_DOMAIN};
use crate::store::content;
use crate::store::images::IndexFile;
use crate::store::Store;

pub const NONE: &str = "<none>";

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Also show untagged images that are the base of another image (`docker images -a`).
    pub all: bool,
    /// Every kind of filter must pass; several `reference` filters pass when one does.
    pub filters: Vec<Filter>,
}

/// One `--filter` of `docker images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `dangling=true|false`: images with no reference at all, or the others.
    Dangling(bool),
    /// `label=key` or `label=key=value`.
    Label { key: String, value: Option<String> },
    /// `reference=glob`, matched against `name:tag` and `name` in familiar form.
    Reference(String),
}

impl FromStr for Filter {
    type Err = Error;

    fn from_str(input: &str) -> Result<Filter> {
        let bad = |reason| Error::ParseFilter {
            input: input.to_owned(),
            reason,
        };
        let (key, value) = input
            .split_once('=')
            .ok_or_else(|| bad("expected key=value"))?;
        match key {
            "dangling" => match value {
                "true" | "1" => Ok(Filter::Dangling(true)),
                "false" | "0" => Ok(Filter::Dangling(false)),
                _ => Err(bad("dangling is true or false")),
            },
            "label" if !value.is_empty() => Ok(match value.split_once('=') {
                Some((k, v)) => Filter::Label {
                    key: k.to_owned(),
                    value: Some(v.to_owned()),
                },
                None => Filter::Label {
                    key: value.to_owned(),
                    value: None,
                },
            }),
            "reference" if !value.is_empty() => Ok(Filter::Reference(value.to_owned())),
            "label" | "reference" => Err(bad("empty value")),
            _ => Err(bad("unknown filter (dangling, label, reference)")),
        }
    }
}

/// A row of `docker images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    /// Familiar repository name, or `<none>`.
    pub repository: String,
    /// The tag, or `<none>`.
    pub tag: String,
    pub id: ImageId,
    pub manifest_digest: Digest,
    /// The config's `created`, as written there.
    pub created: Option<String>,
    pub created_unix: Option<i64>,
    /// Sum of the layers' uncompressed sizes.
    pub size: u64,
    /// `repository@sha256:…` references of this row's repository.
    pub digests: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub dangling: bool,
}

/// One image with all its tags, as the Engine API lists images (the store lists one
/// [`ImageRow`] per tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    pub id: ImageId,
    pub manifest_digest: Digest,
    pub created_unix: Option<i64>,
    pub size: u64,
    pub labels: BTreeMap<String, String>,
    /// `repository:tag`, familiar; empty for an untagged image.
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
}

/// Groups rows by image, keeping the rows' order (rows of one image are adjacent).
pub fn summaries(rows: Vec<ImageRow>) -> Vec<ImageSummary> {
    let mut out: Vec<ImageSummary> = Vec::new();
    for row in rows {
        let i = match out.iter().position(|s| s.manifest_digest == row.manifest_digest) {
            Some(i) => i,
            None => {
                out.push(ImageSummary {
                    id: row.id.clone(),
                    manifest_digest: row.manifest_digest.clone(),
                    created_unix: row.created_unix,
                    size: row.size,
                    labels: row.labels.clone(),
                    repo_tags: Vec::new(),
                    repo_digests: Vec::new(),
                });
                out.len() - 1
            }
        };
        let s = &mut out[i];
        if row.repository != NONE && row.tag != NONE {
            s.repo_tags.push(format!("{}:{}", row.repository, row.tag));
        }
        for d in row.digests {
            if !s.repo_digests.contains(&d) {
                s.repo_digests.push(d);
            }
        }
    }
    out
}

impl Store {
    /// The rows of `docker images`, newest image first.
    pub fn list(&self, options: &ListOptions) -> Result<Vec<ImageRow>> {
        let index = self.images().snapshot()?;
        let hidden = if options.all {
            Vec::new()
        } else {
            self.intermediate(&index)?
        };
        let mut rows = Vec::new();
        for manifest in index.images.keys() {
            if hidden.contains(manifest) {
                continue;
            }
            let image = self.load_image(manifest)?;
            let refs: Vec<Reference> = index
                .references_of(manifest)
                .iter()
                .filter_map(|r| Reference::parse(r).ok())
                .collect();
            let dangling = refs.is_empty();
            let labels: BTreeMap<String, String> = image
                .config
                .config()
                .as_ref()
                .and_then(|c| c.labels().clone())
                .unwrap_or_default()
                .into_iter()
                .collect();
            let passes_kind = options.filters.iter().all(|f| match f {
                Filter::Dangling(want) => dangling == *want,
                Filter::Label { key, value } => match (labels.get(key), value) {
                    (Some(v), Some(want)) => v == want,
                    (Some(_), None) => true,
                    (None, _) => false,
                },
                Filter::Reference(_) => true,
            });
            if !passes_kind {
                continue;
            }
            let size = self.image_size(&image)?;
            let created = image.config.created().clone();
            let row = |repository: String, tag: String, digests: Vec<String>| ImageRow {
                repository,
                tag,
                id: image.id.clone(),
                manifest_digest: manifest.clone(),
                created_unix: created.as_deref().and_then(parse_rfc3339),
                created: created.clone(),
                size,
                digests,
                labels: labels.clone(),
                dangling,
            };
            let digests_of = |name: &str| -> Vec<String> {
                refs.iter()
                    .filter(|r| r.digest().is_some() && r.name() == name)
                    .map(familiar)
                    .collect()
            };
            let patterns: Vec<&str> = options
                .filters
                .iter()
                .filter_map(|f| match f {
                    Filter::Reference(p) => Some(p.as_str()),
                    _ => None,
                })
                .collect();
            let wanted = |r: &Reference| {
                patterns.is_empty()
                    || patterns
                        .iter()
                        .any(|p| glob(p, &familiar(r)) || glob(p, &familiar_name(r)))
            };
            if dangling {
                if patterns.is_empty() {
                    rows.push(row(NONE.to_owned(), NONE.to_owned(), Vec::new()));
                }
                continue;
            }
            let tagged: Vec<&Reference> = refs.iter().filter(|r| r.tag().is_some()).collect();
            if tagged.is_empty() {
                // Only digest references: one `name <none>` row per repository.
                let mut names: Vec<&Reference> = Vec::new();
                for r in &refs {
                    if !names.iter().any(|n| n.name() == r.name()) && wanted(r) {
                        names.push(r);
                    }
                }
                for r in names {
                    rows.push(row(
                        familiar_name(r),
                        NONE.to_owned(),
                        digests_of(&r.name()),
                    ));
                }
            }
            for r in tagged.into_iter().filter(|r| wanted(r)) {
                let tag = r.tag().unwrap_or(NONE).to_owned();
                rows.push(row(familiar_name(r), tag, digests_of(&r.name())));
            }
        }
        rows.sort_by(|a, b| {
            b.created_unix
                .cmp(&a.created_unix)
                .then_with(|| a.repository.cmp(&b.repository))
                .then_with(|| a.tag.cmp(&b.tag))
        });
        Ok(rows)
    }

    /// Sum of the uncompressed sizes of the image's layers (those not unpacked count 0).
    pub(crate) fn image_size(&self, image: &Image) -> Result<u64> {
        Ok(image
            .chain()?
            .iter()
            .filter_map(|l| self.layers().info(l).ok())
            .map(|i| i.tar_size)
            .sum())
    }

    /// Unreferenced images that are the parent of another image: the intermediate images
    /// `docker images` hides without `-a`. A parent is found without a parent pointer: its
    /// layers are a strict prefix of the child's, or (a config-only build step such as
    /// `CMD`) the same layers with a history that is a strict prefix of the child's, which
    /// two independent commits on one base never share (each adds its own dated entry).
    pub(crate) fn intermediate(&self, index: &IndexFile) -> Result<Vec<Digest>> {
        struct Node {
            manifest: Digest,
            chain: Vec<crate::store::layers::ChainId>,
            history: Vec<String>,
        }
        let mut nodes = Vec::new();
        for manifest in index.images.keys() {
            let chain = content::walk(self.blobs(), self.layers(), manifest)?.layers;
            let history = self
                .load_image(manifest)
                .ok()
                .and_then(|i| i.config.history().clone())
                .unwrap_or_default()
                .iter()
                .map(|h| serde_json::to_string(h).unwrap_or_default())
                .collect();
            nodes.push(Node { manifest: manifest.clone(), chain, history });
        }
        let is_parent = |p: &Node, c: &Node| -> bool {
            if p.chain.len() < c.chain.len() {
                // Chain ids pin everything below, so one position compares prefixes.
                return p.chain.last().is_some_and(|top| &c.chain[p.chain.len() - 1] == top)
                    || (p.chain.is_empty() && p.history.len() < c.history.len() && c.history.starts_with(&p.history));
            }
            p.chain == c.chain && p.history.len() < c.history.len() && c.history.starts_with(&p.history)
        };
        Ok(nodes
            .iter()
            .filter(|p| index.references_of(&p.manifest).is_empty() && nodes.iter().any(|c| is_parent(p, c)))
            .map(|n| n.manifest.clone())
            .collect())
    }
}

/// `busybox:latest`, `me/app@sha256:…`, `ghcr.io/x/y:1`: a reference as Docker shows it.
pub fn familiar(reference: &Reference) -> String {
    let mut out = familiar_name(reference);
    if let Some(t) = reference.tag() {
        out.push(':');
        out.push_str(t);
    }
    if let Some(d) = reference.digest() {
        out.push('@');
        out.push_str(&d.to_string());
    }
    out
}

/// The repository part of [`familiar`]: `busybox`, `me/app`, `ghcr.io/x/y`.
pub fn familiar_name(reference: &Reference) -> String {
    if reference.domain() == DEFAULT_DOMAIN {
        reference
            .path()
            .strip_prefix("library/")
            .filter(|p| !p.contains('/'))
            .unwrap_or(reference.path())
            .to_owned()
    } else {
        reference.name()
    }
}

/// Shell-style matching as Go's `path.Match` (which Docker uses): `*` and `?` stop at
/// `/`, `[a-z]` and `[^…]` classes, `\` escapes.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len())
            .take_while(|&i| i == 0 || t[i - 1] != '/')
            .any(|i| glob_at(&p[1..], &t[i..])),
        Some('?') => t.first().is_some_and(|&c| c != '/') && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(&c) = t.first() else { return false };
            match class(&p[1..], c) {
                Some((hit, used)) => hit && glob_at(&p[1 + used..], &t[1..]),
                None => false,
            }
        }
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && glob_at(&p[2..], &t[1..]),
        Some(&c) => t.first() == Some(&c) && glob_at(&p[1..], &t[1..]),
    }
}

/// Matches `c` against the class starting after `[`: whether it matched, and how many
/// pattern characters the class took (with its `]`). `None` for a malformed class.
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let (negated, mut i) = match p.first() {
        Some('^') => (true, 1),
        _ => (false, 0),
    };
    let mut hit = false;
    let mut first = true;
    loop {
        let &lo = p.get(i)?;
        if lo == ']' && !first {
            return Some((hit != negated, i + 1));
        }
        first = false;
        let lo = if lo == '\\' {
            i += 1;
            *p.get(i)?
        } else {
            lo
        };
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&h| h != ']') {
            i += 2;
            p[i - 1]
        } else {
            lo
        };
        hit |= lo <= c && c <= hi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::fixture::{build, layer, ImageSpec};

    #[test]
    fn globs_follow_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*:latest", "busybox:latest"));
        assert!(!glob("*", "me/app"), "* stops at /");
        assert!(glob("*/*", "me/app"));
        assert!(glob("b?sybox", "busybox"));
        assert!(glob("[a-c]usybox", "busybox") && !glob("[^a-c]usybox", "busybox"));
        assert!(glob("a\\*", "a*") && !glob("a\\*", "ab"));
        assert!(!glob("[a-", "a"));
    }

    #[test]
    fn filters_parse() {
        assert_eq!(
            "dangling=true".parse::<Filter>().unwrap(),
            Filter::Dangling(true)
        );
        assert_eq!(
            "label=a=b=c".parse::<Filter>().unwrap(),
            Filter::Label {
                key: "a".into(),
                value: Some("b=c".into())
            }
        );
        for bad in ["dangling=maybe", "label=", "size=1", "reference"] {
            assert!(bad.parse::<Filter>().is_err(), "{bad}");
        }
    }

    #[test]
    fn familiar_names_drop_the_defaults() {
        let f = |s| familiar(&Reference::parse(s).unwrap());
        assert_eq!(f("busybox"), "busybox:latest");
        assert_eq!(f("me/app:1"), "me/app:1");
        assert_eq!(f("ghcr.io/x/y:2"), "ghcr.io/x/y:2");
        assert_eq!(f("docker.io/library/a/b"), "library/a/b:latest");
    }

    #[test]
    fn rows_like_docker_images() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let base = layer("base", &[b'b'; 1000]);
        let (base_id, _) = build(
            &store,
            &ImageSpec {
                layers: vec![base.clone()],
                created: "2024-01-01T00:00:00Z",
                labels: &[("tier", "base")],
                tags: &[],
            },
        );
        let (app_id, app_manifest) = build(
            &store,
            &ImageSpec {
                layers: vec![base.clone(), layer("app", b"app")],
                created: "2024-02-01T00:00:00Z",
                labels: &[("tier", "app"), ("team", "x")],
                tags: &["app:1", "me/app:v1"],
            },
        );
        let digest_ref = Reference::parse(&format!("me/app@{app_manifest}")).unwrap();
        store.images().set(&digest_ref, &app_manifest).unwrap();
        let (old_id, _) = build(
            &store,
            &ImageSpec {
                layers: vec![layer("old", b"o")],
                created: "2023-01-01T00:00:00Z",
                labels: &[],
                tags: &[],
            },
        );
        let list = |all, filters: &[&str]| {
            store
                .list(&ListOptions {
                    all,
                    filters: filters.iter().map(|f| f.parse().unwrap()).collect(),
                })
                .unwrap()
        };
        let names = |rows: Vec<ImageRow>| -> Vec<String> {
            rows.iter()
                .map(|r| format!("{}:{}", r.repository, r.tag))
                .collect()
        };

        // The untagged base below app is intermediate: hidden without `all`.
        let rows = list(false, &[]);
        assert_eq!(names(rows.clone()), ["app:1", "me/app:v1", "<none>:<none>"]);
        let app = &rows[0];
        assert_eq!(app.id, app_id);
        assert_eq!(app.size, (base.len() + layer("app", b"app").len()) as u64);
        assert_eq!(app.created_unix, Some(1_706_745_600));
        assert_eq!(app.labels["team"], "x");
        assert!(app.digests.is_empty());
        assert_eq!(rows[1].digests, [format!("me/app@{app_manifest}")]);
        assert_eq!((rows[2].id.clone(), rows[2].dangling), (old_id, true));

        let all = list(true, &[]);
        assert_eq!(all.len(), 4);
        assert_eq!(
            (all[2].id.clone(), all[3].id.clone()),
            (base_id, rows[2].id.clone())
        );

        assert_eq!(names(list(true, &["dangling=true"])).len(), 2);
        assert_eq!(
            names(list(true, &["dangling=false"])),
            ["app:1", "me/app:v1"]
        );
        assert_eq!(names(list(true, &["label=tier"])).len(), 3);
        assert_eq!(names(list(true, &["label=tier=base"])), ["<none>:<none>"]);
        assert_eq!(names(list(true, &["label=tier", "label=team=x"])).len(), 2);
        assert_eq!(names(list(true, &["reference=me/*"])), ["me/app:v1"]);
        assert_eq!(names(list(true, &["reference=app"])), ["app:1"]);
        assert_eq!(
            names(list(true, &["reference=*/*:v1", "reference=app:1"])),
            ["app:1", "me/app:v1"]
        );
        assert!(list(true, &["reference=nothing*"]).is_empty());

        // A digest reference alone gives a `name <none>` row that is not dangling.
        store
            .untag(&Reference::parse("me/app:v1").unwrap())
            .unwrap();
        store.untag(&Reference::parse("app:1").unwrap()).unwrap();
        let rows = list(false, &["dangling=false"]);
        assert_eq!(names(rows.clone()), ["me/app:<none>"]);
        assert_eq!(rows[0].digests.len(), 1);
    }
}
