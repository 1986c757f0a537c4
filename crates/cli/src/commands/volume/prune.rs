//! `berth volume prune [-f] [-a] [--filter]`: `POST /volumes/prune`; lists the deleted
//! volumes and the space reclaimed. Without `-a` the daemon removes only anonymous
//! volumes (API 1.42 on); without `-f` it asks first, as docker does.

use serde_json::Value;

use crate::commands::prune_report;
use crate::commands::Context;
use crate::error::CliError;
use crate::opts::filters;

const CX: &str = "volume prune";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
}

/// The `filters` query: the given ones, plus `all=true` for `-a`.
pub fn query(args: &Args) -> Result<Option<String>, String> {
    let mut given = args.filters.clone();
    if args.all {
        if given
            .iter()
            .any(|f| f.trim_start().to_ascii_lowercase().starts_with("all="))
        {
            return Err("conflicting options: cannot specify both --all and --filter all=1".into());
        }
        given.push("all=true".into());
    }
    filters::to_json(&given, &["all", "label", "label!"])
}

/// docker's question, which says what `-a` changes.
pub fn warning(all: bool) -> &'static str {
    if all {
        "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?"
    } else {
        "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
    }
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let f = query(&args).map_err(|e| CliError::usage(CX, e))?;
    prune_report::prune(
        ctx,
        CX,
        args.force,
        warning(args.all),
        |c| c.volume_prune(f.as_deref()),
        report,
    )
}

/// `Deleted Volumes:` … `Total reclaimed space: 0B`.
pub fn report(v: &Value) -> String {
    prune_report::report(v, "VolumesDeleted", "Deleted Volumes:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::test_args::parsed;

    #[test]
    fn filters_and_all() {
        assert_eq!(query(&parsed(&[])).unwrap(), None);
        assert_eq!(
            query(&parsed(&["-a", "-f", "--filter", "label=x"]))
                .unwrap()
                .unwrap(),
            r#"{"all":["true"],"label":["x"]}"#
        );
        assert!(query(&parsed(&["-a", "--filter", "all=1"])).is_err());
        assert!(query(&parsed(&["--filter", "until=1h"])).is_err());
        assert!(warning(true).contains("all local volumes"));
        assert!(warning(false).contains("anonymous local volumes"));
    }

    #[test]
    fn prune_report() {
        let v = serde_json::json!({"VolumesDeleted": ["a", "b"], "SpaceReclaimed": 2000});
        assert_eq!(
            report(&v),
            "Deleted Volumes:\na\nb\n\nTotal reclaimed space: 2kB\n"
        );
        let v = serde_json::json!({"VolumesDeleted": null, "SpaceReclaimed": 0});
        assert_eq!(report(&v), "Total reclaimed space: 0B\n");
    }
}
