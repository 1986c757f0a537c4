//! `berth logout [SERVER]`: forgets the login stored for SERVER (Docker Hub by default) in
//! docker's `config.json`. Nothing is asked of the daemon, as with docker.

use berth_registry::DockerConfig;

use crate::commands::login::server_host;
use crate::commands::Context;
use crate::error::CliError;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

pub fn run(args: Args, _ctx: &Context) -> Result<(), CliError> {
    const CX: &str = "logout";
    let host = server_host(args.server.as_deref());
    let shown = berth_registry::auth::credentials::config_key(&host);
    let path = DockerConfig::default_path();
    let mut config = DockerConfig::load(&path).map_err(|e| CliError::failed(CX, e))?;
    if !config.remove(&host) {
        println!("Not logged in to {shown}");
        return Ok(());
    }
    println!("Removing login credentials for {shown}");
    config.save().map_err(|e| CliError::failed(CX, e))
}
