use berth_runtime::StateRoot;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// Signal name or number
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
    /// Send the signal to every process of the container
    #[arg(short, long)]
    pub all: bool,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    let sig = berth_runtime::container::parse_signal(&a.signal)?;
    berth_runtime::container::kill(root, &a.id, sig, a.all)?;
    Ok(0)
}
