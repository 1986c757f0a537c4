//! `berth network disconnect [-f] NETWORK CONTAINER`: `POST /networks/{id}/disconnect`;
//! prints nothing.

use crate::commands::Context;
use crate::error::CliError;

const CX: &str = "network disconnect";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let api = ctx.api(CX)?;
    api.block(
        api.client
            .network_disconnect(&args.network, &args.container, args.force),
    )
    .map_err(|e| CliError::api(CX, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn flags() {
        let a = Cmd::try_parse_from(["disconnect", "-f", "front", "c1"])
            .unwrap()
            .args;
        assert!(a.force);
        assert_eq!((a.network.as_str(), a.container.as_str()), ("front", "c1"));
        assert!(Cmd::try_parse_from(["disconnect", "front"]).is_err());
    }
}
