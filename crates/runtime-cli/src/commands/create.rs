use std::path::PathBuf;

use berth_runtime::container::{self, CreateOptions};
use berth_runtime::StateRoot;

use super::Outcome;
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// The bundle directory (holding config.json)
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// A unix socket that receives the pty master when process.terminal is set
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Write the init's pid here
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// Keep the caller's session keyring
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass this many fds beyond stdio (3..3+N) to the process
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
}

impl Args {
    pub fn options(&self, cli: &Cli) -> CreateOptions {
        CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            systemd_cgroup: cli.systemd_cgroup,
        }
    }
}

pub fn run(root: &StateRoot, a: &Args, cli: &Cli) -> Outcome {
    container::create(root, &a.options(cli))?;
    Ok(0)
}
