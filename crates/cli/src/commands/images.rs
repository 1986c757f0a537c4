//! `berth images [REPOSITORY[:TAG]]` (`berth image ls`): one row per name of each image,
//! docker's columns (`REPOSITORY TAG IMAGE ID CREATED SIZE`, `DIGEST` with `--digests`),
//! `-q` for the unique short ids, `-f dangling=|label=|reference=` and `--format` with
//! docker's fields: `.ID .Repository .Tag .Digest .CreatedSince .CreatedAt .Size
//! .SharedSize .UniqueSize .VirtualSize .Containers`.

use serde_json::{json, Value};

use crate::backend::{ImageFilters, ImageSummary};
use crate::commands::{print, short_id, Context};
use crate::error::CliError;
use crate::format::{self, time, units};

const CX: &str = "images";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided (dangling=, label=, reference=)
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    /// Only images with this name
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let mut filters = parse_filters(&args.filters)?;
    if let Some(r) = &args.reference {
        filters.reference.push(r.clone());
    }
    let images = ctx
        .images(CX)?
        .list(args.all, &filters)
        .map_err(|e| CliError::failed(CX, e))?;

    if args.quiet {
        let mut out = String::new();
        let mut seen = std::collections::HashSet::new();
        for image in &images {
            if seen.insert(&image.id) {
                out.push_str(&short_id(&image.id, args.no_trunc));
                out.push('\n');
            }
        }
        return print(CX, &out);
    }

    let template = match args.format.as_deref() {
        None | Some("table") | Some("") => default_format(args.digests),
        Some(f) => f.to_owned(),
    };
    let now = time::now();
    let rows: Vec<Value> = images
        .iter()
        .flat_map(|image| rows(image, args.no_trunc, now))
        .collect();
    let out = format::rows(&template, &rows, header).map_err(|e| CliError::usage(CX, e))?;
    print(CX, &out)
}

fn default_format(digests: bool) -> String {
    if digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
            .to_owned()
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".to_owned()
    }
}

fn header(field: &str) -> String {
    match field {
        "ID" => "IMAGE ID",
        "Repository" => "REPOSITORY",
        "Tag" => "TAG",
        "Digest" => "DIGEST",
        "CreatedSince" => "CREATED",
        "CreatedAt" => "CREATED AT",
        "Size" => "SIZE",
        "SharedSize" => "SHARED SIZE",
        "UniqueSize" => "UNIQUE SIZE",
        "VirtualSize" => "VIRTUAL SIZE",
        "Containers" => "CONTAINERS",
        other => return other.to_uppercase(),
    }
    .to_owned()
}

/// `-f key=value` flags; unknown keys and malformed values are usage errors.
pub fn parse_filters(flags: &[String]) -> Result<ImageFilters, CliError> {
    let mut filters = ImageFilters::default();
    for flag in flags {
        let (key, value) = flag.split_once('=').ok_or_else(|| {
            CliError::usage(
                CX,
                format!("bad format of filter {flag:?} (expected name=value)"),
            )
        })?;
        match key {
            "dangling" => {
                filters.dangling = Some(match value.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(CliError::usage(
                            CX,
                            format!("invalid filter 'dangling={value}' (expected true or false)"),
                        ))
                    }
                })
            }
            "label" => filters.label.push(value.to_owned()),
            "reference" => filters.reference.push(value.to_owned()),
            _ => {
                return Err(CliError::usage(
                    CX,
                    format!("invalid filter '{key}' (supported: dangling, label, reference)"),
                ))
            }
        }
    }
    Ok(filters)
}

/// The rows of one image: one per tag (or `<none>`), as docker's `images` shows them.
fn rows(image: &ImageSummary, no_trunc: bool, now: i64) -> Vec<Value> {
    let digest_of = |repo: &str| {
        image
            .repo_digests
            .iter()
            .find_map(|d| {
                d.split_once('@')
                    .filter(|(r, _)| *r == repo)
                    .map(|(_, d)| d.to_owned())
            })
            .unwrap_or_else(|| "<none>".to_owned())
    };
    let mut names: Vec<(String, String, String)> = image
        .repo_tags
        .iter()
        .map(|rt| {
            let (repo, tag) = rt.rsplit_once(':').unwrap_or((rt, "<none>"));
            (repo.to_owned(), tag.to_owned(), digest_of(repo))
        })
        .collect();
    if names.is_empty() {
        names = image
            .repo_digests
            .iter()
            .map(|rd| {
                let (repo, digest) = rd.split_once('@').unwrap_or(("<none>", rd));
                (repo.to_owned(), "<none>".to_owned(), digest.to_owned())
            })
            .collect();
    }
    if names.is_empty() {
        names.push(("<none>".into(), "<none>".into(), "<none>".into()));
    }
    let not_computed = |n: i64| {
        if n < 0 {
            "N/A".to_owned()
        } else {
            n.to_string()
        }
    };
    names
        .into_iter()
        .map(|(repo, tag, digest)| {
            json!({
                "Containers": not_computed(image.containers),
                "CreatedAt": time::go_time_string(image.created),
                "CreatedSince": units::created_since(image.created, now),
                "Digest": digest,
                "ID": short_id(&image.id, no_trunc),
                "Repository": repo,
                "SharedSize": if image.shared_size < 0 { "N/A".to_owned() } else { units::image_size(image.shared_size as u64) },
                "Size": units::image_size(image.size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": units::image_size(image.size),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn summary(tags: &[&str], digests: &[&str]) -> ImageSummary {
        ImageSummary {
            id: format!("sha256:{}", "ab".repeat(32)),
            parent_id: String::new(),
            repo_tags: tags.iter().map(|s| s.to_string()).collect(),
            repo_digests: digests.iter().map(|s| s.to_string()).collect(),
            created: 1_700_000_000,
            size: 4_261_376,
            shared_size: -1,
            labels: BTreeMap::new(),
            containers: -1,
        }
    }

    #[test]
    fn default_table_has_dockers_columns() {
        let rows = rows(
            &summary(&["busybox:latest"], &[]),
            false,
            1_700_000_000 + 3 * 86_400,
        );
        let out = format::rows(&default_format(false), &rows, header).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED      SIZE\n\
             busybox      latest    abababababab   3 days ago   4.26MB\n"
        );
    }

    #[test]
    fn untagged_and_digest_rows() {
        let none = rows(&summary(&[], &[]), true, 0);
        assert_eq!(none[0]["Repository"], "<none>");
        assert_eq!(none[0]["Tag"], "<none>");
        assert_eq!(none[0]["ID"], format!("sha256:{}", "ab".repeat(32)));
        let d = format!("sha256:{}", "cd".repeat(32));
        let with = rows(&summary(&["a:1", "b:2"], &[&format!("a@{d}")]), false, 0);
        assert_eq!(with.len(), 2);
        assert_eq!(with[0]["Digest"], d);
        assert_eq!(with[1]["Digest"], "<none>");
    }

    #[test]
    fn filters_parse_and_refuse_unknown_keys() {
        let f = parse_filters(&[
            "dangling=true".into(),
            "label=a=b".into(),
            "reference=x*".into(),
        ])
        .unwrap();
        assert_eq!(f.dangling, Some(true));
        assert_eq!(f.label, vec!["a=b"]);
        assert_eq!(f.reference, vec!["x*"]);
        assert_eq!(parse_filters(&["until=1h".into()]).unwrap_err().code(), 125);
        assert_eq!(parse_filters(&["dangling".into()]).unwrap_err().code(), 125);
    }
}
