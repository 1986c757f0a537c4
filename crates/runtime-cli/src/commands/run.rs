use berth_runtime::container::{self, wait};
use berth_runtime::StateRoot;

use super::create::Args as CreateArgs;
use super::Outcome;
use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub create: CreateArgs,
    /// Return once the container started, without waiting for it
    #[arg(short, long)]
    pub detach: bool,
    /// Keep the container's state after it exits
    #[arg(long)]
    pub keep: bool,
}

pub fn run(root: &StateRoot, a: &Args, cli: &Cli) -> Outcome {
    let mut opts = a.create.options(cli);
    let id = opts.id.clone();
    // In the foreground with a terminal and no console socket, we are the terminal's
    // other end: a private socket receives the pty master and we copy to and from it.
    let proxy = if !a.detach && opts.console_socket.is_none() && needs_terminal(&opts.bundle) {
        let p = crate::tty::Proxy::listen(root.path(), &id)?;
        opts.console_socket = Some(p.path().to_path_buf());
        Some(p)
    } else {
        None
    };
    if !a.detach {
        wait::become_subreaper();
    }
    let st = container::create(root, &opts)?;
    let proxy = match proxy {
        Some(p) => Some(p.accept()?),
        None => None,
    };
    if let Err(e) = container::start(root, &id) {
        let _ = container::delete(root, &id, true);
        return Err(e.into());
    }
    if a.detach {
        return Ok(0);
    }
    let code = match proxy {
        Some(p) => p.run_until_exit(st.pid),
        None => wait::wait_forwarding(st.pid),
    };
    if !a.keep {
        container::delete(root, &id, true)?;
    }
    Ok(code)
}

fn needs_terminal(bundle: &std::path::Path) -> bool {
    container::create::load_spec(bundle)
        .ok()
        .and_then(|s| s.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false)
}
