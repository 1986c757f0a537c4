//! What every `prune` shares: docker's confirmation prompt, and the report of what went
//! (`Deleted Containers:` / `Deleted Volumes:` … `Total reclaimed space: 1kB`).

use std::future::Future;
use std::io::{BufRead, Write};

use berth_api_client::Client;
use serde_json::Value;

use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::units;

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

/// A daemon prune: `question` first unless `force` (nothing happens on a no), then `call`,
/// then `report` of its answer on stdout.
pub fn prune<'a, Fut>(
    ctx: &'a Context,
    cx: &str,
    force: bool,
    question: &str,
    call: impl FnOnce(&'a Client) -> Fut,
    report: impl FnOnce(&Value) -> String,
) -> Result<(), CliError>
where
    Fut: Future<Output = berth_api_client::Result<Value>>,
{
    if !force && !confirm(question) {
        return Ok(());
    }
    let api = ctx.api(cx)?;
    let v = api
        .block(call(&api.client))
        .map_err(|e| CliError::api(cx, e))?;
    print(cx, &report(&v))
}

/// The ids listed under `key` of a prune answer, under `heading`, then the space.
pub fn report(v: &Value, key: &str, heading: &str) -> String {
    let mut out = String::new();
    let deleted: Vec<&str> = v[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if !deleted.is_empty() {
        out.push_str(heading);
        out.push('\n');
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
