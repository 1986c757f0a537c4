//! `berth network …`: networks over the Engine API (`/networks/...`), one file per
//! command, with docker's flags and output; [`NetworkCommand`] is the `network`
//! subcommand tree and [`run`] routes it.

pub mod connect;
pub mod create;
pub mod disconnect;
pub mod inspect;
pub mod ls;
pub mod prune;
pub mod rm;

use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Subcommand)]
pub enum NetworkCommand {
    /// Connect a container to a network
    Connect(connect::Args),
    /// Create a network
    Create(create::Args),
    /// Disconnect a container from a network
    Disconnect(disconnect::Args),
    /// Display detailed information on one or more networks
    Inspect(inspect::Args),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ls::Args),
    /// Remove all unused networks
    Prune(prune::Args),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(rm::Args),
}

pub fn run(command: NetworkCommand, ctx: &Context) -> Result<(), CliError> {
    match command {
        NetworkCommand::Connect(a) => connect::run(a, ctx),
        NetworkCommand::Create(a) => create::run(a, ctx),
        NetworkCommand::Disconnect(a) => disconnect::run(a, ctx),
        NetworkCommand::Inspect(a) => inspect::run(a, ctx),
        NetworkCommand::Ls(a) => ls::run(a, ctx),
        NetworkCommand::Prune(a) => prune::run(a, ctx),
        NetworkCommand::Rm(a) => rm::run(a, ctx),
    }
}
