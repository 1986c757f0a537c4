//! `berth network rm [-f] NETWORK...` (alias `remove`): `DELETE /networks/{id}` for each,
//! one after another as docker does; prints each removed name, and the daemon's refusal
//! for the others (`Error response from daemon: …`), exit 1 once all were tried. `-f`
//! passes over networks that do not exist.

use crate::commands::{print, Context};
use crate::error::{report_api, CliError};

const CX: &str = "network rm";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let api = ctx.api(CX)?;
    let mut failed = false;
    for name in &args.networks {
        match api.block(api.client.network_remove(name)) {
            Ok(()) => print(CX, &format!("{name}\n"))?,
            Err(e) if args.force && e.is_not_found() => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parse_args;

    #[test]
    fn flags() {
        let a = parse_args::<Args>(&["-f", "a", "b"]).unwrap();
        assert!(a.force);
        assert_eq!(a.networks, ["a", "b"]);
        let a = parse_args::<Args>(&["a"]).unwrap();
        assert!(!a.force);
        assert!(parse_args::<Args>(&[]).is_err());
    }
}
