//! `berth restart [-t SECONDS] [-s SIGNAL] CONTAINER...`: `POST /containers/{id}/restart`.

use crate::commands::container::each;
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Signal to send to the container
    #[arg(short, long)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        visible_alias = "timeout",
        allow_hyphen_values = true
    )]
    pub time: Option<i64>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let (t, s) = (args.time, args.signal.as_deref());
    each(ctx, "restart", &args.containers, |c, name| {
        c.container_restart(name, t, s)
    })
}
