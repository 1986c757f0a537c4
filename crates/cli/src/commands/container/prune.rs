//! `berth container prune [-f] [--filter]`: `POST /containers/prune`; lists the deleted
//! ids and the space reclaimed. Without `-f` it asks first, as docker does.

use serde_json::Value;

use crate::commands::{prune_report, Context};
use crate::error::CliError;
use crate::opts::filters;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter")]
    pub filters: Vec<String>,
}

pub use crate::commands::prune_report::confirm;

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "container prune";
    let f = filters::to_json(&args.filters, &["until", "label", "label!"])
        .map_err(|e| CliError::usage(CX, e))?;
    prune_report::prune(
        ctx,
        CX,
        args.force,
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        |c| c.container_prune(f.as_deref()),
        report,
    )
}

/// `Deleted Containers:` … `Total reclaimed space: 0B`.
pub fn report(v: &Value) -> String {
    prune_report::report(v, "ContainersDeleted", "Deleted Containers:")
}

#[cfg(test)]
mod tests {
    #[test]
    fn prune_report() {
        let v = serde_json::json!({"ContainersDeleted": ["abc"], "SpaceReclaimed": 1000});
        assert_eq!(
            super::report(&v),
            "Deleted Containers:\nabc\n\nTotal reclaimed space: 1kB\n"
        );
        let v = serde_json::json!({"ContainersDeleted": null, "SpaceReclaimed": 0});
        assert_eq!(super::report(&v), "Total reclaimed space: 0B\n");
    }
}
