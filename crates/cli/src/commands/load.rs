//! `berth load [-i FILE]` (`berth image load`): every image of a docker-archive or OCI
//! archive (plain, gzip or zstd), from standard input unless `-i`; prints
//! `Loaded image: NAME` for each name and `Loaded image ID: ID` for an untagged image.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;

use crate::backend::Loaded;
use crate::commands::{print, Context};
use crate::error::CliError;

const CX: &str = "load";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let mut input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(
            File::open(path)
                .map_err(|e| CliError::failed(CX, format!("open {}: {e}", path.display())))?,
        ),
        None => {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(CliError::usage(
                    CX,
                    "requested load from stdin, but stdin is a terminal: use -i FILE or redirect",
                ));
            }
            Box::new(stdin.lock())
        }
    };
    let loaded = ctx
        .images(CX)?
        .load(&mut input)
        .map_err(|e| CliError::failed(CX, e))?;
    if args.quiet {
        return Ok(());
    }
    let out: String = loaded
        .iter()
        .map(|l| match l {
            Loaded::Name(n) => format!("Loaded image: {n}\n"),
            Loaded::Id(id) => format!("Loaded image ID: {id}\n"),
        })
        .collect();
    print(CX, &out)
}
