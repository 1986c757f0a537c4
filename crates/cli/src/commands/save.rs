//! `berth save [-o FILE] [--format docker-archive|oci-archive] IMAGE...` (`berth image
//! save`): the images as one archive, on stdout unless `-o`. A failed save leaves no
//! partial `-o` file behind.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use crate::backend::ArchiveFormat;
use crate::commands::Context;
use crate::error::CliError;

const CX: &str = "save";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SaveFormat {
    /// `docker save`'s format (manifest.json, uncompressed layers)
    DockerArchive,
    /// An OCI image layout in a tarball (blobs as stored, digests kept)
    OciArchive,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(long, value_enum, default_value = "docker-archive")]
    pub format: SaveFormat,
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

pub fn run(args: Args, ctx: &Context) -> Result<(), CliError> {
    let format = match args.format {
        SaveFormat::DockerArchive => ArchiveFormat::DockerArchive,
        SaveFormat::OciArchive => ArchiveFormat::OciArchive,
    };
    let backend = ctx.images(CX)?;
    match &args.output {
        None => {
            let stdout = io::stdout();
            if stdout.is_terminal() {
                return Err(CliError::usage(
                    CX,
                    "refusing to write an archive to a terminal: use -o FILE or redirect",
                ));
            }
            let mut out = BufWriter::new(stdout.lock());
            backend
                .save(&args.images, format, &mut out)
                .map_err(|e| CliError::failed(CX, e))?;
            out.flush()
                .map_err(|e| CliError::failed(CX, format!("write archive: {e}")))
        }
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| CliError::failed(CX, format!("create {}: {e}", path.display())))?;
            let mut out = BufWriter::new(file);
            let result = backend
                .save(&args.images, format, &mut out)
                .map_err(|e| CliError::failed(CX, e))
                .and_then(|()| {
                    out.flush()
                        .map_err(|e| CliError::failed(CX, format!("write {}: {e}", path.display())))
                });
            if result.is_err() {
                let _ = fs::remove_file(path);
            }
            result
        }
    }
}
