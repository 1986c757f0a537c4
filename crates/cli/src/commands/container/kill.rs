//! `berth kill [-s SIGNAL] CONTAINER...`: `POST /containers/{id}/kill[?signal]`.

use crate::commands::container::each;
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let s = args.signal.as_deref();
    each(ctx, "kill", &args.containers, |c, name| {
        c.container_kill(name, s)
    })
}
