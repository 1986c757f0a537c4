//! `berth unpause CONTAINER...`: `POST /containers/{id}/unpause`.

use crate::commands::container::each;
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    each(ctx, "unpause", &args.containers, |c, name| {
        c.container_unpause(name)
    })
}
