//! `berth import FILE|- [REPOSITORY[:TAG]]`: a root filesystem tarball (tar, gzip or zstd)
//! becomes a one-layer image; prints its id. Without a repository the image is untagged
//! (`<none>:<none>`), found by its id.

use std::fs::File;
use std::io::{self, Read};

use crate::commands::{print, Context};
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive, or `-` for standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
    /// The name to give the image
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "import";
    let mut input: Box<dyn Read> = if args.file == "-" {
        Box::new(io::stdin().lock())
    } else {
        let file = File::open(&args.file)
            .map_err(|e| CliError::failed(CX, format!("open {}: {e}", args.file)))?;
        Box::new(file)
    };
    let id = ctx
        .images(CX)?
        .import(&mut input, args.reference.as_deref())
        .map_err(|e| CliError::failed(CX, e))?;
    print(CX, &format!("{id}\n"))
}
