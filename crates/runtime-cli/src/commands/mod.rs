//! One file per subcommand, each with its clap arguments and its `run`.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use berth_runtime::StateRoot;
use clap::Subcommand;

use crate::Cli;

/// An error or an exit code.
pub type Outcome = Result<i32, Box<dyn std::error::Error>>;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a container from a bundle; it waits for `start`
    Create(create::Args),
    /// Start the program of a created container
    Start(start::Args),
    /// Print a container's state as JSON
    State(state::Args),
    /// Send a signal to a container's init (or all its processes)
    Kill(kill::Args),
    /// Remove a container
    Delete(delete::Args),
    /// Create and start a container, and wait for it unless --detach
    Run(run::Args),
    /// Run another process in a running container
    Exec(exec::Args),
    /// List the processes of a container
    Ps(ps::Args),
    /// Freeze every process of a container
    Pause(pause::Args),
    /// Thaw a paused container
    Resume(pause::Args),
    /// List containers
    #[command(alias = "ls")]
    List(list::Args),
    /// Write a template config.json
    Spec(spec::Args),
    /// Print what this runtime supports, as JSON
    Features,
    /// Print resource usage of a container
    Events(events::Args),
    /// Change the resource limits of a running container
    Update(update::Args),
    /// Not supported: checkpointing needs CRIU
    Checkpoint { id: String },
    /// Not supported: restoring needs CRIU
    Restore { id: String },
}

pub fn run(cli: &Cli) -> Outcome {
    let root = || StateRoot::open(&cli.root);
    match &cli.command {
        Command::Create(a) => create::run(&root()?, a, cli),
        Command::Start(a) => start::run(&root()?, a),
        Command::State(a) => state::run(&root()?, a),
        Command::Kill(a) => kill::run(&root()?, a),
        Command::Delete(a) => delete::run(&root()?, a),
        Command::Run(a) => run::run(&root()?, a, cli),
        Command::Exec(a) => exec::run(&root()?, a),
        Command::Ps(a) => ps::run(&root()?, a),
        Command::Pause(a) => pause::pause(&root()?, a),
        Command::Resume(a) => pause::resume(&root()?, a),
        Command::List(a) => list::run(&root()?, a),
        Command::Spec(a) => spec::run(a, cli.rootless.as_deref().is_some_and(|r| r != "false")),
        Command::Features => features::run(),
        Command::Events(a) => events::run(&root()?, a),
        Command::Update(a) => update::run(&root()?, a),
        Command::Checkpoint { id } | Command::Restore { id } => {
            Err(format!("container {id}: checkpoint/restore is not supported (it needs CRIU)").into())
        }
    }
}
