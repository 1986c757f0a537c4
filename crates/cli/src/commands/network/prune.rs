//! `berth network prune [-f] [--filter]`: `POST /networks/prune`; lists the deleted
//! networks (`Deleted Networks:` then a name a line; docker reports no space for
//! networks). Without `-f` it asks first, as docker does.

use serde_json::Value;

use crate::commands::prune_report::prune;
use crate::commands::Context;
use crate::error::CliError;
use crate::opts::filters;

const CX: &str = "network prune";

/// docker's question.
pub const WARNING: &str = "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    // The daemon checks the filter names, as docker's does.
    let f = filters::to_json(&args.filters, &[]).map_err(|e| CliError::usage(CX, e))?;
    prune(
        ctx,
        CX,
        args.force,
        WARNING,
        |c| c.network_prune(f.as_deref()),
        report,
    )
}

/// `Deleted Networks:` and the names, or nothing when none went.
pub fn report(v: &Value) -> String {
    let deleted: Vec<&str> = v["NetworksDeleted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if deleted.is_empty() {
        return String::new();
    }
    let mut out = "Deleted Networks:\n".to_owned();
    for d in deleted {
        out.push_str(d);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parse_args;

    #[test]
    fn flags() {
        let a = parse_args::<Args>(&["-f", "--filter", "label=a"]).unwrap();
        assert!(a.force);
        assert_eq!(a.filters, ["label=a"]);
        assert!(WARNING.ends_with("continue?"));
    }

    #[test]
    fn prune_report() {
        let v = serde_json::json!({"NetworksDeleted": ["a", "b"]});
        assert_eq!(report(&v), "Deleted Networks:\na\nb\n");
        assert_eq!(report(&serde_json::json!({"NetworksDeleted": []})), "");
        assert_eq!(report(&serde_json::json!({"NetworksDeleted": null})), "");
    }
}
