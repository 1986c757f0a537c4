//! `berth history IMAGE`: the image's history entries, newest first, with docker's columns
//! (`IMAGE CREATED CREATED BY SIZE COMMENT`) and `--format` fields (`.ID .CreatedSince
//! .CreatedAt .CreatedBy .Size .Comment`); `-H=false` prints dates and byte counts.

use clap::ArgAction;
use serde_json::{json, Value};

use crate::backend::HistoryItem;
use crate::commands::{print, short_id, Context};
use crate::error::CliError;
use crate::format::{self, time, units};

const CX: &str = "history";
/// Docker truncates `CREATED BY` to this many characters.
const CREATED_BY_WIDTH: usize = 45;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print sizes and dates in human readable format
    #[arg(
        short = 'H',
        long,
        action = ArgAction::Set,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let items = ctx
        .images(CX)?
        .history(&args.image)
        .map_err(|e| CliError::failed(CX, e))?;
    if args.quiet {
        let ids: String = items
            .iter()
            .map(|i| format!("{}\n", short_id(&i.id, args.no_trunc)))
            .collect();
        return print(CX, &ids);
    }
    let template = match args.format.as_deref() {
        None | Some("") | Some("table") => {
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
        }
        Some(f) => f,
    };
    let now = time::now();
    let rows: Vec<Value> = items.iter().map(|i| row(i, &args, now)).collect();
    let out = format::rows(template, &rows, header).map_err(|e| CliError::usage(CX, e))?;
    print(CX, &out)
}

fn header(field: &str) -> String {
    match field {
        "ID" => "IMAGE",
        "CreatedSince" => "CREATED",
        "CreatedAt" => "CREATED AT",
        "CreatedBy" => "CREATED BY",
        "Size" => "SIZE",
        "Comment" => "COMMENT",
        other => return other.to_uppercase(),
    }
    .to_owned()
}

fn row(item: &HistoryItem, args: &Args, now: i64) -> Value {
    let id = if item.id.starts_with("sha256:") {
        short_id(&item.id, args.no_trunc)
    } else {
        item.id.clone()
    };
    let created_at = time::rfc3339(item.created);
    let created_by = item.created_by.replace('\t', " ");
    let created_by = if args.no_trunc {
        created_by
    } else {
        ellipsis(&created_by, CREATED_BY_WIDTH)
    };
    json!({
        "ID": id,
        "CreatedSince": if args.human { units::created_since(item.created, now) } else { created_at.clone() },
        "CreatedAt": created_at,
        "CreatedBy": created_by,
        "Size": if args.human { units::image_size(item.size) } else { item.size.to_string() },
        "Comment": item.comment,
    })
}

/// At most `width` characters, the last one `…` when something was cut.
fn ellipsis(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_by_is_cut_with_an_ellipsis() {
        assert_eq!(ellipsis("short", 45), "short");
        let long = "x".repeat(50);
        let cut = ellipsis(&long, 45);
        assert_eq!(cut.chars().count(), 45);
        assert!(cut.ends_with('…'));
    }
}
