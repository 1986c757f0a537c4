//! `berth builder prune [-f]`: `POST /build/prune`, the build cache forgotten (the
//! intermediate images it named are then removed by `image prune -a`, as with docker's
//! classic builder); without `-f` it asks first, as docker does.

use serde_json::Value;

use crate::commands::{prune_report, Context};
use crate::error::CliError;

const CX: &str = "builder prune";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Remove all unused build cache, not just dangling ones (berth's cache is one kind)
    #[arg(short, long)]
    pub all: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    prune_report::prune(
        ctx,
        CX,
        args.force,
        "WARNING! This will remove all dangling build cache. Are you sure you want to continue?",
        |c| c.build_prune(args.all),
        report,
    )
}

fn report(v: &Value) -> String {
    prune_report::report(v, "CachesDeleted", "Deleted build cache objects:")
}
