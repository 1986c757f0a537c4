use berth_runtime::{Container, StateRoot};

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    let c = Container::load(root, &a.id)?;
    println!("{}", serde_json::to_string_pretty(&c.state.to_oci_json(c.status))?);
    Ok(0)
}
