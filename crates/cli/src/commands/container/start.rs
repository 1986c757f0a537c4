//! `berth start [-a] [-i] CONTAINER...`: `POST /containers/{id}/start` for each (names
//! printed as given); with `-a`/`-i` one container, attached as `run` attaches, exiting
//! with its code.

use berth_api_client::containers::AttachStreams;
use serde_json::Value;

use crate::commands::container::each;
use crate::commands::container::session::{self, Session};
use crate::commands::Context;
use crate::error::CliError;

const CX: &str = "start";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    if !(args.attach || args.interactive) {
        return each(ctx, CX, &args.containers, |c, name| c.container_start(name));
    }
    if args.containers.len() > 1 {
        return Err(CliError::usage(
            CX,
            "you cannot start and attach multiple containers at once",
        ));
    }
    let api = ctx.api(CX)?;
    let info = api
        .block(api.client.container_inspect(&args.containers[0], false))
        .map_err(|e| CliError::api(CX, e))?;
    let id = info["Id"].as_str().unwrap_or_default().to_owned();
    let tty = info
        .pointer("/Config/Tty")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let open_stdin = info
        .pointer("/Config/OpenStdin")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let s = Session {
        id,
        tty,
        streams: AttachStreams {
            stdin: args.interactive && open_stdin,
            stdout: true,
            stderr: true,
            logs: false,
        },
        detach_keys: args.detach_keys,
        sig_proxy: true,
        wait_condition: "next-exit",
        start: true,
    };
    match api.block(session::run(&api.client, CX, s)) {
        Ok(None | Some(0)) => Ok(()),
        Ok(Some(code)) => Err(CliError::exit(code as i32)),
        // `start` reports a failed start with exit 1 unless it is docker's 126/127.
        Err(e) if e.code() == 125 => Err(e.with_exit(1)),
        Err(e) => Err(e),
    }
}
