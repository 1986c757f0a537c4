//! The command tree, docker's: top-level shortcuts (`images`, `rmi`, `tag`, …) and the
//! same commands grouped under `image` and `system`, all taking the global `--data-root`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{df, history, images, import, inspect, load, prune, rmi, save, tag, version};

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A container engine, docker-compatible",
    version = concat!("version ", env!("CARGO_PKG_VERSION")),
    disable_version_flag = true,
    color = clap::ColorChoice::Never
)]
pub struct Cli {
    /// Where berth keeps its state (images under <data-root>/image).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/var/lib/berth"
    )]
    pub data_root: PathBuf,

    /// Print version information and quit
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: (),

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import the contents of a tarball to create a filesystem image
    Import(import::Args),
    /// List images
    Images(images::Args),
    /// Show the history of an image
    History(history::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::Args),
    /// Remove one or more images
    Rmi(rmi::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::Args),
    /// Load an image from a tar archive or STDIN
    Load(load::Args),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Show the berth version information
    Version(version::Args),
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Import the contents of a tarball to create a filesystem image
    Import(import::Args),
    /// List images
    #[command(visible_alias = "list")]
    Ls(images::Args),
    /// Display detailed information on one or more images
    Inspect(inspect::Args),
    /// Show the history of an image
    History(history::Args),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(tag::Args),
    /// Remove one or more images
    #[command(visible_alias = "remove", visible_alias = "rmi")]
    Rm(rmi::Args),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(save::Args),
    /// Load an image from a tar archive or STDIN
    Load(load::Args),
    /// Remove unused images
    Prune(prune::Args),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(df::Args),
}
