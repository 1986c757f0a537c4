//! `berth export [-o FILE] CONTAINER`: `GET /containers/{id}/export`, the tar streamed to
//! the file or to stdout (refused when stdout is a terminal, as docker refuses).

use std::io::Write;

use berth_api_client::stream::next_chunk;

use crate::commands::Context;
use crate::error::CliError;
use crate::stdio::terminal;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    pub container: String,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "export";
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| CliError::failed(CX, format!("create {}: {e}", p.display())))?,
        ),
        None => {
            if terminal::stdout_is_tty() {
                return Err(CliError::failed(
                    CX,
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            Box::new(std::io::stdout().lock())
        }
    };
    let api = ctx.api(CX)?;
    api.block(async {
        let resp = api
            .client
            .container_export(&args.container)
            .await
            .map_err(|e| CliError::api(CX, e))?;
        let mut body = resp.into_body();
        while let Some(chunk) = next_chunk(&mut body)
            .await
            .map_err(|e| CliError::api(CX, e))?
        {
            match out.write_all(&chunk) {
                // The reader stopped early (`berth export c | tar t | head`): not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                r => r.map_err(|e| CliError::failed(CX, e))?,
            }
        }
        match out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::failed(CX, e)),
            _ => Ok(()),
        }
    })
}
