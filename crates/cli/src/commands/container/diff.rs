//! `berth diff CONTAINER`: `GET /containers/{id}/changes`, `C /etc` (`C`hanged,
//! `A`dded, `D`eleted: Kind 0, 1, 2).

use crate::commands::{print, Context};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    pub container: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "diff";
    let api = ctx.api(CX)?;
    let changes = api
        .block(api.client.container_changes(&args.container))
        .map_err(|e| CliError::api(CX, e))?
        .unwrap_or_default();
    let mut out = String::new();
    for c in &changes {
        let kind = match c["Kind"].as_i64() {
            Some(0) => 'C',
            Some(1) => 'A',
            Some(2) => 'D',
            _ => '?',
        };
        out.push_str(&format!(
            "{kind} {}\n",
            c["Path"].as_str().unwrap_or_default()
        ));
    }
    print(CX, &out)
}
