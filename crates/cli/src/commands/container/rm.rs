//! `berth rm [-f] [-v] CONTAINER...`: `DELETE /containers/{id}[?force=1&v=1]`.

use crate::commands::container::each;
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the specified link
    #[arg(short, long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let (f, v) = (args.force, args.volumes);
    each(ctx, "rm", &args.containers, |c, name| {
        c.container_remove(name, f, v)
    })
}
