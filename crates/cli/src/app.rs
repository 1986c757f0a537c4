//! The command tree, docker's: top-level shortcuts (`run`, `ps`, `images`, `rmi`, …) and
//! the same commands grouped under `container`, `image` and `system`, plus `volume`, all taking the
//! global `-H/--host` and `--data-root`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::container as c;
use crate::commands::volume as vol;
use crate::commands::{
    build, df, events, history, images, import, info, inspect, inspect_any, load, prune, pull, push, rmi,
    save, system_prune, tag, version,
};

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    about = "A container engine, docker-compatible",
    version = concat!("version ", env!("CARGO_PKG_VERSION")),
    disable_version_flag = true,
    color = clap::ColorChoice::Never
)]
pub struct Cli {
    /// Daemon socket to connect to (unix:///path); else BERTH_HOST, DOCKER_HOST, unix:///run/berth/berth.sock
    #[arg(short = 'H', long, global = true, value_name = "HOST")]
    pub host: Option<String>,

    /// Open the image store in this directory in-process, without a daemon (image commands only)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_root: Option<PathBuf>,

    /// Print version information and quit
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: (),

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and run a new container from an image
    Run(Box<c::run::Args>),
    /// Execute a command in a running container
    Exec(c::exec::Args),
    /// List containers
    Ps(c::ps::Args),
    /// Download an image from a registry
    Pull(pull::Args),
    /// Upload an image to a registry
    Push(push::Args),
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
    /// Build an image from a Dockerfile
    Build(build::Args),
    /// Display system-wide information
    Info(info::Args),
    /// Get real time events from the server
    Events(events::Args),
    /// Return low-level information on containers or images
    Inspect(inspect_any::Args),
    /// Attach local standard input, output, and error streams to a running container
    Attach(c::attach::Args),
    /// Create a new image from a container's changes
    Commit(c::commit::Args),
    /// Copy files/folders between a container and the local filesystem
    Cp(c::cp::Args),
    /// Create a new container
    Create(Box<c::create::Args>),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(c::diff::Args),
    /// Export a container's filesystem as a tar archive
    Export(c::export::Args),
    /// Kill one or more running containers
    Kill(c::kill::Args),
    /// Fetch the logs of a container
    Logs(c::logs::Args),
    /// Pause all processes within one or more containers
    Pause(c::pause::Args),
    /// List port mappings or a specific mapping for the container
    Port(c::port::Args),
    /// Rename a container
    Rename(c::rename::Args),
    /// Restart one or more containers
    Restart(c::restart::Args),
    /// Remove one or more containers
    Rm(c::rm::Args),
    /// Start one or more stopped containers
    Start(c::start::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(c::stats::Args),
    /// Stop one or more running containers
    Stop(c::stop::Args),
    /// Display the running processes of a container
    Top(c::top::Args),
    /// Unpause all processes within one or more containers
    Unpause(c::unpause::Args),
    /// Update configuration of one or more containers
    Update(c::update::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(c::wait::Args),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(crate::commands::network::NetworkCommand),
    /// Manage builds
    #[command(subcommand)]
    Builder(BuilderCommand),
    /// Show the berth version information
    Version(version::Args),
    /// Authenticate to a registry
    Login(crate::commands::login::Args),
    /// Log out from a registry
    Logout(crate::commands::logout::Args),
}

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(c::attach::Args),
    /// Create a new image from a container's changes
    Commit(c::commit::Args),
    /// Copy files/folders between a container and the local filesystem
    Cp(c::cp::Args),
    /// Create a new container
    Create(Box<c::create::Args>),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(c::diff::Args),
    /// Execute a command in a running container
    Exec(c::exec::Args),
    /// Export a container's filesystem as a tar archive
    Export(c::export::Args),
    /// Display detailed information on one or more containers
    Inspect(c::inspect::Args),
    /// Kill one or more running containers
    Kill(c::kill::Args),
    /// Fetch the logs of a container
    Logs(c::logs::Args),
    /// List containers
    #[command(visible_alias = "ps", visible_alias = "list")]
    Ls(c::ps::Args),
    /// Pause all processes within one or more containers
    Pause(c::pause::Args),
    /// List port mappings or a specific mapping for the container
    Port(c::port::Args),
    /// Remove all stopped containers
    Prune(c::prune::Args),
    /// Rename a container
    Rename(c::rename::Args),
    /// Restart one or more containers
    Restart(c::restart::Args),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(c::rm::Args),
    /// Create and run a new container from an image
    Run(Box<c::run::Args>),
    /// Start one or more stopped containers
    Start(c::start::Args),
    /// Display a live stream of container(s) resource usage statistics
    Stats(c::stats::Args),
    /// Stop one or more running containers
    Stop(c::stop::Args),
    /// Display the running processes of a container
    Top(c::top::Args),
    /// Unpause all processes within one or more containers
    Unpause(c::unpause::Args),
    /// Update configuration of one or more containers
    Update(c::update::Args),
    /// Block until one or more containers stop, then print their exit codes
    Wait(c::wait::Args),
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
    /// Build an image from a Dockerfile
    Build(build::Args),
    /// Remove unused images
    Prune(prune::Args),
    /// Download an image from a registry
    Pull(pull::Args),
    /// Upload an image to a registry
    Push(push::Args),
}

#[derive(Debug, Subcommand)]
pub enum BuilderCommand {
    /// Remove build cache
    Prune(crate::commands::builder_prune::Args),
    /// Build an image from a Dockerfile
    Build(build::Args),
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(df::Args),
    /// Display system-wide information
    Info(info::Args),
    /// Get real time events from the server
    Events(events::Args),
    /// Remove unused data
    Prune(system_prune::Args),
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(vol::create::Args),
    /// Display detailed information on one or more volumes
    Inspect(vol::inspect::Args),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(vol::ls::Args),
    /// Remove unused local volumes
    Prune(vol::prune::Args),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(vol::rm::Args),
}
