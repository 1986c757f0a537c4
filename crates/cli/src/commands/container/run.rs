//! `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create (pulling if needed), then with
//! `-d` start and print the id; otherwise attach, wait (`removed` with `--rm`), start,
//! copy the streams and exit with the container's code. Docker's exit codes: 125 when the
//! CLI or daemon failed, 126/127 when the command could not be invoked / was not found.

use berth_api_client::containers::AttachStreams;

use crate::commands::container::options::CreateOptions;
use crate::commands::container::session::{self, Session};
use crate::commands::container::{create, start_error_code};
use crate::commands::{print, Context};
use crate::error::CliError;
use crate::stdio::terminal;

const CX: &str = "run";

#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    #[command(flatten)]
    pub opts: CreateOptions,
    #[arg(value_name = "IMAGE [COMMAND] [ARG...]", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub argv: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let opts = &args.opts;
    if args.detach && !opts.attach.is_empty() {
        return Err(CliError::usage(
            CX,
            "conflicting options: cannot specify both --attach and --detach",
        ));
    }
    let (image, cmd) = args.argv.split_first().expect("clap requires IMAGE");
    // The trailing arguments accept anything; a flag clap did not know lands here.
    if image.starts_with('-') {
        return Err(CliError::usage(CX, format!("unknown flag: {image}")));
    }
    let mut body = create::build_body(CX, opts, image, cmd)?;
    if args.detach {
        body.attach_stdin = Some(false);
        body.attach_stdout = Some(false);
        body.attach_stderr = Some(false);
        body.stdin_once = Some(false);
    }
    if !args.detach && opts.tty && body.attach_stdin == Some(true) && !terminal::stdin_is_tty() {
        return Err(CliError::with_code(1, CX, "the input device is not a TTY"));
    }
    let api = ctx.api(CX)?;
    let id = create::create(api, CX, opts, image, &body)?;

    if args.detach {
        if let Err(e) = api.block(api.client.container_start(&id)) {
            let code = start_error_code(&e.to_string());
            return Err(CliError::api_code(code, CX, e));
        }
        return print(CX, &format!("{id}\n"));
    }

    let s = Session {
        id,
        tty: opts.tty,
        streams: AttachStreams {
            stdin: body.attach_stdin == Some(true),
            stdout: body.attach_stdout == Some(true),
            stderr: body.attach_stderr == Some(true),
            logs: false,
        },
        detach_keys: opts.detach_keys.clone(),
        sig_proxy: opts.sig_proxy,
        wait_condition: if opts.rm { "removed" } else { "next-exit" },
        start: true,
    };
    match api.block(session::run(&api.client, CX, s))? {
        None | Some(0) => Ok(()),
        Some(code) => Err(CliError::exit(code as i32)),
    }
}
