//! `berth container inspect [-f TEMPLATE] [-s] CONTAINER...`: `GET /containers/{id}/json`
//! as a JSON array indented like docker's (top-level fields in docker's order), or one
//! template rendering per container. Found ones are printed even when others are
//! missing; each missing one is an error line (exit 1).

use serde_json::Value;

use crate::commands::{print, Context};
use crate::error::{report_api, CliError};
use crate::format::{self, Template};

/// The order of docker's container inspect fields.
pub const DOCKER_ORDER: &[&str] = &[
    "Id",
    "Created",
    "Path",
    "Args",
    "State",
    "Image",
    "ResolvConfPath",
    "HostnamePath",
    "HostsPath",
    "LogPath",
    "Node",
    "Name",
    "RestartCount",
    "Driver",
    "Platform",
    "MountLabel",
    "ProcessLabel",
    "AppArmorProfile",
    "ExecIDs",
    "HostConfig",
    "GraphDriver",
    "SizeRw",
    "SizeRootFs",
    "Mounts",
    "Config",
    "NetworkSettings",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// A parsed `-f`, `None` for the JSON array.
pub fn template(cx: &str, format: Option<&str>) -> Result<Option<Template>, CliError> {
    match format {
        None | Some("") | Some("json") => Ok(None),
        Some(f) => Ok(Some(
            Template::parse(f).map_err(|e| CliError::usage(cx, e))?,
        )),
    }
}

/// The JSON array, or the template once per item. A template that fails on an item
/// (a field it lacks) prints what rendered before it and fails with exit 1, as docker's.
pub fn render(
    cx: &str,
    items: &[Value],
    template: Option<&Template>,
    order: &[&str],
) -> Result<String, CliError> {
    match template {
        None => Ok(format!("{}\n", format::pretty_json_ordered(items, order))),
        Some(t) => {
            let mut out = String::new();
            for item in items {
                match t.render(item) {
                    Ok(s) => {
                        out.push_str(&s);
                        out.push('\n');
                    }
                    Err(e) => {
                        print(cx, &out)?;
                        return Err(CliError::failed(cx, e));
                    }
                }
            }
            Ok(out)
        }
    }
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "inspect";
    let t = template(CX, args.format.as_deref())?;
    let api = ctx.api(CX)?;
    let mut found = Vec::new();
    let mut failed = false;
    for name in &args.containers {
        match api.block(api.client.container_inspect(name, args.size)) {
            Ok(v) => found.push(v),
            Err(e) => {
                report_api(CX, e);
                failed = true;
            }
        }
    }
    print(CX, &render(CX, &found, t.as_ref(), DOCKER_ORDER)?)?;
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}
