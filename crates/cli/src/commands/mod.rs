//! One file per command: its flags (a clap `Args`) and `run`, which talks to the daemon
//! (or the image backend) and prints. Container commands are in [`container`], volume
//! commands in [`volume`].
//! [`dispatch`] routes the parsed command line to them.

pub mod build;
pub mod builder_prune;
pub mod container;
pub mod df;
pub mod events;
pub mod history;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod inspect_any;
pub mod load;
pub mod login;
pub mod logout;
pub mod network;
pub mod prune;
pub mod prune_report;
pub mod pull;
pub mod push;
pub mod rmi;
pub mod save;
pub mod system_prune;
pub mod tag;
#[cfg(test)]
pub(crate) mod test_args;
pub mod version;
pub mod volume;

use std::cell::OnceCell;
use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;

use berth_api_client::Client;

use crate::app::{BuilderCommand, Cli, Command, ContainerCommand, ImageCommand, SystemCommand, VolumeCommand};
use crate::backend::api::ApiBackend;
use crate::backend::local::LocalBackend;
use crate::backend::ImageBackend;
use crate::error::CliError;

/// What every command may need: where the daemon is (or, for daemonless image access,
/// the data root), and the API connection, built on first use.
pub struct Context {
    /// Given explicitly: image commands open the store in-process.
    pub data_root: Option<PathBuf>,
    pub host: Option<String>,
    api: OnceCell<Api>,
}

/// The Engine API client and the runtime its futures run on (current-thread: a CLI
/// needs no more, and it starts fast).
pub struct Api {
    pub rt: tokio::runtime::Runtime,
    pub client: Client,
}

impl Api {
    /// Runs `f` to completion.
    pub fn block<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// `op` for each of `names`, one after another as docker's CLI asks for them: the
    /// answers of those that succeeded, in order, and whether any failed (each failure
    /// already reported, `Error response from daemon: …`).
    pub fn each_found<'a, T, Fut>(
        &'a self,
        cx: &str,
        names: &'a [String],
        op: impl Fn(&'a Client, &'a str) -> Fut,
    ) -> (Vec<T>, bool)
    where
        Fut: Future<Output = berth_api_client::Result<T>>,
    {
        let mut found = Vec::new();
        let mut failed = false;
        for name in names {
            match self.block(op(&self.client, name)) {
                Ok(v) => found.push(v),
                Err(e) => {
                    crate::error::report_api(cx, e);
                    failed = true;
                }
            }
        }
        (found, failed)
    }
}

impl Context {
    pub fn new(data_root: Option<PathBuf>, host: Option<String>) -> Context {
        Context {
            data_root,
            host,
            api: OnceCell::new(),
        }
    }

    /// The API connection.
    pub fn api(&self, context: &str) -> Result<&Api, CliError> {
        if let Some(api) = self.api.get() {
            return Ok(api);
        }
        let client =
            Client::from_env(self.host.as_deref()).map_err(|e| CliError::api(context, e))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::failed(context, format!("start runtime: {e}")))?;
        Ok(self.api.get_or_init(|| Api { rt, client }))
    }

    /// The image backend: the local store with an explicit `--data-root`, else the API.
    pub fn images(&self, context: &str) -> Result<Box<dyn ImageBackend + '_>, CliError> {
        if let Some(root) = &self.data_root {
            let backend = LocalBackend::open(root).map_err(|e| CliError::failed(context, e))?;
            return Ok(Box::new(backend));
        }
        Ok(Box::new(ApiBackend::new(self.api(context)?)))
    }
}

pub fn dispatch(cli: Cli) -> Result<(), CliError> {
    use container as c;
    let ctx = Context::new(cli.data_root, cli.host);
    match cli.command {
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => import::run(a, &ctx),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(a, &ctx),
        Command::Image(ImageCommand::Inspect(a)) => inspect::run(a, &ctx),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => history::run(a, &ctx),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(a, &ctx),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(a, &ctx),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(a, &ctx),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(a, &ctx),
        Command::Build(a) | Command::Image(ImageCommand::Build(a)) => build::run(a, &ctx),
        Command::Image(ImageCommand::Prune(a)) => prune::run(a, &ctx),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(a, &ctx),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(a, &ctx),
        Command::System(SystemCommand::Df(a)) => df::run(a, &ctx),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => info::run(a, &ctx),
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => events::run(a, &ctx),
        Command::System(SystemCommand::Prune(a)) => system_prune::run(a, &ctx),
        Command::Version(a) => version::run(a, &ctx),
        Command::Login(a) => login::run(a, &ctx),
        Command::Logout(a) => logout::run(a, &ctx),
        Command::Inspect(a) => inspect_any::run(a, &ctx),
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => c::run::run(*a, &ctx),
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            c::create::run(*a, &ctx)
        }
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            c::start::run(a, &ctx)
        }
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => c::stop::run(a, &ctx),
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            c::restart::run(a, &ctx)
        }
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => c::kill::run(a, &ctx),
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => c::rm::run(a, &ctx),
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => c::ps::run(a, &ctx),
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => c::logs::run(a, &ctx),
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => c::exec::run(a, &ctx),
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            c::attach::run(a, &ctx)
        }
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => c::top::run(a, &ctx),
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => c::port::run(a, &ctx),
        Command::Container(ContainerCommand::Inspect(a)) => c::inspect::run(a, &ctx),
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => c::wait::run(a, &ctx),
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
            c::pause::run(a, &ctx)
        }
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            c::unpause::run(a, &ctx)
        }
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
            c::rename::run(a, &ctx)
        }
        Command::Update(a) | Command::Container(ContainerCommand::Update(a)) => {
            c::update::run(a, &ctx)
        }
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => {
            c::stats::run(a, &ctx)
        }
        Command::Cp(a) | Command::Container(ContainerCommand::Cp(a)) => c::cp::run(a, &ctx),
        Command::Diff(a) | Command::Container(ContainerCommand::Diff(a)) => c::diff::run(a, &ctx),
        Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => {
            c::commit::run(a, &ctx)
        }
        Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => {
            c::export::run(a, &ctx)
        }
        Command::Container(ContainerCommand::Prune(a)) => c::prune::run(a, &ctx),
        Command::Network(a) => network::run(a, &ctx),
        Command::Builder(BuilderCommand::Prune(a)) => builder_prune::run(a, &ctx),
        Command::Builder(BuilderCommand::Build(a)) => build::run(a, &ctx),
        Command::Volume(VolumeCommand::Create(a)) => volume::create::run(a, &ctx),
        Command::Volume(VolumeCommand::Inspect(a)) => volume::inspect::run(a, &ctx),
        Command::Volume(VolumeCommand::Ls(a)) => volume::ls::run(a, &ctx),
        Command::Volume(VolumeCommand::Prune(a)) => volume::prune::run(a, &ctx),
        Command::Volume(VolumeCommand::Rm(a)) => volume::rm::run(a, &ctx),
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
