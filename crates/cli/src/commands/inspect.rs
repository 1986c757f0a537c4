//! `berth image inspect [-f TEMPLATE] IMAGE...`: the Engine API's image JSON, as a JSON
//! array indented like docker's, or one template rendering per image. Images found are
//! printed even when others are missing; each missing one is an error line (exit 1).

use crate::commands::{print, Context};
use crate::error::{report, CliError};
use crate::format::{self, Template};

/// The order of docker's image inspect fields (serde_json sorts keys otherwise).
pub const DOCKER_ORDER: &[&str] = &[
    "Id",
    "RepoTags",
    "RepoDigests",
    "Parent",
    "Comment",
    "Created",
    "DockerVersion",
    "Author",
    "Config",
    "Architecture",
    "Variant",
    "Os",
    "Size",
    "GraphDriver",
    "RootFS",
    "Metadata",
    "Descriptor",
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "inspect";
    let template = match args.format.as_deref() {
        None | Some("") | Some("json") => None,
        Some(f) => Some(Template::parse(f).map_err(|e| CliError::usage(CX, e))?),
    };
    let backend = ctx.images(CX)?;
    let mut found = Vec::new();
    let mut failed = false;
    for name in &args.images {
        match backend.inspect(name) {
            Ok(image) => {
                found.push(serde_json::to_value(image).map_err(|e| CliError::failed(CX, e))?)
            }
            Err(e) => {
                report(CX, e);
                failed = true;
            }
        }
    }
    let out = match &template {
        None => format!("{}\n", format::pretty_json_ordered(&found, DOCKER_ORDER)),
        Some(t) => {
            let mut out = String::new();
            for image in &found {
                out.push_str(&t.render(image).map_err(|e| CliError::usage(CX, e))?);
                out.push('\n');
            }
            out
        }
    };
    print(CX, &out)?;
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}
