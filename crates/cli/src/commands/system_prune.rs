//! `berth system prune [-a] [-f] [--volumes] [--filter]`: stopped containers, unused
//! networks, dangling (with `-a`: unused) images, build cache, and with `--volumes`
//! unused volumes, each through its prune endpoint; the deleted objects listed, then
//! the total space reclaimed.

use serde_json::Value;

use crate::commands::prune_report::confirm;
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::format::units;
use crate::opts::filters;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Remove all unused images not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter")]
    pub filters: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
}

fn list(out: &mut String, title: &str, items: &Value, prefix: &str) {
    let items: Vec<String> = items
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| match i {
            Value::String(s) => Some(format!("{prefix}{s}")),
            Value::Object(m) => m
                .iter()
                .next()
                .map(|(k, v)| format!("{}: {}", k.to_lowercase(), v.as_str().unwrap_or_default())),
            _ => None,
        })
        .collect();
    if items.is_empty() {
        return;
    }
    out.push_str(title);
    out.push('\n');
    for i in items {
        out.push_str(&i);
        out.push('\n');
    }
    out.push('\n');
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "system prune";
    let mut warning = String::from("WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n");
    if args.volumes {
        warning.push_str("  - all anonymous volumes not used by at least one container\n");
    }
    warning.push_str(if args.all {
        "  - all images without at least one container associated to them\n"
    } else {
        "  - all dangling images\n"
    });
    warning.push_str("  - unused build cache\n\nAre you sure you want to continue?");
    if !args.force && !confirm(&warning) {
        return Ok(());
    }
    let f = filters::to_json(&args.filters, &["until", "label", "label!"])
        .map_err(|e| CliError::usage(CX, e))?;
    let mut image_filters: Vec<String> = args.filters.clone();
    image_filters.push(format!("dangling={}", !args.all));
    let image_f = filters::to_json(&image_filters, &[]).map_err(|e| CliError::usage(CX, e))?;
    let api = ctx.api(CX)?;
    let c = &api.client;
    let mut out = String::new();
    let mut space = 0u64;
    let containers = api
        .block(c.container_prune(f.as_deref()))
        .map_err(|e| CliError::api(CX, e))?;
    list(
        &mut out,
        "Deleted Containers:",
        &containers["ContainersDeleted"],
        "",
    );
    space += containers["SpaceReclaimed"].as_u64().unwrap_or(0);
    let networks = api
        .block(c.network_prune(f.as_deref()))
        .map_err(|e| CliError::api(CX, e))?;
    list(
        &mut out,
        "Deleted Networks:",
        &networks["NetworksDeleted"],
        "",
    );
    if args.volumes {
        let volumes = api
            .block(c.volume_prune(None))
            .map_err(|e| CliError::api(CX, e))?;
        list(&mut out, "Deleted Volumes:", &volumes["VolumesDeleted"], "");
        space += volumes["SpaceReclaimed"].as_u64().unwrap_or(0);
    }
    let images = api
        .block(c.image_prune(image_f.as_deref()))
        .map_err(|e| CliError::api(CX, e))?;
    list(&mut out, "Deleted Images:", &images["ImagesDeleted"], "");
    space += images["SpaceReclaimed"].as_u64().unwrap_or(0);
    // A daemon without a build cache may refuse; that is not worth failing over.
    if let Ok(build) = api.block(c.build_prune(args.all)) {
        list(
            &mut out,
            "Deleted build cache objects:",
            &build["CachesDeleted"],
            "",
        );
        space += build["SpaceReclaimed"].as_u64().unwrap_or(0);
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        units::human_size(space)
    ));
    print(CX, &out)
}
