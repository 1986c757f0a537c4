//! `berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`: gives an image another name.

use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    pub source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    pub target: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    ctx.images("tag")?
        .tag(&args.source, &args.target)
        .map_err(|e| CliError::failed("tag", e))
}
