//! `berth-runtime`: an OCI runtime with runc's command line, so containerd, podman and
//! the engine can drive it. Each subcommand lives in `commands/`; the library
//! `berth-runtime` does the work.

mod commands;
mod log;
mod tty;

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "berth-runtime", version = concat!(env!("CARGO_PKG_VERSION"), "\nspec: 1.2.0"), about = "an OCI runtime (runc-compatible command line)")]
pub struct Cli {
    /// Directory holding the containers' state
    #[arg(long, global = true, default_value = berth_runtime::state::DEFAULT_ROOT)]
    pub root: std::path::PathBuf,
    /// Where to write errors (in addition to stderr)
    #[arg(long, global = true)]
    pub log: Option<std::path::PathBuf>,
    /// Format of the log: text or json
    #[arg(long = "log-format", global = true, default_value = "text")]
    pub log_format: String,
    /// Print more about what happens
    #[arg(long, global = true)]
    pub debug: bool,
    /// cgroupsPath is in systemd's "slice:prefix:name" form
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Accepted for runc compatibility (true, false or auto)
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Accepted for runc compatibility; checkpointing is not supported
    #[arg(long, global = true, hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: commands::Command,
}

fn main() {
    berth_runtime::timing::mark("main");
    let cli = Cli::parse();
    let logger = log::Logger::new(cli.log.clone(), &cli.log_format);
    let code = match commands::run(&cli) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&e);
            1
        }
    };
    std::process::exit(code);
}
