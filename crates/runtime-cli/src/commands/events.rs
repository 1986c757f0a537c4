use berth_runtime::{Container, StateRoot};

use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct Args {
    pub id: String,
    /// Print one stats event and exit
    #[arg(long)]
    pub stats: bool,
    /// Seconds between stats events
    #[arg(long, default_value = "5s")]
    pub interval: String,
}

fn one(root: &StateRoot, id: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let c = Container::load(root, id)?;
    let cg = c.state.cgroup.as_ref().ok_or("container has no cgroup")?;
    Ok(serde_json::json!({"type": "stats", "id": id, "data": cg.stats()?}))
}

pub fn run(root: &StateRoot, a: &Args) -> Outcome {
    if a.stats {
        println!("{}", one(root, &a.id)?);
        return Ok(0);
    }
    let secs: f64 = a.interval.trim_end_matches('s').parse().map_err(|_| format!("bad --interval {:?}", a.interval))?;
    loop {
        let c = Container::load(root, &a.id)?;
        if c.status == berth_runtime::Status::Stopped {
            return Ok(0);
        }
        println!("{}", one(root, &a.id)?);
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.1)));
    }
}
