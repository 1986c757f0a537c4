//! `berth volume rm [-f] VOLUME...`: `DELETE /volumes/{name}[?force=1]`; prints each
//! removed name, and the daemon's refusal for the others (`Error response from daemon:
//! …`, exit 1).

use crate::commands::container::each;
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let force = args.force;
    each(ctx, "volume rm", &args.volumes, |c, name| {
        c.volume_remove(name, force)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parse_args;

    #[test]
    fn flags() {
        let a = parse_args::<Args>(&["-f", "a", "b"]).unwrap();
        assert!(a.force);
        assert_eq!(a.volumes, ["a", "b"]);
        assert!(parse_args::<Args>(&[]).is_err());
    }
}
