use berth_runtime::StateRoot;

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// Kill the container first if it is still running
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    match berth_runtime::container::delete(root, &a.id, a.force) {
        // runc: deleting a container that does not exist is an error without --force.
        Err(berth_runtime::Error::NotFound(_)) if a.force => Ok(0),
        r => {
            r?;
            Ok(0)
        }
    }
}
