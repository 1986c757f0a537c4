//! `berth system df [--format]`: disk usage, docker's columns (`TYPE TOTAL ACTIVE SIZE
//! RECLAIMABLE`) and fields (`.Type .TotalCount .Active .Size .Reclaimable`). Images only:
//! the other rows (containers, volumes, build cache) come with the engine.

use serde_json::json;

use crate::backend::ImagesDiskUsage;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::{self, units};

const CX: &str = "system df";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('table', 'table TEMPLATE', 'json', or a Go template)
    #[arg(long)]
    pub format: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let du = ctx
        .images(CX)?
        .disk_usage()
        .map_err(|e| CliError::failed(CX, e))?;
    let template = match args.format.as_deref() {
        None | Some("") | Some("table") => {
            "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
        }
        Some(f) => f,
    };
    let out = format::rows(template, &[row(&du)], header).map_err(|e| CliError::usage(CX, e))?;
    print(CX, &out)
}

fn header(field: &str) -> String {
    match field {
        "TotalCount" => "TOTAL".to_owned(),
        other => other.to_uppercase(),
    }
}

fn row(du: &ImagesDiskUsage) -> serde_json::Value {
    json!({
        "Type": "Images",
        "TotalCount": du.total.to_string(),
        "Active": du.active.to_string(),
        "Size": units::human_size(du.size),
        "Reclaimable": reclaimable(du.reclaimable, du.size),
    })
}

/// `1.2MB (50%)`, as docker writes it.
fn reclaimable(reclaimable: u64, size: u64) -> String {
    if size == 0 {
        return units::human_size(reclaimable);
    }
    format!(
        "{} ({}%)",
        units::human_size(reclaimable),
        reclaimable.saturating_mul(100) / size
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_like_docker() {
        let du = ImagesDiskUsage {
            total: 2,
            active: 0,
            size: 4_261_376,
            reclaimable: 2_130_688,
        };
        let out = format::rows(
            "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
            &[row(&du)],
            header,
        )
        .unwrap();
        assert_eq!(
            out,
            "TYPE      TOTAL     ACTIVE    SIZE      RECLAIMABLE\n\
             Images    2         0         4.261MB   2.131MB (50%)\n"
        );
        assert_eq!(reclaimable(0, 0), "0B");
    }
}
