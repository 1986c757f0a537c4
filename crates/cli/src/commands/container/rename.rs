//! `berth rename CONTAINER NEW_NAME`: `POST /containers/{id}/rename?name`.

use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub container: String,
    pub new_name: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "rename";
    if args.new_name.trim().is_empty() {
        return Err(CliError::usage(CX, "container name should not be empty"));
    }
    let api = ctx.api(CX)?;
    api.block(api.client.container_rename(&args.container, &args.new_name))
        .map_err(|e| CliError::api(CX, e))
}
