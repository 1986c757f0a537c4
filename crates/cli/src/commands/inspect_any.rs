//! `berth inspect [-f TEMPLATE] [-s] [--type container|image] NAME...`: each name is
//! looked up as a container, then as an image (or only as `--type` says); the JSON
//! array or one template rendering per object. A name found as neither is
//! `Error: No such object: NAME` (exit 1).

use crate::commands::container::inspect::{render, template, DOCKER_ORDER};
use crate::commands::{print, Context};
use crate::error::{report_api, CliError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Format output using a custom template ('json' or a Go template)
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display total file sizes if the type is container
    #[arg(short, long)]
    pub size: bool,
    /// Only inspect objects of the given type
    #[arg(long = "type", value_parser = ["container", "image"])]
    pub kind: Option<String>,
    #[arg(value_name = "NAME|ID", required = true)]
    pub names: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "inspect";
    let t = template(CX, args.format.as_deref())?;
    let api = ctx.api(CX)?;
    let mut found = Vec::new();
    let mut failed = false;
    let want = |k: &str| args.kind.as_deref().is_none_or(|w| w == k);
    for name in &args.names {
        let mut last_err = None;
        if want("container") {
            match api.block(api.client.container_inspect(name, args.size)) {
                Ok(v) => {
                    found.push(v);
                    continue;
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => last_err = Some(e),
            }
        }
        if last_err.is_none() && want("image") {
            match api.block(api.client.image_inspect(name)) {
                Ok(v) => {
                    found.push(v);
                    continue;
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => last_err = Some(e),
            }
        }
        failed = true;
        match last_err {
            Some(e) => report_api(CX, e),
            None => eprintln!("Error: No such object: {name}"),
        }
    }
    // Images put their own fields first; the container order leaves them sorted.
    let order: Vec<&str> = DOCKER_ORDER
        .iter()
        .copied()
        .chain(crate::commands::inspect::DOCKER_ORDER.iter().copied())
        .collect();
    print(CX, &render(CX, &found, t.as_ref(), &order)?)?;
    if failed {
        Err(CliError::reported())
    } else {
        Ok(())
    }
}
