use berth_runtime::StateRoot;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn pause(root: &StateRoot, a: &Args) -> Outcome {
    berth_runtime::container::pause(root, &a.id)?;
    Ok(0)
}

pub fn resume(root: &StateRoot, a: &Args) -> Outcome {
    berth_runtime::container::resume(root, &a.id)?;
    Ok(0)
}
