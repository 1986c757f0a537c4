//! `berth wait CONTAINER...`: `POST /containers/{id}/wait`, printing each exit code.

use crate::commands::{print, Context};
use crate::error::{report_api, CliError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "wait";
    let api = ctx.api(CX)?;
    let mut failed = false;
    for name in &args.containers {
        match api.block(api.client.container_wait(name, None)) {
            Ok(code) => print(CX, &format!("{code}\n"))?,
            Err(e) => {
                report_api(CX, e);
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
