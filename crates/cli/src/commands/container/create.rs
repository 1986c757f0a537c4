//! `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`: `POST /containers/create`, pulling
//! the image first when the daemon does not have it (docker's "Unable to find image"
//! flow); prints the new container's full id.

use berth_api_client::models::ContainerCreateBody;

use crate::commands::container::options::CreateOptions;
use crate::commands::{print, pull, Api, Context};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    #[command(flatten)]
    pub opts: CreateOptions,
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub argv: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "create";
    let (image, cmd) = args.argv.split_first().expect("clap requires IMAGE");
    // The trailing arguments accept anything; a flag clap did not know lands here.
    if image.starts_with('-') {
        return Err(CliError::usage(CX, format!("unknown flag: {image}")));
    }
    let body = build_body(CX, &args.opts, image, cmd)?;
    let api = ctx.api(CX)?;
    let id = create(api, CX, &args.opts, image, &body)?;
    print(CX, &format!("{id}\n"))
}

/// The create body, or a usage error (exit 125).
pub fn build_body(
    cx: &str,
    opts: &CreateOptions,
    image: &str,
    cmd: &[String],
) -> Result<ContainerCreateBody, CliError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    opts.body(image, cmd, &cwd, &|k| std::env::var(k).ok())
        .map_err(|e| CliError::usage(cx, e))
}

/// Creates the container, pulling `image` once if the daemon has no such image; the
/// container's id. Failures exit 125, as docker's `run`/`create` do.
pub fn create(
    api: &Api,
    cx: &str,
    opts: &CreateOptions,
    image: &str,
    body: &ContainerCreateBody,
) -> Result<String, CliError> {
    let client = &api.client;
    let name = opts.name.as_deref();
    let platform = opts.platform.as_deref();
    let created = match api.block(client.container_create(name, platform, body)) {
        Ok(c) => c,
        Err(e) if e.is_not_found() && e.daemon_message().is_some_and(|m| m.contains("image")) => {
            let reference = pull::with_default_tag(image);
            eprintln!("Unable to find image '{reference}' locally");
            pull::pull(api, cx, image, platform, true).map_err(|e| e.with_exit(125))?;
            api.block(client.container_create(name, platform, body))
                .map_err(|e| CliError::api_code(125, cx, e))?
        }
        Err(e) => return Err(CliError::api_code(125, cx, e)),
    };
    for w in created.warnings.iter().flatten() {
        eprintln!("WARNING: {w}");
    }
    Ok(created.id)
}
