//! `berth attach [--no-stdin] [--detach-keys] [--sig-proxy] CONTAINER`: attach to a
//! running container's streams (`GET /containers/{id}/json` → attach → wait), exiting
//! with its code when it stops, or 0 when the user detaches.

use berth_api_client::containers::AttachStreams;
use serde_json::Value;

use crate::commands::container::session::{self, Session};
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    pub container: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "attach";
    let api = ctx.api(CX)?;
    let info = api
        .block(api.client.container_inspect(&args.container, false))
        .map_err(|e| CliError::api(CX, e))?;
    if info.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
        return Err(CliError::failed(
            CX,
            "you cannot attach to a stopped container, start it first",
        ));
    }
    if info.pointer("/State/Paused").and_then(Value::as_bool) == Some(true) {
        return Err(CliError::failed(
            CX,
            "you cannot attach to a paused container, unpause it first",
        ));
    }
    let tty = info
        .pointer("/Config/Tty")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let open_stdin = info
        .pointer("/Config/OpenStdin")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let s = Session {
        id: info["Id"].as_str().unwrap_or_default().to_owned(),
        tty,
        streams: AttachStreams {
            stdin: open_stdin && !args.no_stdin,
            stdout: true,
            stderr: true,
            logs: false,
        },
        detach_keys: args.detach_keys,
        sig_proxy: args.sig_proxy,
        wait_condition: "next-exit",
        start: false,
    };
    match api.block(session::run(&api.client, CX, s)) {
        Ok(None | Some(0)) => Ok(()),
        Ok(Some(code)) => Err(CliError::exit(code as i32)),
        Err(e) => Err(e.with_exit(1)),
    }
}
