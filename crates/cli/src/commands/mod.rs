//! One file per command: its flags (a clap `Args`) and `run`, which talks to the image
//! backend and prints. [`dispatch`] routes the parsed command line to them.

pub mod df;
pub mod history;
pub mod images;
pub mod import;
pub mod inspect;
pub mod load;
pub mod prune;
pub mod rmi;
pub mod save;
pub mod tag;
pub mod version;

use std::io::{self, Write};
use std::path::PathBuf;

use crate::app::{Cli, Command, ImageCommand, SystemCommand};
use crate::backend::local::LocalBackend;
use crate::backend::ImageBackend;
use crate::error::CliError;

/// What every command may need: where the state lives, and the backend built from it.
pub struct Context {
    pub data_root: PathBuf,
}

impl Context {
    /// The image backend. Daemonless for now (see [`crate::backend`]).
    pub fn images(&self, context: &str) -> Result<Box<dyn ImageBackend>, CliError> {
        let backend =
            LocalBackend::open(&self.data_root).map_err(|e| CliError::failed(context, e))?;
        Ok(Box::new(backend))
    }
}

pub fn dispatch(cli: Cli) -> Result<(), CliError> {
    let ctx = Context {
        data_root: cli.data_root,
    };
    match cli.command {
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => import::run(a, &ctx),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(a, &ctx),
        Command::Image(ImageCommand::Inspect(a)) => inspect::run(a, &ctx),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => history::run(a, &ctx),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(a, &ctx),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(a, &ctx),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(a, &ctx),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(a, &ctx),
        Command::Image(ImageCommand::Prune(a)) => prune::run(a, &ctx),
        Command::System(SystemCommand::Df(a)) => df::run(a, &ctx),
        Command::Version(a) => version::run(a),
    }
}

/// Writes command output to stdout; a closed pipe (`berth images | head -1`) is not an
/// error worth reporting.
pub fn print(context: &str, text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(CliError::failed(context, format!("write output: {e}")))
        }
        _ => Ok(()),
    }
}

/// An image id as tables show it: 12 hex digits, or the whole `sha256:…` with
/// `--no-trunc`.
pub fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        return id.to_owned();
    }
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}
