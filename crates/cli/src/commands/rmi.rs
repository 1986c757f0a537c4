//! `berth rmi [-f] IMAGE...` (`berth image rm`): removes images by name or id, printing
//! `Untagged: …` / `Deleted: …` as it goes. Every operand is tried; each failure is one
//! error line, and any failure makes the exit code 1.

use crate::backend::DeleteItem;
use crate::commands::{print, Context};
use crate::error::{report, CliError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove an image id even when several names refer to it
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "rmi";
    let backend = ctx.images(CX)?;
    let mut failed = false;
    for name in &args.images {
        match backend.remove(name, args.force) {
            Ok(items) => {
                let mut out = String::new();
                for item in items {
                    match item {
                        DeleteItem::Untagged(r) => out.push_str(&format!("Untagged: {r}\n")),
                        DeleteItem::Deleted(id) => out.push_str(&format!("Deleted: {id}\n")),
                    }
                }
                print(CX, &out)?;
            }
            Err(e) => {
                report(CX, e);
                failed = true;
            }
        }
    }
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}
