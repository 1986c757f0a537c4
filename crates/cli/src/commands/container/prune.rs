//! `berth container prune [-f] [--filter]`: `POST /containers/prune`; lists the deleted
//! ids and the space reclaimed. Without `-f` it asks first, as docker does.

use std::io::{BufRead, Write};

use serde_json::Value;

use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::units;
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

/// Asks `question [y/N] `; true only on y/yes.
pub fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "container prune";
    let f = filters::to_json(&args.filters, &["until", "label", "label!"])
        .map_err(|e| CliError::usage(CX, e))?;
    if !args.force
        && !confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?",
        )
    {
        return Ok(());
    }
    let api = ctx.api(CX)?;
    let v = api
        .block(api.client.container_prune(f.as_deref()))
        .map_err(|e| CliError::api(CX, e))?;
    print(CX, &report(&v))
}

/// `Deleted Containers:` … `Total reclaimed space: 0B`.
pub fn report(v: &Value) -> String {
    let mut out = String::new();
    let deleted: Vec<&str> = v["ContainersDeleted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for d in deleted {
            out.push_str(d);
            out.push('\n');
        }
        out.push('\n');
    }
    let space = v["SpaceReclaimed"].as_u64().unwrap_or(0);
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        units::human_size(space)
    ));
    out
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
