use berth_runtime::StateRoot;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    berth_runtime::container::start(root, &a.id)?;
    Ok(0)
}
