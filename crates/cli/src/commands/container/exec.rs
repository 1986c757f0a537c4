//! `berth exec [-i] [-t] [-d] [-e] [-u] [-w] [--privileged] CONTAINER COMMAND [ARG...]`:
//! `GET /containers/{id}/json` (must be running) → `POST /containers/{id}/exec` →
//! `POST /exec/{id}/start` (hijacked, or `Detach` with `-d`) → resize with `-t` →
//! `GET /exec/{id}/json` for the exit code, which becomes ours.

use berth_api_client::models::ExecConfig;
use serde_json::Value;

use crate::commands::Context;
use crate::error::CliError;
use crate::opts::envfile;
use crate::stdio::signals::{self, ResizeTarget};
use crate::stdio::streams::{self, End};
use crate::stdio::terminal::{self, RawMode};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    #[arg(value_name = "CONTAINER COMMAND [ARG...]", required = true, num_args = 2.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub argv: Vec<String>,
}

const CX: &str = "exec";

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let (container, cmd) = args
        .argv
        .split_first()
        .expect("clap requires CONTAINER COMMAND");
    // The trailing arguments accept anything; a flag clap did not know lands here.
    if container.starts_with('-') {
        return Err(CliError::usage(CX, format!("unknown flag: {container}")));
    }
    let mut env = Vec::new();
    for f in &args.env_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| CliError::usage(CX, format!("open {}: {e}", f.display())))?;
        env.extend(
            envfile::parse(&text, |k| std::env::var(k).ok()).map_err(|e| CliError::usage(CX, e))?,
        );
    }
    env.extend(
        args.env
            .iter()
            .map(|e| envfile::env_flag(e, |k| std::env::var(k).ok())),
    );
    if args.tty && args.interactive && !terminal::stdin_is_tty() && !args.detach {
        return Err(CliError::failed(CX, "the input device is not a TTY"));
    }
    let config = ExecConfig {
        attach_stdin: Some(args.interactive && !args.detach),
        attach_stdout: Some(!args.detach),
        attach_stderr: Some(!args.detach),
        detach_keys: args.detach_keys.clone(),
        tty: Some(args.tty),
        env: (!env.is_empty()).then_some(env),
        cmd: Some(cmd.to_vec()),
        privileged: Some(args.privileged),
        user: args.user.clone(),
        working_dir: args.workdir.clone(),
        ..Default::default()
    };
    let api = ctx.api(CX)?;
    let client = &api.client;
    api.block(async {
        let info: Value = client
            .container_inspect(container, false)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        if info.pointer("/State/Running").and_then(Value::as_bool) != Some(true) {
            let id = info["Id"].as_str().unwrap_or(container);
            return Err(CliError::bare(
                1,
                format!("Error response from daemon: container {id} is not running"),
            ));
        }
        let id = info["Id"].as_str().unwrap_or(container).to_owned();
        let exec_id = client
            .exec_create(&id, &config)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        if args.detach {
            return client
                .exec_start_detached(&exec_id, args.tty)
                .await
                .map_err(|e| CliError::api(CX, e));
        }
        let io = client
            .exec_start_attached(&exec_id, args.tty)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let raw = if args.tty && args.interactive {
            RawMode::enable()
        } else {
            None
        };
        let resize = (args.tty && terminal::stdout_is_tty())
            .then(|| signals::resize(client.clone(), ResizeTarget::Exec(exec_id.clone())));
        let keys = streams::detach_sequence(args.detach_keys.as_deref())
            .map_err(|e| CliError::usage(CX, e))?;
        let end = streams::pump(io, args.tty, args.interactive, keys).await;
        drop(raw);
        if let Some(t) = resize {
            t.abort();
        }
        let end = match end {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                return Err(CliError::exit(141))
            }
            other => other.map_err(|e| CliError::failed(CX, e))?,
        };
        match end {
            End::Detached => return Ok(()),
            End::Output => {}
        }
        let v = client
            .exec_inspect(&exec_id)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        match v["ExitCode"].as_i64() {
            Some(0) | None => Ok(()),
            Some(code) => Err(CliError::exit(code as i32)),
        }
    })
}
