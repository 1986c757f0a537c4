//! `berth image prune [-a] [-f]`: removes dangling images (with `-a`, every image no
//! container uses) and the content nothing else needs. Asks first unless `-f`.

use std::io::{self, BufRead, Write};

use crate::backend::DeleteItem;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::units;

const CX: &str = "image prune";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    if !args.force {
        let warning = if args.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        print(
            CX,
            &format!("{warning}\nAre you sure you want to continue? [y/N] "),
        )?;
        let _ = io::stdout().flush();
        let mut answer = String::new();
        io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| CliError::failed(CX, format!("read answer: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "Yes") {
            return Ok(());
        }
    }
    let report = ctx
        .images(CX)?
        .prune(args.all)
        .map_err(|e| CliError::failed(CX, e))?;
    let mut out = String::new();
    if !report.deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for item in &report.deleted {
            match item {
                DeleteItem::Untagged(r) => out.push_str(&format!("untagged: {r}\n")),
                DeleteItem::Deleted(id) => out.push_str(&format!("deleted: {id}\n")),
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        units::human_size(report.space_reclaimed)
    ));
    print(CX, &out)
}
