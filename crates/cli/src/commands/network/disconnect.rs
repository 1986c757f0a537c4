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
    use crate::commands::test_args::parse_args;

    #[test]
    fn flags() {
        let a = parse_args::<Args>(&["-f", "front", "c1"]).unwrap();
        assert!(a.force);
        assert_eq!((a.network.as_str(), a.container.as_str()), ("front", "c1"));
        assert!(parse_args::<Args>(&["front"]).is_err());
    }
}
